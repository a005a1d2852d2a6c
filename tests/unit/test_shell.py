"""The persistent shell of `!` mode, driven against a real bash (DESIGN.md section 1)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lime_repl.runtime.shell import PersistentShell, ShellResult


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[PersistentShell]:
    with PersistentShell(tmp_path) as sh:
        yield sh


def out(result: ShellResult) -> str:
    return result.stdout.text()


def later(delay: float, action: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(delay, action)
    timer.daemon = True
    timer.start()
    return timer


def timed_run(sh: PersistentShell, command: str) -> tuple[ShellResult, float]:
    started = time.monotonic()
    result = sh.run(command)
    return result, time.monotonic() - started


def test_cd_persists(shell: PersistentShell, tmp_path: Path) -> None:
    (tmp_path / "sub dir").mkdir()
    result = shell.run("cd 'sub dir'")
    assert result.cwd == shell.cwd == str(tmp_path / "sub dir")
    assert out(shell.run("pwd")) == f"{tmp_path / 'sub dir'}\n"


def test_variables_persist(shell: PersistentShell) -> None:
    shell.run("export GREETING=hello; declare -A MAP=([k]=v); plain=1; f() { echo fn; }")
    assert out(shell.run('echo "$GREETING ${MAP[k]} $plain"; f')) == "hello v 1\nfn\n"
    assert out(shell.run("bash -c 'echo $GREETING'")) == "hello\n"


def test_positional_parameters_are_empty(shell: PersistentShell) -> None:
    assert out(shell.run('echo "[$1] $#"')) == "[] 0\n"


def test_pipes_and_redirections(shell: PersistentShell, tmp_path: Path) -> None:
    assert out(shell.run("printf 'a\\nb\\n' | wc -l")).strip() == "2"
    result = shell.run("echo to-file > out.txt && echo more >> out.txt")
    assert (result.exit_code, out(result)) == (0, "")
    assert (tmp_path / "out.txt").read_text() == "to-file\nmore\n"


def test_stderr_goes_to_its_own_callback(shell: PersistentShell) -> None:
    seen: dict[str, bytes] = {"out": b"", "err": b""}

    def collect(key: str) -> Callable[[bytes], None]:
        def add(chunk: bytes) -> None:
            seen[key] += chunk

        return add

    result = shell.run("echo visible; echo oops >&2", collect("out"), collect("err"))
    assert seen == {"out": b"visible\n", "err": b"oops\n"}
    assert (out(result), result.stderr.text()) == ("visible\n", "oops\n")


def test_stdin_is_dev_null(shell: PersistentShell) -> None:
    result, elapsed = timed_run(shell, "cat; read -r line; echo $?")
    assert (out(result), elapsed < 5) == ("1\n", True)


def test_exit_codes(shell: PersistentShell) -> None:
    assert shell.run("false").exit_code == 1
    assert shell.run("true").exit_code == 0
    assert shell.run("(exit 42)").exit_code == 42
    assert shell.run("return 5").exit_code == 5


def test_exit_restarts_bash_in_the_same_place(shell: PersistentShell, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    first_pid = shell.pid
    result = shell.run("cd d; export KEPT=yes; echo bye; exit 7")
    assert (result.exit_code, out(result), result.interrupted) == (7, "bye\n", False)
    assert result.cwd == str(tmp_path / "d")
    again = shell.run('echo "$PWD $KEPT"')
    assert (again.exit_code, out(again)) == (0, f"{tmp_path / 'd'} yes\n")
    assert shell.pid != first_pid


def test_restart_after_the_directory_vanished(shell: PersistentShell, tmp_path: Path) -> None:
    shell.run("mkdir gone && cd gone && rmdir ../gone; exit 3")
    result = shell.run("pwd")
    assert (result.exit_code, out(result)) == (0, f"{tmp_path}\n")


def test_killed_bash_is_restarted(shell: PersistentShell) -> None:
    result = shell.run("kill -9 $$")
    assert result.exit_code == 128 + signal.SIGKILL
    assert out(shell.run("echo alive")) == "alive\n"


@pytest.mark.parametrize("command", ["if", 'echo "unbalanced', "echo 'unbalanced", "done", "f() {"])
def test_syntax_error_does_not_hang(shell: PersistentShell, command: str) -> None:
    result, elapsed = timed_run(shell, command)
    assert elapsed < 5
    assert result.exit_code == 2
    assert "syntax error" in result.stderr.text() or "unexpected EOF" in result.stderr.text()
    assert out(shell.run("echo still here")) == "still here\n"


def test_trailing_backslash_and_heredocs(shell: PersistentShell) -> None:
    assert out(shell.run("echo end\\")) == "end\\\n"
    assert out(shell.run("cat <<'EOF'\nfirst $HOME\nsecond\nEOF")) == "first $HOME\nsecond\n"
    unterminated = shell.run("cat <<EOF\nno end")
    assert (unterminated.exit_code, out(unterminated)) == (0, "no end\n")
    assert "here-document" in unterminated.stderr.text()
    assert out(shell.run("echo 'it'\"'\"'s' \"$((1 + 1))\"")) == "it's 2\n"


def test_large_output_is_capped_and_streamed_whole(shell: PersistentShell) -> None:
    chunks: list[bytes] = []
    result = shell.run("head -c 5000000 /dev/zero | tr '\\0' a; echo -n END", on_stdout=chunks.append)
    data = b"".join(chunks)
    assert len(data) == 5_000_003 and data.endswith(b"aaaEND") and data.count(b"a") == 5_000_000
    assert max(map(len, chunks)) <= 1 << 20  # READ_SIZE: one read of a 1 MiB pipe
    assert result.stdout.total == 5_000_003
    assert result.stdout.truncated == 5_000_003 - 2 * 16384
    text = out(result)
    assert text.startswith("a" * 16384 + "\n[… 4967235 bytes truncated …]\n")
    assert text.endswith("a" * 16381 + "END")


def test_output_order_and_completeness(shell: PersistentShell) -> None:
    chunks: list[bytes] = []
    shell.run("seq 1 100000", on_stdout=chunks.append)
    expected = "".join(f"{i}\n" for i in range(1, 100001)).encode()
    assert b"".join(chunks) == expected


def test_output_just_before_exit_is_kept(shell: PersistentShell) -> None:
    result = shell.run("seq 1 20000; echo last >&2; exit 4")
    assert result.exit_code == 4
    assert result.stdout.total == len("".join(f"{i}\n" for i in range(1, 20001)))
    assert result.stderr.text() == "last\n"


def test_undecodable_output_is_replaced(shell: PersistentShell) -> None:
    assert out(shell.run("printf 'ok\\377\\n'")) == "ok\ufffd\n"


def test_interrupt_stops_the_command_and_keeps_state(shell: PersistentShell, tmp_path: Path) -> None:
    shell.run("mkdir -p here && cd here && export MARK=kept")
    pid = shell.pid
    later(0.3, shell.interrupt)
    result, elapsed = timed_run(shell, "sleep 30; echo after")
    assert elapsed < 3
    assert (result.exit_code, result.interrupted, out(result)) == (130, True, "")
    assert result.cwd == str(tmp_path / "here")
    assert out(shell.run('echo "$PWD $MARK"')) == f"{tmp_path / 'here'} kept\n"
    assert shell.pid == pid  # the same bash, not a restart


def test_interrupt_breaks_loops(shell: PersistentShell) -> None:
    later(0.3, shell.interrupt)
    result, elapsed = timed_run(shell, "for i in 1 2 3; do sleep 5; done; echo after")
    assert (elapsed < 3, result.interrupted, out(result)) == (True, True, "")


def test_second_interrupt_escalates(shell: PersistentShell) -> None:
    shell.run("export MARK=kept")
    later(0.3, shell.interrupt)
    later(0.6, shell.interrupt)
    result, elapsed = timed_run(shell, "f() { sleep 5; }; while :; do f; done")
    assert (elapsed < 3, result.exit_code, result.interrupted) == (True, 130, True)
    assert out(shell.run("echo $MARK")) == "kept\n"


def test_third_interrupt_kills_commands_that_ignore_sigint(shell: PersistentShell) -> None:
    for delay in (0.3, 0.5, 0.7):
        later(delay, shell.interrupt)
    result, elapsed = timed_run(shell, "bash -c 'trap \"\" INT; sleep 30'")
    assert (elapsed < 3, result.exit_code, result.interrupted) == (True, 130, True)
    assert out(shell.run("echo ok")) == "ok\n"


def test_keyboard_interrupt_in_the_caller_is_absorbed(shell: PersistentShell) -> None:
    later(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    result, elapsed = timed_run(shell, "sleep 30")
    assert (elapsed < 3, result.exit_code, result.interrupted) == (True, 130, True)
    assert out(shell.run("echo ok")) == "ok\n"


def test_interrupt_when_idle_is_harmless(shell: PersistentShell) -> None:
    shell.interrupt()
    result = shell.run("echo fine")
    assert (result.exit_code, result.interrupted, out(result)) == (0, False, "fine\n")


def test_failing_callback_cancels_and_raises(shell: PersistentShell) -> None:
    def broken(chunk: bytes) -> None:
        raise BrokenPipeError("reader went away")

    with pytest.raises(BrokenPipeError):
        shell.run("yes", on_stdout=broken)
    assert out(shell.run("echo recovered")) == "recovered\n"


def test_background_jobs_do_not_hold_run(shell: PersistentShell) -> None:
    result, elapsed = timed_run(shell, "sleep 2 & echo started")
    assert (out(result), elapsed < 1.5) == ("started\n", True)


def test_duration_is_measured(shell: PersistentShell) -> None:
    assert shell.run("sleep 0.2").duration_ms >= 200


def test_many_round_trips(shell: PersistentShell) -> None:
    results = [shell.run("true") for _ in range(100)]
    assert {r.exit_code for r in results} == {0}


def test_environment_argument(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "ONLY_HERE": "x"}
    with PersistentShell(tmp_path, env=env) as sh:
        assert out(sh.run('echo "$ONLY_HERE ${HOME-unset}"')) == "x unset\n"


def test_lifecycle(tmp_path: Path) -> None:
    sh = PersistentShell(tmp_path)
    assert sh.pid is None  # nothing started by the constructor
    with pytest.raises(RuntimeError):
        sh.run("true")
    sh.start()
    assert sh.pid is not None
    with pytest.raises(ValueError):
        sh.run("echo \0")
    sh.close()
    sh.close()
    assert sh.pid is None
    with pytest.raises(RuntimeError):
        sh.run("true")


def test_close_waits_for_bash_and_leaves_its_jobs_running(tmp_path: Path) -> None:
    # close() waits for bash's exit on its pidfd; a background job outlives bash (nothing is killed).
    # The `trap` function makes bash's exit slow: close() runs `trap - EXIT` before ending its input.
    pid_file = tmp_path / "job.pid"
    sh = PersistentShell(tmp_path)
    sh.start()
    sh.run(f"sleep 30 & echo $! > {pid_file}; trap() {{ sleep 0.3; }}")
    job = int(pid_file.read_text())
    started = time.monotonic()
    sh.close()
    try:
        assert time.monotonic() - started < 1.5
        state = Path(f"/proc/{job}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert state in "RSD"  # not killed: a killpg() has made it a zombie ("Z") or gone before close() returns
    finally:
        os.kill(job, signal.SIGKILL)
