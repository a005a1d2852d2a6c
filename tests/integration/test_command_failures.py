"""A command that fails ends in one line on stderr and DESIGN.md section 7's exit code, on every path.

The click group (every command) and the click-free fast paths of ``lime
session search`` and ``lime session list`` map exceptions through the same
function (``lime_repl.cli.failures.exit_status``). A bug cannot be provoked from
outside, so the probe below runs the real entry point with one function of
the command replaced by one that raises: the rest (the group, the fast path,
the program log) is the real code.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from support.lime_env import LimeEnv

#: Runs ``lime ARGS`` with ``cli.printers.<name>`` raising the exception built by ``RAISE``.
_PROBE = textwrap.dedent(
    """
    import atexit, os, sys
    from lime_repl.cli import printers

    # Which path ran: the group imports click, the fast paths must not.
    atexit.register(lambda: open(os.environ["PROBE_OUT"], "w").write(str("click" in sys.modules)))
    from lime_repl.errors import SessionLockedError

    def boom(*args, **kwargs):
        raise {raise_}

    setattr(printers, {name!r}, boom)
    from lime_repl.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)

#: path: (the printer the fault goes into, the command line, whether click runs it)
PATHS = {
    "group": ("print_sessions", ["session", "list", "--format=json"], True),
    "search fast path": ("search_sessions", ["session", "search", "needle"], False),
    "list fast path": ("print_sessions", ["session", "list"], False),
}


def _run(lime_env: LimeEnv, path: str, raise_: str) -> subprocess.CompletedProcess[str]:
    name, args, click = PATHS[path]
    out = lime_env.home.parent / "probe-out"
    result = subprocess.run(
        [sys.executable, "-c", _PROBE.format(raise_=raise_, name=name), *args],
        cwd=lime_env.cwd,
        env=dict(lime_env.env, PROBE_OUT=str(out)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.read_text() == str(click), f"{args} did not run on the {path}"
    return result


@pytest.mark.parametrize("path", PATHS)
def test_a_bug_is_one_line_exit_1_and_its_traceback_in_the_log(lime_env: LimeEnv, path: str) -> None:
    result = _run(lime_env, path, "RuntimeError('the \\x1b[31mwiring\\x1b[0m broke')")
    assert result.returncode == 1, result.stderr
    log = lime_env.home / "logs" / "lime.log"
    lines = result.stderr.splitlines()
    # The exception's escape sequences do not reach the terminal.
    assert lines == [f"lime: internal error: the wiring broke (details in {log})"], lines
    assert "Traceback" not in result.stderr and "\x1b" not in result.stderr
    text = log.read_text()
    assert "internal error" in text and "Traceback (most recent call last)" in text
    assert "RuntimeError: the" in text and "in boom" in text


@pytest.mark.parametrize("path", PATHS)
def test_a_lime_error_keeps_its_own_exit_code(lime_env: LimeEnv, path: str) -> None:
    result = _run(lime_env, path, "SessionLockedError('session 1a2b3c4d is open in another lime')")
    assert result.returncode == 3, result.stderr
    assert result.stderr == "lime: session 1a2b3c4d is open in another lime\n"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("raise_", "code"), [("KeyboardInterrupt()", 130), ("BrokenPipeError()", 0)])
def test_an_interrupt_is_130_and_a_closed_stdout_0_with_nothing_said(
    lime_env: LimeEnv, path: str, raise_: str, code: int
) -> None:
    result = _run(lime_env, path, raise_)
    assert (result.returncode, result.stderr) == (code, "")


@pytest.mark.parametrize("path", PATHS)
def test_every_path_makes_the_program_log_s_directory_first(lime_env: LimeEnv, path: str) -> None:
    _, args, _ = PATHS[path]
    logs = lime_env.home / "logs"
    assert not logs.exists()
    result = lime_env.run(*args)
    assert result.returncode in (0, 1), result.stderr  # a search that finds nothing is 1
    assert logs.is_dir()
