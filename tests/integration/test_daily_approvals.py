"""Approvals as a user meets them: one key, the keys named, "always" scoped, a reason, Ctrl-C, ``-p``.

The interactive ones run the real REPL in process on prompt-toolkit pipe input, drawn on an emulated
screen (:class:`support.vt_output.ScreenOutput`); the model is the loopback provider, scripted to call
the ``bash`` tool. ``-p`` runs the real ``lime`` in a subprocess.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from support.fake_providers import FakeProviderServer
from support.inprocess import CTRL_C, InProcessRepl
from support.lime_env import LimeEnv
from support.vt_output import ScreenOutput

KEYS = "y yes · n no · a always"
REASON_KEY = "r no, and tell the model why"


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def _results(lime_env: LimeEnv) -> list[dict]:
    entries = [json.loads(line) for path in lime_env.session_files() for line in path.read_text().splitlines()]
    return [
        block
        for e in entries
        if e.get("type") == "message" and isinstance(e.get("content"), list)
        for block in e["content"]
        if block.get("type") == "tool_result"
    ]


def _wait_screen(screen: ScreenOutput, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in screen.text:
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never appeared; the screen shows:\n{screen.text}")
        time.sleep(0.01)


def _repl(lime_env: LimeEnv, server: FakeProviderServer, screen: ScreenOutput, **kw: object) -> InProcessRepl:
    lime_env.env.update(server.env("openai", "gpt-5.4"))
    return InProcessRepl(lime_env, output=screen.output, **kw)  # type: ignore[arg-type]


def test_one_key_answers_and_the_prompt_names_the_keys(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    marker = lime_env.cwd / "made-by-the-tool"
    server.reply_tool_call("bash", {"command": f"touch {marker.name}"}).reply_text("touched it")
    screen = ScreenOutput(40, 200)
    with _repl(lime_env, server, screen) as repl:
        repl.send("please touch the file\r")
        _wait_screen(screen, f"allow bash: touch {marker.name}?  {KEYS} (touch commands) · {REASON_KEY}")
        repl.send("y")  # the key alone: no Enter
        repl.wait_lines(1)
        assert "touched it" in repl.stdout.value
        assert marker.exists()
        assert repl.exit() == 0
    assert _results(lime_env)[0]["is_error"] is False


def test_always_is_scoped_to_the_first_word_or_the_exact_dangerous_command(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    (lime_env.cwd / "y").write_text("y")
    (lime_env.cwd / "x").mkdir()
    for command in ("git --version", "git --version --build-options", "rm -f y", "rm -f y", "rm -rf x"):
        server.reply_tool_call("bash", {"command": command})
    server.reply_text("all done")
    screen = ScreenOutput(40, 220)
    with _repl(lime_env, server, screen) as repl:
        repl.send("tidy up\r")
        _wait_screen(screen, f"allow bash: git --version?  {KEYS} (git commands)")
        repl.send("a")
        # "always" on git covers the next git command; rm is dangerous: its "always" is for that exact line
        _wait_screen(screen, f"allow bash: rm -f y?  {KEYS} (this exact command, since rm is on the list")
        repl.send("a")
        _wait_screen(screen, "allow bash: rm -rf x?")  # the repeated `rm -f y` did not ask; another rm does
        repl.send("n")
        repl.wait_lines(1)
        assert "all done" in repl.stdout.value
        asked = [line for line in screen.lines() if line.startswith("allow bash")]
        assert len(asked) == 3, screen.text
        assert repl.exit() == 0
    results = _results(lime_env)
    assert [r["is_error"] for r in results] == [False, False, False, False, True]
    assert results[4]["content"] == "the user refused to run bash"
    assert not (lime_env.cwd / "y").exists() and (lime_env.cwd / "x").is_dir()


def test_no_and_tell_the_model_why_puts_the_reason_in_the_tool_result(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    server.reply_tool_call("bash", {"command": "rm -rf build"}).reply_text("I will use make clean")
    screen = ScreenOutput(40, 200)
    with _repl(lime_env, server, screen) as repl:
        repl.send("clean the build\r")
        _wait_screen(screen, "allow bash: rm -rf build?")
        repl.send("r")
        _wait_screen(screen, "→ no, with a reason:\ntell the model why:")
        repl.send("use make clean instead\r")
        repl.wait_lines(1)
        assert repl.exit() == 0
    [result] = _results(lime_env)
    assert result["is_error"] is True
    assert result["content"] == "the user refused to run bash and said why: use make clean instead"
    sent = json.dumps(server.requests[1])
    assert "use make clean instead" in sent  # the model got the reason


def test_ctrl_c_at_the_approval_prompt_refuses_and_stops_the_turn(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    server.reply_tool_call("bash", {"command": "touch never"}).reply_text("should not be asked for")
    screen = ScreenOutput(40, 200)
    with _repl(lime_env, server, screen) as repl:
        repl.send("go\r")
        _wait_screen(screen, "allow bash: touch never?")
        repl.send(CTRL_C)
        repl.wait_lines(1)
        repl.line("!echo prompt-is-back")
        assert "prompt-is-back" in repl.stdout.value
        assert repl.exit() == 0
    assert len(server.requests) == 1  # the turn stopped: the model was not called again
    [result] = _results(lime_env)
    assert result["is_error"] is True and "stopped the turn (Ctrl-C)" in result["content"]
    assert not (lime_env.cwd / "never").exists()


def test_print_mode_refuses_tools_saying_yolo_was_not_given(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_tool_call("bash", {"command": "touch one"}).reply_tool_call("bash", {"command": "touch two"})
    server.reply_text("understood")
    ran = lime_env.run("-p", "make two files", extra_env=server.env("openai", "gpt-5.4"))
    err = ran.stderr.decode()
    assert ran.returncode == 0, err
    assert ran.stdout.decode().strip() == "understood"
    warnings = [line for line in err.splitlines() if "needs approval" in line]
    assert len(warnings) == 1 and "--yolo was not given" in warnings[0], err  # said once
    results = _results(lime_env)
    assert len(results) == 2 and all(r["is_error"] for r in results)
    for result in results:
        assert "--yolo was not given" in result["content"] and "the user refused" not in result["content"]
    assert not (lime_env.cwd / "one").exists() and not (lime_env.cwd / "two").exists()


def test_the_toolbar_shows_yolo(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    screen = ScreenOutput(12, 160)
    with _repl(lime_env, server, screen, yolo=True) as repl:
        _wait_screen(screen, "--yolo: tools run without asking")
        assert "--yolo" in screen.lines()[-1]
        assert repl.exit() == 0
    plain = ScreenOutput(12, 160)
    with _repl(lime_env, server, plain) as repl:
        _wait_screen(plain, "gpt-5.4")
        assert "yolo" not in plain.text
        assert repl.exit() == 0
