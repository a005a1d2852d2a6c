"""Text streaming, tool-call round trips and request shapes, per provider, over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.fake_providers import Reply, ToolCall
from support.provider_helpers import MODELS, PROVIDERS, run_turn, user

from lime_repl.agent.providers import ReasoningDelta, TextDelta, TurnEnd
from lime_repl.agent.providers.base import Provider


@pytest.mark.parametrize("name", PROVIDERS)
def test_text_streams_as_deltas_then_turn_end_with_usage(connect, server, name: str) -> None:
    server.reply_text(
        "Hello there, world",
        usage={"input_tokens": 120, "output_tokens": 7, "cache_read_tokens": 20, "cache_write_tokens": 10},
    )
    provider = connect(name)
    assert isinstance(provider, Provider)
    events, end = run_turn(provider, [user("hi")])

    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1 and "".join(deltas) == "Hello there, world"
    assert end.content == [{"type": "text", "text": "Hello there, world"}]
    assert end.stop_reason == "end_turn"
    assert end.model == MODELS[name]
    assert end.usage["input_tokens"] == 120
    assert end.usage["output_tokens"] == 7
    assert end.usage["cache_read_tokens"] == 20
    assert end.usage["cache_write_tokens"] == (10 if name == "anthropic" else 0)
    assert end.usage["raw"]

    body = server.last
    assert body["stream"] is True and body["model"] == MODELS[name]
    if name == "openai":
        assert body["stream_options"] == {"include_usage": True}
        assert body["messages"][:2] == [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "hi"},
        ]
        assert body["tools"][0]["function"]["name"] == "bash"
        assert body["tools"][0]["function"]["parameters"]["required"] == ["command"]
    elif name == "openai-responses":
        assert body["store"] is False
        assert body["include"] == ["reasoning.encrypted_content"]
        assert body["instructions"] == "You are terse."
        assert body["input"] == [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
        ]
        assert body["tools"][0] == {
            "type": "function",
            "name": "bash",
            "description": "Run a shell command.",
            "parameters": body["tools"][0]["parameters"],
            "strict": False,
        }
    else:
        assert body["system"] == [
            {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}
        ]
        assert body["messages"] == [
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}],
            }
        ]
        assert body["tools"][0]["input_schema"]["required"] == ["command"]
        assert body["max_tokens"] == 8192
        headers = {k.lower(): v for k, v in server.calls[-1].headers.items()}
        assert "test-key" in (
            headers.get("x-api-key", ""),
            headers.get("authorization", "").removeprefix("Bearer "),
        )
        assert "anthropic-version" in headers


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize("is_error", [False, True])
def test_tool_call_round_trip(connect, server, name: str, is_error: bool) -> None:
    server.reply_tool_call("bash", {"command": "ls -la"}, text="Looking.").reply_text("Two files.")
    provider = connect(name)
    messages: list[dict[str, Any]] = [user("what is here?")]
    _, first = run_turn(provider, messages)

    assert first.stop_reason == "tool_use"
    assert [b["type"] for b in first.content] == ["text", "tool_use"]
    call = first.content[1]
    assert call["name"] == "bash" and call["input"] == {"command": "ls -la"} and call["id"]

    messages.append({"role": "assistant", "content": first.content})
    result = {
        "type": "tool_result",
        "tool_use_id": call["id"],
        "content": "a.txt\nb.txt",
        "is_error": is_error,
    }
    messages.append({"role": "user", "content": [result]})
    _, second = run_turn(provider, messages)
    assert second.content == [{"type": "text", "text": "Two files."}]
    assert second.stop_reason == "end_turn"

    body = server.requests[1]
    if name == "openai":
        assistant, tool = body["messages"][2], body["messages"][3]
        assert assistant == {
            "role": "assistant",
            "content": "Looking.",
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": "bash", "arguments": '{"command":"ls -la"}'},
                }
            ],
        }
        expected = "[error] a.txt\nb.txt" if is_error else "a.txt\nb.txt"
        assert tool == {"role": "tool", "tool_call_id": call["id"], "content": expected}
    elif name == "openai-responses":
        items = body["input"]
        assert items[1] == {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Looking."}],
        }
        assert items[2] == {
            "type": "function_call",
            "call_id": call["id"],
            "name": "bash",
            "arguments": '{"command":"ls -la"}',
        }
        expected = "[error] a.txt\nb.txt" if is_error else "a.txt\nb.txt"
        assert items[3] == {"type": "function_call_output", "call_id": call["id"], "output": expected}
    else:
        assistant, tool = body["messages"][1], body["messages"][2]
        assert assistant == {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Looking."},
                {"type": "tool_use", "id": call["id"], "name": "bash", "input": {"command": "ls -la"}},
            ],
        }
        assert tool == {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": call["id"],
                    "content": "a.txt\nb.txt",
                    "is_error": is_error,
                    "cache_control": {"type": "ephemeral"},
                }
            ],
        }


@pytest.mark.parametrize("name", PROVIDERS)
def test_several_tool_calls_in_one_turn(connect, server, name: str) -> None:
    server.reply(
        Reply(tool_calls=[ToolCall("bash", {"command": "pwd"}), ToolCall("read", {"path": "a.txt"})])
    )
    _, end = run_turn(connect(name), [user("go")])
    assert [(b["name"], b["input"]) for b in end.content] == [
        ("bash", {"command": "pwd"}),
        ("read", {"path": "a.txt"}),
    ]
    assert len({b["id"] for b in end.content}) == 2
    assert end.stop_reason == "tool_use"


@pytest.mark.parametrize("name", ["openai", "openai-responses"])
def test_unparseable_tool_arguments_are_kept_raw(connect, server, name: str) -> None:
    server.reply(Reply(tool_calls=[ToolCall("bash", '{"command": "ls')]))
    _, end = run_turn(connect(name), [user("go")])
    assert end.content[0]["input"] == {}
    assert end.content[0]["raw_arguments"] == '{"command": "ls'


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize("exit_code", [0, 2])
def test_local_shell_is_rendered_as_user_text(connect, server, name: str, exit_code: int) -> None:
    server.reply_text("ok")
    shell = {
        "type": "local_shell",
        "command": "ls nope",
        "stdout": "",
        "stderr": "ls: nope: No such file",
        "exit_code": exit_code,
        "cwd": "/tmp",
    }
    run_turn(connect(name), [{"role": "user", "content": [shell]}])
    expected = "<bash-input>ls nope</bash-input>\n<bash-stdout></bash-stdout>\n<bash-stderr>ls: nope: No such file</bash-stderr>"
    if exit_code:
        expected += "\n<bash-exit-code>2</bash-exit-code>"
    body = server.last
    if name == "openai":
        assert body["messages"][1] == {"role": "user", "content": expected}
    elif name == "openai-responses":
        assert body["input"][0]["content"] == [{"type": "input_text", "text": expected}]
    else:
        assert body["messages"][0]["content"][0]["text"] == expected


@pytest.mark.parametrize("name", PROVIDERS)
def test_max_tokens_is_sent_and_the_stop_reason_normalized(connect, server, name: str) -> None:
    server.reply(Reply(text="cut sho", stop_reason="max_tokens"))
    _, end = run_turn(connect(name), [user("long story")], max_tokens=64)
    assert end.stop_reason == "max_tokens"
    assert end.content == [{"type": "text", "text": "cut sho"}]
    key = {"openai": "max_tokens", "openai-responses": "max_output_tokens", "anthropic": "max_tokens"}[name]
    assert server.last[key] == 64


@pytest.mark.parametrize("name", PROVIDERS)
def test_cancel_keeps_the_partial_text(connect, server, name: str) -> None:
    server.reply(Reply(text=["one ", "two ", "three ", "four ", "five"], chunk_delay=0.02))
    stream = connect(name).stream("", [user("count")], [], MODELS[name], None)
    seen = []
    for event in stream:
        if isinstance(event, TextDelta):
            seen.append(event.text)
            if len(seen) == 2:
                break
    stream.close()
    stream.close()
    assert stream.partial() == [{"type": "text", "text": "one two "}]
    assert not any(isinstance(e, TurnEnd) for e in seen)


def test_chat_reasoning_content_streams_but_is_not_sent_back(connect, server) -> None:
    server.reply_text("42", reasoning="Think it through.").reply_text("ok")
    provider = connect("openai")
    events, end = run_turn(provider, [user("q")])
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Think it through."
    assert end.content[0] == {
        "type": "reasoning",
        "provider": "openai",
        "summary": "Think it through.",
        "data": {"reasoning_content": "Think it through."},
    }
    run_turn(provider, [user("q"), {"role": "assistant", "content": end.content}, user("and?")])
    assert server.last["messages"][2] == {"role": "assistant", "content": "42"}
    assert "Think" not in json.dumps(server.last)


def test_empty_key_with_custom_base_url_still_works(server) -> None:
    from lime_repl.agent.providers import make_provider

    server.reply_text("local")
    provider = make_provider("openai", {"OPENAI_BASE_URL": server.openai_base_url}, {"max_retries": 0})
    _, end = run_turn(provider, [user("hi")])
    assert end.content == [{"type": "text", "text": "local"}]
    headers = {k.lower(): v for k, v in server.calls[-1].headers.items()}
    assert headers["authorization"] == "Bearer no-key"
