"""Reasoning state survives a round trip: Responses encrypted items and Anthropic thinking signatures."""

from __future__ import annotations

from typing import Any

from support.fake_providers import Reply
from support.provider_helpers import run_turn, user

from lime_repl.agent.providers import ReasoningDelta

ENCRYPTED = "gAAAAABopaque-encrypted-reasoning==" * 4
SIGNATURE = "EqQBCkYIBxgCKkBsignature/opaque+bytes=="


def test_responses_reasoning_item_is_kept_whole_and_echoed_unchanged(connect, server) -> None:
    server.reply_tool_call(
        "bash", {"command": "ls"}, reasoning="Need to list files.", reasoning_state=ENCRYPTED
    )
    server.reply_text("Done.")
    provider = connect("openai-responses")
    messages: list[dict[str, Any]] = [user("list")]
    events, first = run_turn(provider, messages)

    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Need to list files."
    reasoning, call = first.content
    assert reasoning["type"] == "reasoning" and reasoning["provider"] == "openai-responses"
    assert reasoning["summary"] == "Need to list files."
    item = reasoning["data"]
    assert item["type"] == "reasoning" and item["id"].startswith("rs_")
    assert item["encrypted_content"] == ENCRYPTED
    assert item["summary"] == [{"type": "summary_text", "text": "Need to list files."}]

    messages.append({"role": "assistant", "content": first.content})
    messages.append(
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call["id"], "content": "x", "is_error": False}
            ],
        }
    )
    run_turn(provider, messages)
    sent = server.requests[1]["input"]
    # Every field as received except the server-side id (store=false cannot resolve it).
    assert sent[1] == {k: v for k, v in item.items() if k != "id"}
    assert sent[1]["encrypted_content"] == ENCRYPTED
    assert [i.get("type") for i in sent] == ["message", "reasoning", "function_call", "function_call_output"]


def test_responses_skips_reasoning_it_cannot_replay(connect, server) -> None:
    server.reply_text("ok")
    foreign = {
        "type": "reasoning",
        "provider": "anthropic",
        "summary": "t",
        "data": {"type": "thinking", "thinking": "t", "signature": "s"},
    }
    bare = {
        "type": "reasoning",
        "provider": "openai-responses",
        "summary": "",
        "data": {"id": "rs_1", "type": "reasoning", "summary": []},
    }
    run_turn(
        connect("openai-responses"),
        [
            user("a"),
            {"role": "assistant", "content": [foreign, bare, {"type": "text", "text": "b"}]},
            user("c"),
        ],
    )
    assert [i.get("type") for i in server.last["input"]] == ["message", "message", "message"]


def test_responses_reasoning_options_are_sent_only_when_set(connect, server) -> None:
    server.reply_text("a").reply_text("b")
    run_turn(connect("openai-responses"), [user("q")])
    assert "reasoning" not in server.last
    run_turn(connect("openai-responses", reasoning_effort="high", reasoning_summary="auto"), [user("q")])
    assert server.last["reasoning"] == {"effort": "high", "summary": "auto"}


def test_anthropic_thinking_and_signature_are_echoed_unchanged(connect, server) -> None:
    server.reply_tool_call("bash", {"command": "pwd"}, reasoning="Where am I?", reasoning_state=SIGNATURE)
    server.reply_text("In /tmp.")
    provider = connect("anthropic")
    messages: list[dict[str, Any]] = [user("where?")]
    events, first = run_turn(provider, messages)

    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Where am I?"
    thinking, call = first.content
    assert thinking == {
        "type": "reasoning",
        "provider": "anthropic",
        "summary": "Where am I?",
        "data": {"type": "thinking", "thinking": "Where am I?", "signature": SIGNATURE},
    }
    messages.append({"role": "assistant", "content": first.content})
    messages.append(
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call["id"], "content": "/tmp", "is_error": False}
            ],
        }
    )
    run_turn(provider, messages)
    assistant = server.requests[1]["messages"][1]
    assert assistant["content"][0] == {"type": "thinking", "thinking": "Where am I?", "signature": SIGNATURE}
    assert assistant["content"][1]["type"] == "tool_use"


def test_anthropic_redacted_thinking_round_trip(connect, server) -> None:
    server.reply(Reply(text="Sure.", redacted_thinking=True, reasoning_state="REDACTED-opaque")).reply_text(
        "ok"
    )
    provider = connect("anthropic")
    _, first = run_turn(provider, [user("q")])
    assert first.content[0] == {
        "type": "reasoning",
        "provider": "anthropic",
        "summary": "",
        "data": {"type": "redacted_thinking", "data": "REDACTED-opaque"},
    }
    run_turn(provider, [user("q"), {"role": "assistant", "content": first.content}, user("more")])
    assert server.last["messages"][1]["content"][0] == {
        "type": "redacted_thinking",
        "data": "REDACTED-opaque",
    }


def test_anthropic_skips_foreign_reasoning_and_sends_thinking_options(connect, server) -> None:
    server.reply_text("ok")
    foreign = {
        "type": "reasoning",
        "provider": "openai-responses",
        "summary": "",
        "data": {"type": "reasoning", "encrypted_content": "e"},
    }
    provider = connect("anthropic", thinking=4096, effort="high")
    run_turn(
        provider,
        [user("a"), {"role": "assistant", "content": [foreign, {"type": "text", "text": "b"}]}, user("c")],
        max_tokens=2048,
    )
    body = server.last
    assert body["messages"][1]["content"] == [{"type": "text", "text": "b"}]
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert body["max_tokens"] > 4096
    assert body["output_config"] == {"effort": "high"}


def test_anthropic_adaptive_thinking_option(connect, server) -> None:
    server.reply_text("ok")
    run_turn(connect("anthropic", thinking="adaptive"), [user("a")])
    assert server.last["thinking"] == {"type": "adaptive"}
