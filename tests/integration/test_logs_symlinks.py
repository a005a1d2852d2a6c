"""``lime logs`` (raw, pretty and ``--follow``) never follows a segment that is a symlink.

A rotated segment ``<id>.jsonl.1`` is replaced by a symlink to another lime
log (header and all, so only ``O_NOFOLLOW`` protects it). Its content must not
be printed; lime says so in one line naming the path and exits 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pexpect
import pytest
from support.lime_env import LimeEnv

MARKER = b"victim-content-never-printed"


def _symlinked(lime_env: LimeEnv, tmp_path: Path) -> tuple[Path, Path]:
    ran = lime_env.run(input="!echo " + MARKER.decode() + "\n")
    assert ran.returncode == 0, ran.stderr
    [path] = lime_env.session_files()
    victim = tmp_path / "elsewhere.jsonl"
    victim.write_bytes(path.read_bytes())  # a whole lime log elsewhere
    ran = lime_env.run("-r", path.name[:8], input="!echo active-line\n")
    assert ran.returncode == 0, ran.stderr
    data = path.read_bytes().replace(MARKER, b"x" * len(MARKER))
    path.write_bytes(data)  # the session's own log no longer holds the marker
    rotated = Path(f"{path}.1")
    rotated.symlink_to(victim)
    return path, rotated


def _expected(rotated: Path) -> str:
    return f"lime: {rotated}: is a symbolic link, not a session log; lime does not follow it"


@pytest.mark.parametrize("follow", [False, True])
def test_logs_to_a_pipe_never_follow_a_symlinked_segment(
    lime_env: LimeEnv, tmp_path: Path, follow: bool
) -> None:
    path, rotated = _symlinked(lime_env, tmp_path)
    victim = rotated.resolve().read_bytes()
    ran = lime_env.run("logs", path.name[:8], *(["--follow"] if follow else []), timeout=30)
    assert ran.returncode == 1
    assert MARKER not in ran.stdout
    assert ran.stderr.decode().splitlines() == [_expected(rotated)]
    assert rotated.resolve().read_bytes() == victim


def test_pretty_logs_on_a_terminal_never_follow_a_symlinked_segment(lime_env: LimeEnv, tmp_path: Path) -> None:
    path, rotated = _symlinked(lime_env, tmp_path)
    child = pexpect.spawn(
        sys.executable, ["-m", "lime_repl", "logs", path.name[:8]], cwd=str(lime_env.cwd), env=lime_env.env,
        timeout=30, dimensions=(50, 200),
    )
    child.expect(pexpect.EOF)
    child.close()
    out = child.before
    assert child.exitstatus == 1, out
    assert MARKER not in out and b"Traceback" not in out
    assert _expected(rotated).encode() in out

