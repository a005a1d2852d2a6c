"""The exported environment the persistent shell reports after each command (real bash).

The truth is what bash hands a child: ``env -0`` run in the same shell. The
report is bash's ``declare -px`` listing read back by ``shell_env``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lime_repl.runtime.shell import PersistentShell
from lime_repl.runtime.shell_env import parse_exports

ODD_EXPORTS = (
    r"""export NL=$'a\nb' QUOTES='q"u'"'"'o\te$x`y\\z' CTL=$'\x01\e\a\b\f\r\t\v\x7f' BYTES=$'\xff\xfe'"""
    r""" EMPTY='' UTF8="é" BANG='!x $(y) ; & | < > ( ) * ?' SPACED='x  y' ESC=$'\\n\'"'; export NEVER_SET;"""
    r""" declare -ax ARR=(1 2); declare -ix NUM=4; declare -rx RO=ro; declare -nx REF=UTF8"""
)


def _child_env(shell: PersistentShell, tmp_path: Path) -> dict[str, str]:
    out = tmp_path / "env0"
    assert shell.run(f"env -0 > {out}").exit_code == 0
    env = {}
    for item in out.read_bytes().split(b"\0")[:-1]:
        name, _, value = os.fsdecode(item).partition("=")
        env[name] = value
    return env


def _comparable(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in ("_", "SHLVL")}


@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
def test_reported_environment_is_what_a_child_gets(tmp_path: Path, locale: str) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": locale, "RAW": os.fsdecode(b"x\xff y")}
    with PersistentShell(tmp_path, env=env) as shell:
        assert shell.run(ODD_EXPORTS).exit_code == 0
        reported = shell.env
        assert _comparable(reported) == _comparable(_child_env(shell, tmp_path))
    assert reported["NL"] == "a\nb"
    assert reported["QUOTES"] == "q\"u'o\\te$x`y\\\\z"
    assert reported["CTL"] == "\x01\x1b\a\b\f\r\t\v\x7f"
    assert reported["BYTES"] == os.fsdecode(b"\xff\xfe")
    assert reported["UTF8"] == "é" and reported["EMPTY"] == "" and reported["RAW"] == env["RAW"]
    assert "NEVER_SET" not in reported and "ARR" not in reported  # bash gives neither to a child
    assert reported["REF"] == "UTF8" and reported["NUM"] == "4"


def test_posix_mode_unset_and_exit_keep_the_report_right(tmp_path: Path) -> None:
    with PersistentShell(tmp_path, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}) as shell:
        shell.run("set -o posix; export P=1 GONE=2")
        assert shell.env["P"] == "1"
        shell.run("unset GONE; export -n P")
        assert "GONE" not in shell.env and "P" not in shell.env
        shell.run(ODD_EXPORTS)
        before = _comparable(shell.env)
        assert shell.run("exit 3").exit_code == 3  # the EXIT trap's record carries the same listing
        assert _comparable(shell.env) == before
        shell.run("true")  # a new bash, started with that environment
        assert _comparable(shell.env)["QUOTES"] == before["QUOTES"]


def test_a_value_never_passes_for_a_declare_line() -> None:
    # An older bash prints a newline inside double quotes as is: the value is read as one.
    listing = b'declare -x A="x\ndeclare -x PATH=\\"/evil\\""\ndeclare -x B="2"\n'
    assert parse_exports(listing) == {"A": 'x\ndeclare -x PATH="/evil"', "B": "2"}
    assert parse_exports(b"junk line\ndeclare -x C=$'\\101\\n'\n") == {"C": "A\n"}
    parse_exports(b'declare -x D="1"\n')
    again = parse_exports(b'declare -x D="1"\n')  # the remembered one
    again["D"] = "changed"
    assert parse_exports(b'declare -x D="1"\n') == {"D": "1"}  # the remembered listing is not shared
