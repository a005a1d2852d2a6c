"""The real REPL in a pseudo terminal (pexpect)."""

from __future__ import annotations

import json
import sys
import time

import pexpect
import pytest
from support.lime_env import LimeEnv

pytestmark = pytest.mark.pty

PROMPT = "lime> "


def _spawn(lime_env: LimeEnv, *args: str) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "lime_repl", *args],
        cwd=str(lime_env.cwd),
        env=lime_env.env,
        dimensions=(40, 120),
        timeout=20,
    )
    child.expect_exact(PROMPT)
    return child


def _run(child: pexpect.spawn, line: str, expect: str) -> str:
    child.sendline(line)
    child.expect_exact(expect)
    before = child.before.decode("utf-8", "replace")
    child.expect_exact(PROMPT)
    return before + expect + child.before.decode("utf-8", "replace")


def test_recorded_shell_session_end_to_end(lime_env: LimeEnv) -> None:
    child = _spawn(lime_env)
    _run(child, "!echo hello", "hello")
    child.sendline("!cd /tmp")
    child.expect_exact(PROMPT)
    _run(child, "!pwd", "/tmp")
    _run(child, "!printf 'a\\nb\\n' | wc -l", "2")
    _run(child, "/rename Demo", "titled 'Demo'")
    status = _run(child, "/status", "workspace")
    assert "title      Demo" in status and "segments   1" in status
    assert "entries    13" in status
    logs = _run(child, "/logs", ".jsonl")
    assert '"type":"session"' in logs + child.before.decode()  # PAGER=cat shows the log itself
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    transcript = child.before.decode("utf-8", "replace") if child.before else ""
    assert "Traceback" not in transcript

    [path] = lime_env.session_files()
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert entries[0]["type"] == "session"
    texts = [e["content"][0]["text"] for e in entries if e["type"] == "message"]
    assert len(texts) == 12
    i = texts.index("<bash-input>pwd</bash-input>")
    assert texts[i + 1] == "<bash-stdout>/tmp\n</bash-stdout>"
    assert texts[i + 2] == "<bash-stderr></bash-stderr>"
    assert "<bash-input>printf 'a\\nb\\n' | wc -l</bash-input>" in texts
    assert entries[-1]["type"] == "title" and entries[-1]["title"] == "Demo"

    listing = json.loads(lime_env.run("session", "list", "--format", "json").stdout)
    assert listing[0]["title"] == "Demo"

    sid = path.name[:8]
    child = _spawn(lime_env, "-r", sid)
    _run(child, "!echo resumed", "resumed")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    assert lime_env.session_files() == [path]
    assert "<bash-input>echo resumed</bash-input>" in path.read_text()
    assert path.read_text().count('"type":"session"') == 1


def test_ctrl_c_interrupts_command_not_lime(lime_env: LimeEnv) -> None:
    child = _spawn(lime_env)
    child.sendline("!cd /tmp && sleep 30")
    time.sleep(1.0)
    child.sendintr()
    child.expect_exact(PROMPT, timeout=10)
    _run(child, "!pwd", "/tmp")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    [path] = lime_env.session_files()
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    sleep_triple = [e for e in entries if e.get("shell", {}).get("exitCode") == 130]
    assert len(sleep_triple) == 3


def test_tab_completes_commands_and_ctrl_c_clears_line(lime_env: LimeEnv) -> None:
    child = _spawn(lime_env)
    child.send("/sta\t")
    child.expect(r"/sta(\x1b\[[0-9;?]*[A-Za-z])*tus")  # the completion may be drawn in two writes
    child.send("\r")
    child.expect_exact("workspace")
    child.expect_exact(PROMPT)
    child.send("some half typed text")
    child.sendintr()
    child.expect_exact(PROMPT)
    time.sleep(0.3)  # let the fresh prompt take the terminal before Ctrl-D
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_history_is_kept_per_directory(lime_env: LimeEnv) -> None:
    child = _spawn(lime_env)
    _run(child, "!echo from-history", "from-history")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child = _spawn(lime_env)
    # The threaded history loads in the background: press Up (recall the previous line) until it shows.
    for _ in range(10):
        child.send("\x1b[A")
        if child.expect_exact(["from-history", pexpect.TIMEOUT], timeout=2) == 0:
            break
    else:
        raise AssertionError("Up did not recall the history")
    child.send("\r")
    child.expect_exact("from-history")
    child.expect_exact(PROMPT)
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    [history] = lime_env.home.glob("history/*.txt")
    assert "!echo from-history" in history.read_text()
    assert (history.stat().st_mode & 0o777) == 0o600
