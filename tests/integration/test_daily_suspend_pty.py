"""Ctrl-Z at the prompt suspends lime as a shell suspends a job, and ``fg`` brings the prompt back.

lime runs under an interactive bash (job control on) in a real pseudo terminal, rendered with pyte.
"""

from __future__ import annotations

import shlex
import sys

import pexpect
import pytest
from support.lime_env import LimeEnv
from support.screen import TIMEOUT, Screen

pytestmark = pytest.mark.pty

PS1 = "outer-shell$ "


def test_ctrl_z_suspends_to_the_shell_and_fg_restores_the_prompt(lime_env: LimeEnv) -> None:
    env = dict(lime_env.env, PS1=PS1, HISTFILE="/dev/null")
    child = pexpect.spawn(
        "bash", ["--norc", "--noprofile", "-i"], cwd=str(lime_env.cwd), env=env, dimensions=(30, 100), timeout=TIMEOUT
    )
    screen = Screen(child, 30, 100)
    screen.wait_empty_prompt(PS1)
    screen.send(f"{shlex.quote(sys.executable)} -m lime_repl\r")
    screen.wait_empty_prompt("lime> ")
    screen.send("!echo before\r")
    screen.wait_line("before")
    screen.wait_empty_prompt("lime> ")
    screen.send("\x1a")  # Ctrl-Z
    screen.wait_for("Stopped")
    screen.wait_empty_prompt(PS1)  # the outer shell has the terminal, in its own (cooked) mode
    screen.send("echo outer-$((6*7))\r")
    screen.wait_line("outer-42")
    screen.wait_empty_prompt(PS1)
    screen.send("fg\r")
    screen.wait_empty_prompt("lime> ")  # redrawn, in raw mode again: keys edit the line
    screen.send("!echo after-fg\r")
    screen.wait_line("after-fg")
    screen.wait_empty_prompt("lime> ")
    assert "^Z" not in screen.text.split("Stopped")[-1]
    screen.send("\x04")  # Ctrl-D: lime exits
    screen.wait_empty_prompt(PS1)
    screen.send("exit\r")
    assert screen.wait_exit() == 0
    assert b"Traceback" not in screen.transcript
