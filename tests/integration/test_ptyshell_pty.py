"""``!`` commands on a real pseudo terminal: the engine driven inside a pexpect pty, rendered with pyte.

The harness (``tests/support/ptyshell_harness.py``) stands in for the REPL:
it reads a line, runs it through :class:`lime_repl.repl.ptyshell.PtyShell` with its
own terminal as the real one, and prints ``PROMPT> ``. Every wait is on screen
content.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pexpect
import pytest
from support.alt_screen import AltScreen
from support.processes import wait_gone

pytestmark = pytest.mark.pty

HARNESS = Path(__file__).resolve().parent.parent / "support" / "ptyshell_harness.py"
PROMPT = "PROMPT> "


class Harness:
    def __init__(self, tmp_path: Path, *, home: Path | None = None, rows: int = 24, cols: int = 80) -> None:
        self.results = tmp_path / "results.jsonl"
        self.cwd = tmp_path / "work"
        self.cwd.mkdir(exist_ok=True)
        env = dict(os.environ, TERM="xterm-256color", HOME=str(home or tmp_path / "home"))
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
        Path(env["HOME"]).mkdir(exist_ok=True)
        child = pexpect.spawn(
            sys.executable,
            [str(HARNESS), str(self.results)],
            cwd=str(self.cwd),
            env=env,
            dimensions=(rows, cols),
            timeout=20,
        )
        self.screen = AltScreen(child, rows, cols)
        self.screen.wait_prompt(PROMPT)

    def type_line(self, line: str) -> None:
        self.screen.child.send(line + "\r")

    def run(self, line: str) -> dict:
        count = self._count()
        self.type_line(line)
        return self.wait_result(count)

    def wait_result(self, count: int, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while self._count() <= count:
            if time.monotonic() > deadline or self.screen.eof:
                raise AssertionError(f"no result; the screen shows:\n{self.screen.text}")
            self.screen.pump()
        self.screen.wait_prompt(PROMPT)
        return self.records()[-1]

    def records(self) -> list[dict]:
        if not self.results.exists():
            return []
        return [json.loads(line) for line in self.results.read_text().splitlines() if line.strip()]

    def _count(self) -> int:
        return len(self.records())

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.screen.display]

    def quit(self) -> list[dict]:
        self.type_line(":quit")
        assert self.screen.wait_exit() == 0
        return self.records()[-1]["jobs"]


def _need(*programs: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} installed")


@pytest.fixture
def harness(tmp_path: Path):
    h = Harness(tmp_path)
    yield h
    if not h.screen.eof:
        h.screen.child.close(force=True)


def test_vim_edits_a_file_and_the_next_command_is_on_the_normal_screen(harness: Harness) -> None:
    _need("vim")
    count = harness._count()
    harness.type_line("vim -u NONE x.txt")
    harness.screen.wait_for('"x.txt"')
    assert harness.screen.alternate
    harness.screen.send("i", "hello", "\x1b", ":wq", "\r")
    result = harness.wait_result(count)
    assert (harness.cwd / "x.txt").read_text() == "hello\n"
    assert not harness.screen.alternate
    assert result["interactive"] is True and result["exit_code"] == 0
    assert "hello" in result["stdout"] and "\x1b" not in result["stdout"]
    after = harness.run("echo after")
    assert after["stdout"] == "after\n" and after["interactive"] is False
    assert "after" in harness.lines() and not harness.screen.alternate
    assert harness.screen.cursor_line.startswith(PROMPT)


def test_vim_redraws_at_the_new_size_when_the_window_is_resized(harness: Harness) -> None:
    _need("vim")
    count = harness._count()
    harness.type_line("vim -u NONE")
    harness.screen.wait_for("~")
    assert len(harness.lines()) == 24
    harness.screen.resize(30, 100)
    deadline = time.monotonic() + 20
    while not harness.lines()[28].startswith("~"):
        assert time.monotonic() < deadline, harness.screen.text
        harness.screen.pump()
    harness.screen.send("\x1b", ":q!", "\r")
    result = harness.wait_result(count)
    assert result["interactive"] is True
    assert harness.run("echo cols=$COLUMNS lines=$LINES")["stdout"] == "cols=100 lines=30\n"


def test_less_pages_a_file_and_q_quits(harness: Harness) -> None:
    _need("less")
    assert Path("/etc/services").exists()
    first = next(line for line in Path("/etc/services").read_text().splitlines() if line.strip())
    count = harness._count()
    harness.type_line("less -f /etc/services")
    harness.screen.wait_for(first[:30].rstrip())
    harness.screen.send("q")
    result = harness.wait_result(count)
    assert result["exit_code"] == 0


def test_python_repl_reads_keys(harness: Harness) -> None:
    _need("python3")
    count = harness._count()
    harness.type_line("python3 -q")
    harness.screen.wait_for(">>>")
    harness.screen.send("print(6*7)\r")
    harness.screen.wait_for("42")
    harness.screen.send("exit()\r")
    result = harness.wait_result(count)
    assert result["exit_code"] == 0 and "42" in result["stdout"]


def test_read_builtin_prompts_and_reads_a_line(harness: Harness) -> None:
    count = harness._count()
    harness.type_line("read -p 'name? ' x; echo got=$x")
    harness.screen.wait_for("name?")
    harness.screen.send("bob\r")
    result = harness.wait_result(count)
    assert "got=bob" in harness.lines()
    assert result["stdout"].endswith("got=bob\n") and result["stderr"] == "name? "


def test_ctrl_c_interrupts_and_the_prompt_is_back_within_a_second(harness: Harness) -> None:
    count = harness._count()
    harness.type_line("echo started; sleep 30; echo not-reached")
    harness.screen.wait_for("started")
    sent = time.monotonic()
    harness.screen.child.send("\x03")
    result = harness.wait_result(count)
    assert time.monotonic() - sent < 1.0
    assert result["exit_code"] == 130 and result["interrupted"] is True
    assert "not-reached" not in harness.lines() and "not-reached" not in result["stdout"]
    assert harness.run("echo alive")["stdout"] == "alive\n"


def test_a_pipeline_streams_line_by_line_and_sees_a_terminal(harness: Harness) -> None:
    count = harness._count()
    harness.type_line("for i in 1 2 3; do echo $i; sleep 1; done | grep .")
    deadline = time.monotonic() + 20
    while "1" not in harness.lines():
        assert time.monotonic() < deadline, harness.screen.text
        harness.screen.pump()
    assert "3" not in harness.lines()
    assert harness.wait_result(count)["stdout"] == "1\n2\n3\n"
    result = harness.run('[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo "tty=yes cols=$COLUMNS"')
    assert result["stdout"] == "tty=yes cols=80\n"


def test_the_log_gets_clean_text_apart_per_stream(harness: Harness) -> None:
    colour = harness.run("ls --color=always /")
    assert "\x1b" not in colour["stdout"] and "usr" in colour["stdout"]
    progress = harness.run("printf 'a\\r50%%\\r100%%\\n'")
    assert progress["stdout"] == "100%\n" and "50%" not in progress["stdout"]
    both = harness.run("echo out; echo err >&2; exit_code() { return 3; }; exit_code")
    assert (both["stdout"], both["stderr"], both["exit_code"]) == ("out\n", "err\n", 3)
    partial = harness.run("printf no-newline")
    assert partial["ends_with_newline"] is False
    assert harness.screen.cursor_line.startswith(PROMPT)
    assert "no-newline" in harness.lines()


def test_cd_export_functions_and_aliases_persist(harness: Harness) -> None:
    harness.run("mkdir -p sub && cd sub && export LIME_T=42 && f() { echo f-$1; }")
    result = harness.run("pwd; echo $LIME_T; f x")
    assert result["stdout"] == f"{harness.cwd / 'sub'}\n42\nf-x\n"
    assert result["cwd"] == str(harness.cwd / "sub")
    harness.run("alias ll='echo LL'")
    assert harness.run("ll")["stdout"] == "LL\n"
    missing = harness.run("no-such-command-x")
    assert missing["exit_code"] == 127
    assert missing["stderr"] == "bash: no-such-command-x: command not found\n"


def test_the_users_bashrc_aliases_and_functions_without_its_output(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text(
        "echo RC-NOISE-LINE\nalias gs='echo GS-ALIAS'\ngreet() { echo \"hello $1\"; }\n"
    )
    h = Harness(tmp_path, home=home)
    try:
        assert h.run("gs")["stdout"] == "GS-ALIAS\n"
        assert h.run("greet bob")["stdout"] == "hello bob\n"
        assert "RC-NOISE-LINE" not in h.screen.text
        assert all("RC-NOISE" not in r.get("stdout", "") for r in h.records())
    finally:
        h.screen.child.close(force=True)


def test_a_background_job_is_reported_at_close_and_hung_up(harness: Harness, tmp_path: Path) -> None:
    pid_file = tmp_path / "bg.pid"
    harness.run(f"sleep 300 & echo $! > {pid_file}")
    pid = int(pid_file.read_text())
    jobs = harness.quit()
    assert [job["pid"] for job in jobs] == [pid] and "sleep 300" in jobs[0]["command"]
    wait_gone(pid, 10, "the background job outlived the hang-up")


def test_git_commit_runs_the_editor_on_the_terminal(harness: Harness) -> None:
    _need("git", "vim")
    setup = harness.run(
        "git init -q repo && cd repo && git config user.email t@example.com && git config user.name T"
        " && echo x > f && git add f && export EDITOR=\"vim -u NONE --cmd 'set shm+=F'\""  # F: no file message, no hit-enter prompt
    )
    assert setup["exit_code"] == 0
    count = harness._count()
    harness.type_line("git commit")
    harness.screen.wait_for("# Please enter the commit message")
    harness.screen.send("i", "first commit from vim", "\x1b", ":wq", "\r")
    result = harness.wait_result(count)
    assert result["exit_code"] == 0 and result["interactive"] is True
    log = harness.run("git log --format=%s")
    assert log["stdout"] == "first commit from vim\n"


def test_ctrl_z_stops_the_job_and_ctrl_d_ends_input(harness: Harness) -> None:
    count = harness._count()
    harness.type_line("echo go; sleep 30")
    harness.screen.wait_for("go")
    harness.screen.child.send("\x1a")
    stopped = harness.wait_result(count)
    assert stopped["exit_code"] == 148 and stopped["interrupted"] is False
    assert "Stopped" in harness.run("jobs")["stdout"]
    harness.run("kill -9 %1")
    count = harness._count()
    harness.type_line("cat")
    harness.screen.send("typed-line\r")
    harness.screen.wait_for("typed-line\ntyped-line")
    harness.screen.child.send("\x04")
    assert harness.wait_result(count)["stdout"] == "typed-line\ntyped-line\n"
