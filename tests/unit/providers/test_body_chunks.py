"""A large request body is built and sent in pieces, and arrives byte for byte as ``json.dumps`` of it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.fake_providers import Reply
from support.provider_helpers import MODELS, PROVIDERS, TOOLS, run_turn

from lime_repl.agent.providers.http import CHUNK_BYTES, encode_body, encode_body_chunks


def _conversation(turns: int, size: int) -> list[dict[str, Any]]:
    """Tool rounds with results of ``size`` characters (ASCII, accents, emoji, a line separator)."""
    messages: list[dict[str, Any]] = []
    for i in range(turns):
        result = (f"{i} é😀\u2028\"\\ " * (size // 12))[:size]
        messages += [
            {"role": "user", "content": [{"type": "text", "text": f"question {i}"}]},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": f"call{i}", "name": "bash", "input": {"command": f"ls {i}"}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"call{i}", "content": result}]},
            {"role": "assistant", "content": [{"type": "text", "text": f"answer {i}"}]},
        ]
    return messages


def test_the_pieces_join_to_json_dumps_of_the_body() -> None:
    body = {"stream": True, "model": "m", "messages": _conversation(60, 50_000), "tools": [], "extra": {"a": [1]}}
    order = ["model", "stream", "messages", "extra", "tools"]
    expected = json.dumps({k: body[k] for k in order}, ensure_ascii=False, separators=(",", ":")).encode()
    chunks = encode_body_chunks(body, ("model", "stream", "messages"))
    assert b"".join(chunks) == expected == encode_body(body, ("model", "stream", "messages"))
    assert len(expected) > 3 * CHUNK_BYTES and len(chunks) >= 3
    assert all(len(chunk) < CHUNK_BYTES + 200_000 for chunk in chunks)  # about a MiB each, never the whole
    assert encode_body_chunks({}) == [b"{}"] and encode_body_chunks({"a": []}) == [b'{"a":[]}']


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_body_sent_in_pieces_arrives_whole_with_its_length(connect, server, name: str) -> None:
    messages = _conversation(40, 60_000)
    provider = connect(name, max_retries=1)
    expected = provider.request_body("You are terse.", messages, TOOLS, MODELS[name], None)  # type: ignore[attr-defined]
    assert len(expected) > 2 * CHUNK_BYTES
    server.reply(Reply(status=500, retry=True)).reply_text("done")  # the retry sends the pieces again
    _, end = run_turn(provider, messages)
    assert end.content == [{"type": "text", "text": "done"}]
    assert [call.raw for call in server.calls] == [expected, expected]
    for call in server.calls:
        headers = {k.lower(): v for k, v in call.headers.items()}
        assert headers["content-length"] == str(len(expected)) and "transfer-encoding" not in headers


def test_an_owned_message_list_is_emptied_as_its_body_is_built(connect) -> None:
    from lime_repl.agent.providers.blocks import OwnedMessages

    provider = connect("openai")
    messages = _conversation(30, 40_000)
    expected = provider.request_body("You are terse.", messages, TOOLS, MODELS["openai"], None)
    assert len(messages) == 120  # a plain list is left as it was
    owned = OwnedMessages(messages)
    chunks = provider.request_chunks("You are terse.", owned, TOOLS, MODELS["openai"], None)
    assert b"".join(chunks) == expected and owned == [] and len(messages) == 120
    empty = provider.request_chunks("", OwnedMessages(), [], MODELS["openai"], None)
    assert json.loads(b"".join(empty))["messages"] == []
