"""The real REPL in a pseudo terminal (pexpect + pyte): the whole path, terminal and signals included.

Line editing, completion and history are driven in process
(``test_repl_inprocess.py``); these tests keep what needs a real terminal.
Each waits for what the screen shows before it types the next keys.
"""

from __future__ import annotations

import json
import sys

import pexpect
import pytest
from support.lime_env import LimeEnv
from support.screen import TIMEOUT, Screen

pytestmark = pytest.mark.pty

PROMPT = "lime> "


def _spawn(lime_env: LimeEnv, *args: str) -> Screen:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "lime_repl", *args],
        cwd=str(lime_env.cwd),
        env=lime_env.env,
        dimensions=(40, 120),
        timeout=TIMEOUT,
    )
    screen = Screen(child, 40, 120)
    screen.wait_empty_prompt(PROMPT)
    return screen


def _run(screen: Screen, line: str, output_line: str) -> None:
    """Type ``line``, wait for a screen line that is exactly ``output_line``, then for the next prompt."""
    screen.send(line + "\r")
    screen.wait_line(output_line)
    screen.wait_empty_prompt(PROMPT)


def _exit(screen: Screen) -> None:
    screen.send("\x04")  # Ctrl-D at an empty prompt
    assert screen.wait_exit() == 0
    assert b"Traceback" not in screen.transcript


def test_recorded_shell_session_end_to_end(lime_env: LimeEnv) -> None:
    screen = _spawn(lime_env)
    _run(screen, "!echo hello", "hello")
    screen.send("!cd /tmp\r")
    screen.wait_for("lime> !cd /tmp\n" + PROMPT.rstrip())
    screen.wait_empty_prompt(PROMPT)
    _run(screen, "!pwd", "/tmp")
    _run(screen, "!printf 'a\\nb\\n' | wc -l", "2")
    screen.send("/rename Demo\r")
    screen.wait_for("titled 'Demo'")
    screen.wait_empty_prompt(PROMPT)
    screen.send("/status\r")
    screen.wait_for("workspace")
    screen.wait_empty_prompt(PROMPT)
    assert "title      Demo" in screen.text and "segments   1" in screen.text
    assert "entries    13" in screen.text
    screen.send("/logs\r")
    screen.wait_in_transcript('"type":"session"')  # PAGER=cat shows the log itself
    screen.wait_empty_prompt(PROMPT)
    _exit(screen)

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
    screen = _spawn(lime_env, "-r", sid)
    _run(screen, "!echo resumed", "resumed")
    _exit(screen)
    assert lime_env.session_files() == [path]
    assert "<bash-input>echo resumed</bash-input>" in path.read_text()
    assert path.read_text().count('"type":"session"') == 1


def test_ctrl_c_interrupts_command_not_lime(lime_env: LimeEnv) -> None:
    screen = _spawn(lime_env)
    screen.send("!cd /tmp && echo sleeping && sleep 30\r")
    screen.wait_line("sleeping")  # the command runs: Ctrl-C now goes to it
    screen.child.sendintr()
    screen.wait_for("^C interrupted")
    screen.wait_empty_prompt(PROMPT)
    _run(screen, "!pwd", "/tmp")
    screen.send("/quit\r")
    assert screen.wait_exit() == 0
    [path] = lime_env.session_files()
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    sleep_triple = [e for e in entries if e.get("shell", {}).get("exitCode") == 130]
    assert len(sleep_triple) == 3
