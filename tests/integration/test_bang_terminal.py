"""``!`` lines of the real interactive REPL on a pseudo terminal (pexpect + pyte), and ``!!`` in every front end.

Each test starts ``python -m lime_repl`` in a pseudo terminal with a private
``LIME_HOME`` and ``HOME``, types lines as a user would, and waits on what
the emulated screen shows (or on the session log growing), never on sleeps.
The emulator keeps the alternate screen apart (:mod:`support.alt_screen`),
so "back on the normal screen" is checked, not assumed. Model requests go to
the loopback server of :mod:`support.fake_providers`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest
from support.alt_screen import AltScreen
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv
from support.processes import wait_gone
from support.screen import TIMEOUT

pytestmark = pytest.mark.pty

PROMPT = "lime> "


def _need(*programs: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} installed")


class Lime:
    """The real REPL in a pseudo terminal, with helpers that wait on the screen and the log."""

    def __init__(self, lime_env: LimeEnv, home: Path, *, env: dict[str, str] | None = None, rows: int = 24,
                 cols: int = 80, cpr: bool = False, preexec_fn: Any = None) -> None:  # fmt: skip
        """*cpr*: answer prompt-toolkit's cursor position requests, as a real terminal does (it then draws the toolbar).
        *preexec_fn*: run in lime's process before it starts (e.g. to start it with signals ignored)."""
        self.lime_env = lime_env
        home.mkdir(exist_ok=True)
        full = dict(lime_env.env, HOME=str(home), **(env or {}))
        if cpr:
            del full["PROMPT_TOOLKIT_NO_CPR"]
        child = pexpect.spawn(
            sys.executable,
            ["-m", "lime_repl"],
            cwd=str(lime_env.cwd),
            env=full,
            dimensions=(rows, cols),
            timeout=TIMEOUT,
            preexec_fn=preexec_fn,
        )
        self.screen = AltScreen(child, rows, cols)
        if cpr:
            self.screen.screen.write_process_input = child.send  # pyte's answer to CSI 6 n
        self.screen.wait_empty_prompt(PROMPT)

    # -- the log ---------------------------------------------------------
    def entries(self) -> list[dict[str, Any]]:
        found = []
        for path in self.lime_env.session_files():
            found += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return found

    def exchanges(self) -> list[dict[str, Any]]:
        """The bash triples of the log: ``{"command", "stdout", "stderr", "shell"}`` each, in order."""
        found: list[dict[str, Any]] = []
        for entry in self.entries():
            shell = entry.get("shell")
            if entry.get("type") != "message" or not isinstance(shell, dict):
                continue
            text = entry["content"][0]["text"]
            for tag in ("input", "stdout", "stderr"):
                open_, close = f"<bash-{tag}>", f"</bash-{tag}>"
                if text.startswith(open_) and text.endswith(close):
                    if tag == "input":
                        found.append({"shell": shell})
                    found[-1]["command" if tag == "input" else tag] = text[len(open_) : -len(close)]
        return found

    # -- typing ----------------------------------------------------------
    def bang(self, line: str) -> dict[str, Any]:
        """Type the ``!`` line, wait until its exchange is in the log and a fresh prompt is drawn; the exchange."""
        count = len(self.exchanges())
        self.screen.child.send(line + "\r")
        return self.wait_exchange(count)

    def wait_exchange(self, count: int, timeout: float = TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while len(self.exchanges()) <= count:
            if time.monotonic() > deadline or self.screen.eof:
                raise AssertionError(f"no new exchange in the log; the screen shows:\n{self.screen.text}")
            self.screen.pump()
        self.screen.wait_empty_prompt(PROMPT)
        return self.exchanges()[-1]

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.screen.display]

    def wait_line(self, text: str, timeout: float = TIMEOUT) -> None:
        """Wait until a whole screen line reads ``text`` (the log can be written before the screen is)."""
        deadline = time.monotonic() + timeout
        while text not in self.lines():
            if time.monotonic() > deadline or self.screen.eof:
                raise AssertionError(f"no line {text!r}; the screen shows:\n{self.screen.text}")
            self.screen.pump()

    def quit(self) -> None:
        self.screen.child.send("/quit\r")
        assert self.screen.wait_exit() == 0
        assert b"Traceback" not in self.screen.transcript

    def close(self) -> None:
        if not self.screen.child.closed:
            self.screen.child.close(force=True)


@pytest.fixture
def start(lime_env: LimeEnv, tmp_path: Path) -> Iterator[Any]:
    started: list[Lime] = []

    def spawn(**kwargs: Any) -> Lime:
        lime = Lime(lime_env, kwargs.pop("home", tmp_path / "home"), **kwargs)
        started.append(lime)
        return lime

    yield spawn
    for lime in started:
        lime.close()


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def _descendant(root: int, argv: list[str], timeout: float = TIMEOUT) -> int:
    """Wait for a process running *argv* below *root* (the command has started); its pid."""
    wanted = ("\0".join(argv) + "\0").encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        parents: dict[int, int] = {}
        matches = []
        for name in filter(str.isdigit, os.listdir("/proc")):
            try:
                parents[int(name)] = int(Path(f"/proc/{name}/stat").read_text().rpartition(")")[2].split()[1])
                if Path(f"/proc/{name}/cmdline").read_bytes() == wanted:
                    matches.append(int(name))
            except (OSError, ValueError, IndexError):
                continue
        for pid in matches:
            up = pid
            while up > 1 and up != root:
                up = parents.get(up, 1)
            if up == root:
                return pid
        time.sleep(0.02)
    raise AssertionError(f"no {argv} below {root}")


# -- full-screen and line-reading programs --------------------------------------


def test_vim_writes_the_file_and_the_next_command_is_on_the_normal_screen(start: Any, lime_env: LimeEnv) -> None:
    _need("vim")
    lime = start()
    count = len(lime.exchanges())
    lime.screen.child.send("!vim -u NONE x.txt\r")
    lime.screen.wait_for('"x.txt"')
    assert lime.screen.alternate
    lime.screen.send("i", "hello", "\x1b", ":wq", "\r")
    vim = lime.wait_exchange(count)
    assert (lime_env.cwd / "x.txt").read_text() == "hello\n"
    assert vim["shell"]["interactive"] is True and vim["shell"]["exitCode"] == 0
    assert "hello" in vim["stdout"] and "\x1b" not in vim["stdout"]
    assert not lime.screen.alternate
    after = lime.bang("!echo after")
    assert after["stdout"] == "after\n" and "interactive" not in after["shell"]
    # The prompt drawn after vim already reads as an empty prompt, so the echo may still be on its way.
    lime.wait_line("after")
    assert not lime.screen.alternate
    assert "lime> !vim -u NONE x.txt" in lime.lines()  # the normal screen came back as it was
    lime.quit()


def test_vim_redraws_at_the_new_size_when_the_window_is_resized(start: Any) -> None:
    _need("vim")
    lime = start()
    count = len(lime.exchanges())
    lime.screen.child.send("!vim -u NONE\r")
    lime.screen.wait_for("~")
    assert lime.screen.alternate and len(lime.lines()) == 24
    lime.screen.resize(30, 100)
    deadline = time.monotonic() + TIMEOUT
    while not lime.lines()[28].startswith("~"):
        assert time.monotonic() < deadline, lime.screen.text
        lime.screen.pump()
    lime.screen.send("\x1b", ":q!", "\r")
    assert lime.wait_exchange(count)["shell"]["interactive"] is True
    assert lime.bang("!echo cols=$COLUMNS lines=$LINES")["stdout"] == "cols=100 lines=30\n"


def test_less_pages_and_q_quits(start: Any) -> None:
    _need("less")
    first = next(line for line in Path("/etc/services").read_text().splitlines() if line.strip())
    lime = start()
    count = len(lime.exchanges())
    lime.screen.child.send("!less -f /etc/services\r")
    lime.screen.wait_for(first[:30].rstrip())
    lime.screen.send("q")
    assert lime.wait_exchange(count)["shell"]["exitCode"] == 0
    assert not lime.screen.alternate


def test_python_and_read_get_their_keys(start: Any) -> None:
    lime = start()
    count = len(lime.exchanges())
    lime.screen.child.send("!python3 -q\r")
    lime.screen.wait_for(">>>")
    lime.screen.send("print(6*7)\r")
    lime.screen.wait_line("42")
    lime.screen.send("exit()\r")
    assert lime.wait_exchange(count)["shell"]["exitCode"] == 0
    count += 1
    lime.screen.child.send("!read -p 'name? ' x; echo got=$x\r")
    lime.screen.wait_for("name?")
    lime.screen.send("bob\r")
    read = lime.wait_exchange(count)
    lime.wait_line("got=bob")
    assert read["stdout"].endswith("got=bob\n") and read["stderr"] == "name? "


def test_git_commit_runs_the_editor(start: Any, lime_env: LimeEnv) -> None:
    _need("git", "vim")
    lime = start()
    setup = lime.bang(
        "!git init -q repo && cd repo && git config user.email t@example.com && git config user.name T"
        " && echo x > f && git add f && export EDITOR=\"vim -u NONE --cmd 'set shm+=F'\""
    )
    assert setup["shell"]["exitCode"] == 0
    count = len(lime.exchanges())
    lime.screen.child.send("!git commit\r")
    lime.screen.wait_for("# Please enter the commit message")
    lime.screen.send("i", "first commit from vim", "\x1b", ":wq", "\r")
    commit = lime.wait_exchange(count)
    assert commit["shell"]["exitCode"] == 0 and commit["shell"]["interactive"] is True
    assert lime.bang("!git log --format=%s")["stdout"] == "first commit from vim\n"


def test_ctrl_c_ends_sleep_and_the_prompt_is_back_within_a_second(start: Any) -> None:
    lime = start()
    count = len(lime.exchanges())
    lime.screen.child.send("!sleep 30\r")
    _descendant(lime.screen.child.pid, ["sleep", "30"])
    sent = time.monotonic()
    lime.screen.child.send("\x03")
    deadline = sent + TIMEOUT
    while len(lime.exchanges()) <= count:
        assert time.monotonic() < deadline, lime.screen.text
        lime.screen.pump(0.01)
    lime.screen.wait_empty_prompt(PROMPT)
    assert time.monotonic() - sent < 1.0
    shell = lime.exchanges()[-1]["shell"]
    assert shell["interrupted"] is True and shell["exitCode"] == 130
    assert lime.bang("!echo alive")["stdout"] == "alive\n"


def test_ctrl_d_in_canonical_mode_reaches_the_command(start: Any) -> None:
    lime = start()
    count = len(lime.exchanges())
    lime.screen.child.send("!cat\r")
    _descendant(lime.screen.child.pid, ["cat"])
    lime.screen.send("typed-line\r")
    lime.screen.wait_for("typed-line\ntyped-line")
    lime.screen.child.send("\x04")  # EOF for cat, not lime's exit
    cat = lime.wait_exchange(count)
    assert cat["stdout"] == "typed-line\ntyped-line\n" and cat["shell"]["exitCode"] == 0
    assert lime.bang("!echo still-here")["stdout"] == "still-here\n"


def test_a_pipeline_streams_through_grep(start: Any) -> None:
    lime = start()
    count = len(lime.exchanges())
    lime.screen.child.send("!for i in 1 2 3; do echo $i; sleep 1; done | grep .\r")
    lime.screen.wait_line("1")
    assert "3" not in lime.lines()
    assert lime.wait_exchange(count)["stdout"] == "1\n2\n3\n"


# -- what reaches the log and the model ----------------------------------------------


def test_log_and_request_are_clean_and_double_bang_stays_private(
    start: Any, server: FakeProviderServer, lime_env: LimeEnv
) -> None:
    server.reply_text("model-answer-done")
    lime = start(env=server.env("openai", "gpt-5.4"))
    colour = lime.bang("!ls --color=always /")
    assert "usr" in colour["stdout"] and "\x1b" not in colour["stdout"]
    progress = lime.bang("!printf 'a\\r50%%\\r100%%\\n'")
    assert progress["stdout"] == "100%\n"
    private = lime.bang("!!echo private-marker")
    assert private["stdout"] == "private-marker\n" and private["shell"]["context"] is False
    lime.wait_line("private-marker")
    lime.screen.child.send("hello model\r")
    lime.screen.wait_for("model-answer-done")
    lime.screen.wait_empty_prompt(PROMPT)
    lime.quit()
    [path] = lime_env.session_files()
    log = path.read_bytes()
    assert b"\x1b" not in log and b"\\u001b" not in log.lower()
    # "50%%" is the command's own text; the output holds only what the terminal kept.
    assert b"100%" in log and b"50%" not in log.replace(b"50%%", b"") and b"private-marker" in log
    raw = server.calls[-1].raw
    assert b"\x1b" not in raw and b"\\u001b" not in raw.lower()
    assert b"100%" in raw and b"50%" not in raw.replace(b"50%%", b"")
    assert b"ls --color=always" in raw and b"private-marker" not in raw


def test_double_bang_in_line_mode_is_recorded_but_not_sent(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_text("ok")
    result = lime_env.run(
        input="!!echo private-marker\n!echo public-marker\nhello\n", extra_env=server.env("openai", "gpt-5.4")
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"private-marker\npublic-marker\n")
    [path] = lime_env.session_files()
    shells = [json.loads(line).get("shell") for line in path.read_text().splitlines()]
    assert [s.get("context") for s in shells if s][:3] == [False, False, False]
    raw = server.calls[-1].raw
    assert b"public-marker" in raw and b"private-marker" not in raw
    assert b"!!command" in lime_env.run(input="/help\n").stdout  # /help says so


# -- the user's shell ---------------------------------------------------------------


def _bashrc(home: Path) -> Path:
    home.mkdir(exist_ok=True)
    (home / ".bashrc").write_text("echo RC-NOISE-LINE\nalias gs='echo GS-ALIAS'\ngreet() { echo \"hello $1\"; }\n")
    return home


def test_bashrc_aliases_and_functions_without_its_output(start: Any, tmp_path: Path) -> None:
    lime = start(home=_bashrc(tmp_path / "home"))
    assert lime.bang("!gs")["stdout"] == "GS-ALIAS\n"
    lime.wait_line("GS-ALIAS")
    assert lime.bang("!greet bob")["stdout"] == "hello bob\n"
    lime.bang("!alias ll='echo LL'")
    assert lime.bang("!ll")["stdout"] == "LL\n"
    missing = lime.bang("!no-such-command-x")
    assert missing["stderr"] == "bash: no-such-command-x: command not found\n"
    assert b"RC-NOISE-LINE" not in lime.screen.transcript and b"/dev/fd/62" not in lime.screen.transcript


def test_shell_rc_false_turns_the_snapshot_off(start: Any, tmp_path: Path, lime_env: LimeEnv) -> None:
    lime_env.home.mkdir(parents=True, exist_ok=True)
    (lime_env.home / "config.toml").write_text("[shell]\nrc = false\n")
    lime = start(home=_bashrc(tmp_path / "home"))
    assert lime.bang("!gs")["shell"]["exitCode"] == 127


# -- typing a ! line --------------------------------------------------------------------


def test_tab_completes_bang_paths_and_slash_command_paths(start: Any, lime_env: LimeEnv) -> None:
    (lime_env.cwd / "outdir-abc").mkdir()
    lime = start()
    lime.screen.send("!cat /etc/pass", "\t")
    lime.screen.wait_for("lime> !cat /etc/passwd")
    lime.screen.send("\x03")  # Ctrl-C drops the line
    lime.screen.wait_empty_prompt(PROMPT)
    lime.screen.send("/export html ./outd", "\t")
    lime.screen.wait_for("lime> /export html ./outdir-abc")


def test_ctrl_r_at_a_bang_line_finds_commands_of_other_sessions(start: Any, lime_env: LimeEnv) -> None:
    assert lime_env.run(input="!echo from-old-session-xyz\n!echo newer-old-session-xyz\n").returncode == 0
    lime = start()
    lime.screen.send("!", "\x12", "old-session-xyz")
    lime.screen.wait_for("!echo newer-old-session-xyz")  # newest first
    lime.screen.send("\x12")  # again: the next older match
    lime.screen.wait_for("!echo from-old-session-xyz")
    lime.screen.send("\r")
    lime.screen.wait_gone("old-session-xyz'")  # the search prompt closes
    lime.screen.send("\r")
    lime.screen.wait_line("from-old-session-xyz")


# -- the screen tells the truth --------------------------------------------------------


def test_exit_status_partial_lines_toolbar_cwd_and_restart(start: Any) -> None:
    lime = start(cpr=True)
    lime.bang("!(exit 3)")
    lime.wait_line("exit 3")
    lime.bang("!printf no-newline")
    lime.wait_line("no-newline")
    assert lime.screen.cursor_line.rstrip() == PROMPT.rstrip()
    lime.bang("!cd /tmp")
    lime.screen.wait_for("cwd /tmp")  # the toolbar: the shell left the session's directory
    died = lime.bang("!set -e; false")
    assert died["shell"]["exitCode"] == 1
    assert sum("the shell exited (status 1)" in line for line in lime.lines()) == 1
    again = lime.bang("!pwd")
    assert again["stdout"] == "/tmp\n"


def test_background_job_is_reported_at_exit_and_hung_up(start: Any, tmp_path: Path) -> None:
    pid_file = tmp_path / "bg.pid"
    lime = start()
    lime.bang(f"!sleep 120 & echo $! > {pid_file}")
    pid = int(pid_file.read_text())
    lime.quit()
    assert b"1 background job still running" in lime.screen.transcript
    assert b"sleep 120" in lime.screen.transcript and b"SIGHUP" in lime.screen.transcript
    wait_gone(pid, TIMEOUT, "the background job outlived lime")


def test_double_bang_through_the_bridge_is_recorded_out_of_context(lime_env: LimeEnv) -> None:
    from support.bridge_client import BridgeClient

    bridge = BridgeClient(lime_env)
    try:
        created, _ = bridge.call("session.create", {})
        params = {"sessionId": created["sessionId"], "text": "!!echo private-marker"}
        sent, events = bridge.call("session.send", params)
        assert sent["exitCode"] == 0 and len(sent["entryIds"]) == 3
        triple = [e["entry"] for e in events if e["kind"] == "entry"]
        assert triple[0]["content"][0]["text"] == "<bash-input>echo private-marker</bash-input>"
        assert all(e["shell"]["context"] is False for e in triple)
        assert bridge.finish()[0] == 0
    finally:
        bridge.kill()


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


def _ignored_by(status_line: str) -> set[int]:
    """The SIGINT/SIGQUIT/SIGHUP bits of a ``SigIgn:`` line of /proc/PID/status."""
    mask = int(status_line.split()[1], 16)
    return {sig for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP) if mask & (1 << (sig - 1))}


def test_ctrl_c_ends_a_command_when_lime_was_started_with_sigint_ignored(start: Any) -> None:
    """A background job of a script inherits SIGINT and SIGQUIT ignored; its ``!`` commands must not."""
    lime = start(preexec_fn=_ignore_interrupts)
    assert _ignored_by(lime.bang("!grep -E '^SigIgn' /proc/self/status")["stdout"]) == set()
    count = len(lime.exchanges())
    lime.screen.child.send("!sleep 30\r")
    _descendant(lime.screen.child.pid, ["sleep", "30"])
    sent = time.monotonic()
    lime.screen.child.send("\x03")
    while len(lime.exchanges()) <= count:
        assert time.monotonic() < sent + TIMEOUT, lime.screen.text
        lime.screen.pump(0.01)
    lime.screen.wait_empty_prompt(PROMPT)
    assert lime.exchanges()[-1]["shell"]["interrupted"] is True
    lime.screen.child.send("/quit\r")
    assert lime.screen.wait_exit() == 130  # the status of the last command, as bash's $? would be
    assert b"Traceback" not in lime.screen.transcript
