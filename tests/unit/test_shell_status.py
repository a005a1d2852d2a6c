"""The status record bash writes after each command (one printf): exit code, cwd and the exported environment.

Real bash. Values with newlines, ``=``, spaces and nothing at all come back
whole; an environment far larger than bash's output buffer (so the record
arrives in several writes) too; and the record written by the EXIT trap on
``exit N`` carries the environment into the restarted shell.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lime_repl.runtime.shell import PersistentShell


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[PersistentShell]:
    with PersistentShell(tmp_path, env={"PATH": "/usr/bin:/bin", "KEEP": "kept"}) as sh:
        yield sh


def test_odd_values_come_back_whole(shell: PersistentShell, tmp_path: Path) -> None:
    result = shell.run("export A=$'two\\nlines' B='x=y z' C= ; cd /; false")
    assert result.exit_code == 1 and result.cwd == "/"
    env = shell.env
    assert env["A"] == "two\nlines" and env["B"] == "x=y z" and env["C"] == "" and env["KEEP"] == "kept"


def test_an_environment_larger_than_one_write(shell: PersistentShell) -> None:
    shell.run("for i in $(seq 1 300); do export VAR_$i=$(printf 'v%.0s' $(seq 1 100)); done")
    env = shell.env
    assert all(env[f"VAR_{i}"] == "v" * 100 for i in range(1, 301))  # about 33 KB of record
    assert shell.run("echo ok").stdout.text() == "ok\n"


def test_exit_keeps_the_environment_for_the_next_shell(shell: PersistentShell) -> None:
    shell.run("export AFTER='still here'")
    assert shell.run("exit 3").exit_code == 3
    assert shell.run('echo "$AFTER"').stdout.text() == "still here\n"
