"""The program log is set up at its first record (logging is not imported before): records still land.

``lime --debug`` with an unknown session id fails with one line on stderr and
exit 2; the DEBUG record of that error (with its traceback) goes to
``logs/lime.log``, created 0600, never to the terminal.
"""

from __future__ import annotations

import stat

from support.lime_env import LimeEnv


def test_a_record_after_a_lazy_setup_reaches_the_private_log(lime_env: LimeEnv) -> None:
    done = lime_env.run("--debug", "-r", "zzzzzzzz", input=b"")
    assert done.returncode == 2
    assert done.stderr.decode().count("\n") == 1 and done.stderr.startswith(b"lime: ")
    program_log = lime_env.home / "logs" / "lime.log"
    text = program_log.read_text()
    assert " DEBUG lime: error" in text and "Traceback" in text
    assert stat.S_IMODE(program_log.stat().st_mode) == 0o600


def test_without_debug_the_record_is_below_the_level(lime_env: LimeEnv) -> None:
    done = lime_env.run("-r", "zzzzzzzz", input=b"")
    assert done.returncode == 2
    assert (lime_env.home / "logs").is_dir()  # made at start-up, as before
    assert not (lime_env.home / "logs" / "lime.log").exists()


def test_no_module_takes_a_logger_past_the_lazy_setup() -> None:
    """A ``logging.getLogger`` logger used before any lazy logger would miss the pending set-up, and its
    records would go to stderr (logging's last resort): every module goes through ``logsetup.get_logger``."""
    import ast
    from pathlib import Path

    import lime_repl

    root = Path(lime_repl.__file__).parent
    allowed = {root / "logsetup.py", root / "logfile.py"}
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "getLogger":
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
