"""The real interactive REPL driven in this process (prompt-toolkit pipe input, no terminal)."""

from __future__ import annotations

import json

from support.inprocess import CTRL_C, TAB, UP, InProcessRepl
from support.lime_env import LimeEnv

from lime_repl.runtime.model import NO_PROVIDER_HINT


def _log(lime_env: LimeEnv) -> list[dict]:
    [path] = lime_env.session_files()
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_history_is_kept_per_directory(lime_env: LimeEnv) -> None:
    with InProcessRepl(lime_env) as repl:
        repl.line("!echo from-history")
        assert repl.stdout.value == "from-history\n"
        assert repl.exit() == 0
    [history] = lime_env.home.glob("history/*.txt")
    assert "!echo from-history" in history.read_text()
    assert (history.stat().st_mode & 0o777) == 0o600

    with InProcessRepl(lime_env) as repl:
        # The threaded history loads in the background: Up recalls nothing until it has loaded.
        repl.wait_buffer("!echo from-history", keys=UP)
        repl.line("")
        assert repl.stdout.value == "from-history\n"
        assert repl.exit() == 0
    recorded = [
        e
        for e in _log_all(lime_env)
        if e["type"] == "message" and "echo from-history" in e["content"][0]["text"]
    ]
    assert len(recorded) == 2  # once per session: the recalled line ran again


def _log_all(lime_env: LimeEnv) -> list[dict]:
    return [json.loads(line) for path in lime_env.session_files() for line in path.read_text().splitlines()]


def test_history_of_another_directory_is_not_offered(lime_env: LimeEnv) -> None:
    with InProcessRepl(lime_env) as repl:
        repl.line("!echo only-here")
        assert repl.exit() == 0
    lime_env.cwd = lime_env.cwd / "sub"
    lime_env.cwd.mkdir()
    with InProcessRepl(lime_env) as repl:
        repl.line("!echo first-in-sub")
        repl.wait_buffer("!echo first-in-sub", keys=UP)
        repl.send(UP * 3)  # the top of this directory's history: the other directory's line is not offered
        repl.line("")
        assert "only-here" not in repl.stdout.value
        assert repl.stdout.value.count("first-in-sub") == 2
        assert repl.exit() == 0
    assert len(list(lime_env.home.glob("history/*.txt"))) == 2


def test_tab_completes_commands_and_ctrl_c_clears_line(lime_env: LimeEnv) -> None:
    with InProcessRepl(lime_env) as repl:
        repl.send("/sta" + TAB)
        repl.wait_buffer("/status")  # completion runs in the background; Enter only once it is done
        repl.line("")
        assert "workspace" in repl.stdout.value and "entries" in repl.stdout.value
        repl.send("some half typed text")
        repl.wait_buffer("some half typed text")
        repl.send(CTRL_C)  # the line is dropped, the REPL goes on
        repl.wait_buffer("")
        repl.line("!echo after-ctrl-c")
        assert repl.exit() == 0
        assert repl.lines_done == 2
        assert NO_PROVIDER_HINT not in repl.stderr.value  # the half-typed text was never sent as a message
        assert repl.stdout.value.endswith("after-ctrl-c\n")
    inputs = [e["content"][0]["text"] for e in _log(lime_env) if e["type"] == "message"]
    assert inputs[0] == "<bash-input>echo after-ctrl-c</bash-input>" and len(inputs) == 3


def test_shell_lines_slash_commands_and_resume(lime_env: LimeEnv) -> None:
    with InProcessRepl(lime_env) as repl:
        repl.line("!cd /tmp")
        repl.line("!pwd")
        repl.line("!printf 'a\\nb\\n' | wc -l")
        repl.line("/rename Demo")
        repl.wait_for("titled 'Demo'")
        repl.line("/status")
        status = repl.stdout.value
        assert "title      Demo" in status and "segments   1" in status and "entries    10" in status
        repl.line("/quit")
        assert repl.close() == 0
    [path] = lime_env.session_files()
    texts = [e["content"][0]["text"] for e in _log(lime_env) if e["type"] == "message"]
    assert texts[texts.index("<bash-input>pwd</bash-input>") + 1] == "<bash-stdout>/tmp\n</bash-stdout>"
    with InProcessRepl(lime_env, resume=path) as repl:
        repl.line("!echo resumed")
        assert repl.exit() == 0
    assert lime_env.session_files() == [path]
    assert path.read_text().count('"type":"session"') == 1
    assert "<bash-input>echo resumed</bash-input>" in path.read_text()
