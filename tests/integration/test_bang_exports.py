"""Exports seen by the ``!`` shell's status record: learned for redaction on every line, not once.

The real ``lime`` in line mode, in a private ``LIME_HOME``; every file it
wrote is read back.
"""

from __future__ import annotations

from support.lime_env import LimeEnv

FIRST = "notskshaped_first_secret_123"
LATER = "notskshaped_later_secret_456"


def _stored(lime_env: LimeEnv) -> str:
    return "".join(
        p.read_bytes().decode("utf-8")
        for p in sorted(lime_env.home.rglob("*"))
        if p.is_file() and not p.name.startswith("index.sqlite")
    )


def test_a_secret_exported_after_earlier_lines_is_redacted_from_that_line_on(lime_env: LimeEnv) -> None:
    script = (
        f"!true\n!export FIRST_TOKEN={FIRST}\n!true\n!true\n"
        f"!export LATER_TOKEN={LATER}; echo $LATER_TOKEN\n!echo $FIRST_TOKEN $LATER_TOKEN\n"
    )
    ran = lime_env.run(input=script)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == f"{LATER}\n{FIRST} {LATER}\n".encode()  # the terminal shows them
    text = _stored(lime_env)
    assert FIRST not in text and LATER not in text
    assert "<bash-stdout>[REDACTED] [REDACTED]\\n</bash-stdout>" in text
    assert "<bash-input>export LATER_TOKEN=[REDACTED]; echo $LATER_TOKEN</bash-input>" in text
