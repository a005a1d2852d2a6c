"""The pseudo-terminal engine of ``!`` lines, driven directly (real bash; no terminal handed over)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import pytest
from support.processes import alive, wait_gone

from lime_repl.repl.ptyshell import PtyShell, complete_bang, take_snapshot
from lime_repl.repl.ptyshell.record import StreamRecorder, restore_sequence
from lime_repl.repl.ptyshell.relay import _Demarker


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def shell(tmp_path: Path, home: Path):
    sh = PtyShell(tmp_path, env=dict(os.environ, HOME=str(home)), rc=False)
    sh.start()
    yield sh
    sh.close(hangup=True)


def run(sh: PtyShell, command: str):
    with open(os.devnull, "wb") as sink:
        return sh.run(command, None, sink.fileno())


def test_recorder_keeps_the_final_alternate_screen_as_text() -> None:
    rec = StreamRecorder(size=(5, 20))
    rec.feed(b"before\r\n\x1b[?10")
    rec.feed(b"49h\x1b[H\x1b[2Jhello\x1b[5;1H:wq")
    assert rec.in_alternate_screen and rec.used_alternate_screen
    rec.feed(b"\r\n\x1b[?1049l")  # the exit's scroll is not part of the final screen
    rec.finish()
    assert rec.recorded() == "hello\n\n\n\n:wq\n"
    assert restore_sequence(rec) == b"\x1b[0m"


def test_recorder_cleans_line_output_and_restores_what_is_left_set() -> None:
    rec = StreamRecorder()
    rec.feed(b"\x1b[31mred\x1b[0m\r\na\r50%\r100%\r\n")
    assert rec.recorded() == "red\n100%\n" and not rec.used_alternate_screen
    left = StreamRecorder()
    left.feed(b"\x1b[?1049h\x1b[?25l\x1b[?1000h\x1b[?2004h\x1b[2;10r")
    sequence = restore_sequence(left)
    for part in (b"\x1b[?1049l", b"\x1b[?25h", b"\x1b[?1000l", b"\x1b[?2004l", b"\x1b[r", b"\x1b[0m"):
        assert part in sequence
    assert restore_sequence(StreamRecorder()) == b""


def test_the_end_marker_is_removed_even_split_across_reads() -> None:
    mark = _Demarker(b"\x1b]5379;abc\x07")
    assert mark.feed(b"out\x1b]53") == b"out"
    assert not mark.seen
    assert mark.feed(b"79;abc\x07tail") == b"tail" and mark.seen
    other = _Demarker(b"\x1b]5379;abc\x07")
    assert other.feed(b"x\x1b[1m") == b"x\x1b[1m"


def test_streams_apart_state_persists_and_errors_have_no_script_prefix(
    shell: PtyShell, tmp_path: Path
) -> None:
    both = run(shell, "echo out; echo err >&2")
    assert (both.stdout, both.stderr, both.exit_code) == ("out\n", "err\n", 0)
    run(shell, "mkdir -p d && cd d && export LIME_X=7 && shopt -s extglob && f() { echo f$1; }")
    again = run(shell, "pwd; echo $LIME_X; shopt -q extglob && echo on; f 1")
    assert again.stdout == f"{tmp_path / 'd'}\n7\non\nf1\n" and shell.cwd == str(tmp_path / "d")
    assert shell.env["LIME_X"] == "7"
    missing = run(shell, "nosuch-cmd-q")
    assert (missing.exit_code, missing.stderr) == (127, "bash: nosuch-cmd-q: command not found\n")
    assert run(shell, "if").exit_code == 2
    assert run(shell, "cat <<EOF\nheredoc 'x'\nEOF").stdout == "heredoc 'x'\n"


def test_an_alias_works_from_the_next_line_as_in_bash(shell: PtyShell) -> None:
    same_line = run(shell, "alias qq='echo QQ'; qq")
    assert same_line.exit_code == 127  # bash expands aliases only in lines read after the definition
    assert run(shell, "qq").stdout == "QQ\n"


def test_terminals_output_without_newline_and_exit_restarts(shell: PtyShell) -> None:
    tty = run(shell, "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all")
    assert tty.stdout == "all\n"
    partial = run(shell, "printf abc")
    assert partial.stdout == "abc" and partial.ends_with_newline is False
    run(shell, "cd /; export KEPT=1")
    gone = run(shell, "exit 4")
    assert gone.exit_code == 4
    back = run(shell, "echo $KEPT; pwd")
    assert back.restarted and back.stdout == "1\n/\n"


def test_interrupt_ends_the_running_command(shell: PtyShell) -> None:
    threading.Timer(0.5, shell.interrupt).start()
    start = time.monotonic()
    result = run(shell, "sleep 30; echo not-here")
    assert time.monotonic() - start < 5
    assert result.exit_code == 130 and result.interrupted and "not-here" not in result.stdout
    assert run(shell, "echo ok").stdout == "ok\n"


def test_background_jobs_are_reported_and_left_alone_without_hangup(tmp_path: Path, home: Path) -> None:
    sh = PtyShell(tmp_path, env=dict(os.environ, HOME=str(home)), rc=False)
    sh.start()
    run(sh, f"sleep 300 & echo $! > {tmp_path / 'pid'}")
    pid = int((tmp_path / "pid").read_text())
    try:
        jobs = sh.close(hangup=False)
        assert [(job.pid, job.state) for job in jobs] == [(pid, "Running")]
        time.sleep(0.2)
        assert Path(f"/proc/{pid}").exists()
    finally:
        os.kill(pid, 9)


def test_the_rc_snapshot_brings_aliases_and_functions_and_can_be_off(tmp_path: Path, home: Path) -> None:
    (home / ".bashrc").write_text("echo NOISE\nalias gs='echo GS'\nhi() { echo hi-$1; }\n")
    env = dict(os.environ, HOME=str(home))
    snapshot = take_snapshot(env)
    assert "alias gs='echo GS'" in snapshot and "hi ()" in snapshot and "NOISE" not in snapshot
    with PtyShell(tmp_path, env=env) as sh:
        assert run(sh, "gs; hi x").stdout == "GS\nhi-x\n"
    with PtyShell(tmp_path, env=env, rc=False) as sh:
        assert run(sh, "gs").exit_code == 127


def test_a_hanging_rc_file_times_out_to_an_empty_snapshot(home: Path) -> None:
    (home / ".bashrc").write_text("alias a=b\nsleep 30\n")
    start = time.monotonic()
    assert take_snapshot(dict(os.environ, HOME=str(home)), timeout=1) == ""
    assert time.monotonic() - start < 5


def test_completion_uses_bash_compgen(tmp_path: Path) -> None:
    assert complete_bang("cat /etc/pass", str(tmp_path)) == (
        4,
        ["/etc/passwd", "/etc/passwd-"][: 2 if Path("/etc/passwd-").exists() else 1],
    )
    start, words = complete_bang("ech", str(tmp_path))
    assert start == 0 and "echo" in words
    assert "$HOME" in complete_bang("echo $HO", str(tmp_path), {"HOME": "/x", "PATH": os.environ["PATH"]})[1]
    (tmp_path / "subdir").mkdir()
    assert complete_bang("ls sub", str(tmp_path))[1] == ["subdir/"]
    assert complete_bang("gs-al", str(tmp_path), snapshot="alias gs-alias='echo'")[1] == ["gs-alias"]


def test_the_record_is_redacted_before_the_cut(shell: PtyShell) -> None:
    result = run(shell, "head -c 100000 /dev/zero | tr '\\0' a; echo; echo secret-tail")
    stdout, stderr = result.recorded(lambda text: text.replace("secret", "[REDACTED]"))
    assert stdout.endswith("[REDACTED]-tail\n") and stderr == ""
    assert result.truncated_bytes["stdout"] > 0 and "bytes truncated" in stdout


def test_close_hangs_up_background_jobs_as_a_terminal_hang_up_would(tmp_path: Path, home: Path) -> None:
    sh = PtyShell(tmp_path, env=dict(os.environ, HOME=str(home)), rc=False)
    sh.start()
    run(
        sh,
        f"sleep 300 & echo $! > {tmp_path / 'pid'}; nohup sleep 301 >/dev/null 2>&1 & echo $! > {tmp_path / 'nohup'}",
    )
    pid, kept = int((tmp_path / "pid").read_text()), int((tmp_path / "nohup").read_text())
    try:
        jobs = sh.close()
        assert sorted(job.pid for job in jobs) == sorted([pid, kept])
        wait_gone(pid, 10, "the job outlived the hang-up")
        assert alive(kept)  # nohup ignores SIGHUP, as under bash
    finally:
        for victim in (pid, kept):
            with contextlib.suppress(OSError):
                os.kill(victim, 9)


def test_all_output_is_read_before_the_run_returns(shell: PtyShell) -> None:
    expected = "".join(f"{n}\n" for n in range(1, 3001))
    for _ in range(20):
        result = run(shell, "seq 1 3000; seq 1 3000 >&2")
        assert (result.stdout, result.stderr) == (expected, expected)
