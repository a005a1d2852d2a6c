"""The agent loop end to end: real `lime` processes talking to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from support.fake_providers import FakeProviderServer, Reply
from support.lime_env import LimeEnv
from support.screen import TIMEOUT, Screen

PROMPT = "lime> "


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def _log(lime_env: LimeEnv) -> list[dict]:
    [path] = lime_env.session_files()
    return [json.loads(line) for line in path.read_text().splitlines()]


def _strip_cache_marks(value):  # type: ignore[no-untyped-def]
    """Anthropic prompt-caching breakpoints move to the newest message each turn; they are not content."""
    if isinstance(value, dict):
        return {k: _strip_cache_marks(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_strip_cache_marks(v) for v in value]
    return value


def _messages(body: dict) -> list:
    """The conversation part of a request body, whatever the wire."""
    if "messages" in body:
        return _strip_cache_marks(body["messages"])
    return body["input"]


def test_tool_round_trip_with_failing_bash(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_tool_call(
        "bash", {"command": "ls /definitely-missing"}, usage={"input_tokens": 50, "output_tokens": 5}
    )
    server.reply_text("That directory does not exist.", usage={"input_tokens": 80, "output_tokens": 7})
    result = lime_env.run("--yolo", "-p", "list the directory", extra_env=server.env("openai", "gpt-5.4"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"That directory does not exist.\n"
    assert b"Traceback" not in result.stderr
    tool_message = server.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool" and "definitely-missing" in tool_message["content"]
    log = _log(lime_env)
    messages = [e for e in log if e["type"] == "message"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    call = messages[1]["content"][0]
    assert call["type"] == "tool_use" and call["name"] == "bash"
    assert call["input"] == {"command": "ls /definitely-missing"}
    assert messages[1]["stopReason"] == "tool_use" and messages[1]["usage"]["input_tokens"] == 50
    outcome = messages[2]["content"][0]
    assert outcome["type"] == "tool_result" and outcome["is_error"] is True
    assert outcome["tool_use_id"] == call["id"]
    assert messages[3]["stopReason"] == "end_turn" and messages[3]["provider"] == "openai"
    assert messages[3]["model"] == "gpt-5.4"
    assert any(e["type"] == "model_change" for e in log)


@pytest.mark.parametrize("provider", ["openai", "openai-responses", "anthropic"])
def test_resume_sends_byte_identical_prefix(
    lime_env: LimeEnv, server: FakeProviderServer, provider: str
) -> None:
    env = server.env(provider)
    server.reply_tool_call(
        "read", {"path": "notes.txt"}, reasoning="I should read it", reasoning_state="opaque-1=="
    )
    server.reply_text("It says hello.", reasoning="done reading", reasoning_state="opaque-2==")
    (lime_env.cwd / "notes.txt").write_text("hello\n")
    first = lime_env.run("--yolo", input="!echo from-shell\nwhat is in notes.txt?\n", extra_env=env)
    assert first.returncode == 0, first.stderr
    previous = _messages(server.requests[-1])
    raw_previous = json.dumps(previous, sort_keys=True)
    assert "from-shell" in raw_previous
    if provider != "openai":  # Chat Completions has no reasoning state to send back
        assert "opaque-1==" in raw_previous
    server.reply_text("Goodbye.")
    [path] = lime_env.session_files()
    second = lime_env.run("-r", path.name[:8], "--yolo", input="and now?\n", extra_env=env)
    assert second.returncode == 0, second.stderr
    current = _messages(server.requests[-1])
    assert current[: len(previous)] == previous
    assert json.dumps(current[: len(previous)], sort_keys=True) == raw_previous
    if provider != "openai":
        assert "opaque-2==" in json.dumps(current)
    if provider == "openai-responses":
        items = [i for i in current if isinstance(i, dict) and i.get("type") == "reasoning"]
        assert items and all(i.get("encrypted_content") for i in items)
    if provider == "anthropic":
        thinking = [
            b
            for m in current
            if isinstance(m["content"], list)
            for b in m["content"]
            if b.get("type") == "thinking"
        ]
        assert {b["signature"] for b in thinking} == {"opaque-1==", "opaque-2=="}


def test_errors_are_one_line_and_session_keeps_working(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply(Reply(status=401, error_message="Incorrect API key provided"))
    server.reply(Reply(status=429, error_message="Rate limit reached"))
    server.reply_text("back again")
    script = "first\nsecond\n!echo shell-still-works\nthird\n"
    result = lime_env.run(input=script, extra_env=server.env("openai", "gpt-5.4"))
    err = result.stderr.decode()
    assert "Traceback" not in err
    assert "authentication failed" in err.lower() or "401" in err
    assert "rate limit" in err.lower() or "429" in err
    assert result.stdout == b"shell-still-works\nback again\n"
    assert result.returncode == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1", "LIME_PROVIDER": "openai"}
    refused = lime_env.run("-c", input="hello?\n!echo ok\n", extra_env=env)
    lines = [line for line in refused.stderr.decode().splitlines() if line.startswith("lime: ")]
    assert len(lines) == 1 and "Traceback" not in refused.stderr.decode(), refused.stderr
    assert refused.stdout == b"ok\n" and refused.returncode == 0


def _spawn(lime_env: LimeEnv, server: FakeProviderServer, *args: str) -> Screen:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "lime_repl", *args],
        cwd=str(lime_env.cwd),
        env=dict(lime_env.env, **server.env("openai", "gpt-5.4")),
        dimensions=(40, 120),
        timeout=TIMEOUT,
    )
    screen = Screen(child, 40, 120)
    screen.wait_empty_prompt(PROMPT)
    return screen


def _exit(screen: Screen) -> None:
    screen.send("\x04")  # Ctrl-D at an empty prompt
    assert screen.wait_exit() == 0
    assert b"Traceback" not in screen.transcript


@pytest.mark.pty
def test_refusing_approval_in_pty_records_refusal(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    marker = lime_env.cwd / "should-not-exist"
    server.reply_tool_call("bash", {"command": f"touch {marker.name}"})
    server.reply_text("Understood, I did not run it.")
    screen = _spawn(lime_env, server)
    screen.send("please touch the file\r")
    screen.wait_for("allow bash: touch should-not-exist?  y yes · n no · a always (touch commands)")
    screen.send("n")  # one key, no Enter
    screen.wait_for("Understood, I did not run it.")
    screen.wait_empty_prompt(PROMPT)
    _exit(screen)
    assert not marker.exists()
    results = [
        b
        for e in _log(lime_env)
        if e["type"] == "message"
        for b in e["content"]
        if b["type"] == "tool_result"
    ]
    assert len(results) == 1 and results[0]["is_error"] is True and "refused" in results[0]["content"]


@pytest.mark.pty
def test_ctrl_c_during_stream_records_cancelled_partial(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    # 100 s of answer: Ctrl-C always reaches it while it streams, however slow the machine.
    server.reply(Reply(text=[f"word{i} " for i in range(2000)], chunk_delay=0.05))
    server.reply_text("second answer")
    screen = _spawn(lime_env, server)
    screen.send("tell me a long story\r")
    screen.wait_for("word3")  # the answer streams: Ctrl-C now cancels it
    screen.child.sendintr()
    screen.wait_for("^C cancelled")
    screen.wait_empty_prompt(PROMPT)
    screen.send("again\r")
    screen.wait_for("second answer")
    screen.wait_empty_prompt(PROMPT)
    _exit(screen)
    assistant = [e for e in _log(lime_env) if e["type"] == "message" and e["role"] == "assistant"]
    assert assistant[0]["stopReason"] == "cancelled"
    partial = assistant[0]["content"][0]["text"]
    assert partial.startswith("word0 word1 word2 word3") and "word1999" not in partial
    assert assistant[1]["content"][0]["text"] == "second answer"


def test_print_mode_without_provider_is_a_usage_error(lime_env: LimeEnv) -> None:
    result = lime_env.run("-p", "hi")
    assert result.returncode == 2 and b"no model provider" in result.stderr
    assert Path(lime_env.home).exists() is False or lime_env.session_files() == []
