"""The fake provider server itself: non-streaming bodies, model lists, defaults, recording."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from support.fake_providers import FakeProviderServer, Reply


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_non_streaming_replies_parse_with_the_sdks(server: FakeProviderServer) -> None:
    import anthropic
    import openai

    server.reply_text("chat").reply_tool_call("bash", {"command": "ls"}).reply_text("claude")
    client = openai.OpenAI(api_key="k", base_url=server.openai_base_url, max_retries=0)
    chat = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert chat.choices[0].message.content == "chat" and chat.usage.prompt_tokens > 0
    response = client.responses.create(model="m", input="hi")
    call = response.output[0]
    assert call.type == "function_call" and json.loads(call.arguments) == {"command": "ls"}
    claude = anthropic.Anthropic(api_key="k", base_url=server.url, max_retries=0)
    message = claude.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == "claude" and message.stop_reason == "end_turn"
    assert [c.path for c in server.calls] == ["/v1/chat/completions", "/v1/responses", "/v1/messages"]
    assert server.requests[0]["messages"] == [{"role": "user", "content": "hi"}]


def test_model_lists_in_both_shapes(server: FakeProviderServer) -> None:
    import anthropic
    import openai

    ids = [m.id for m in openai.OpenAI(api_key="k", base_url=server.openai_base_url).models.list()]
    assert ids == server.models
    claude = anthropic.Anthropic(api_key="k", base_url=server.url)
    assert [m.id for m in claude.models.list()] == server.models


def test_empty_queue_default_and_errors() -> None:
    with FakeProviderServer(default=Reply(text="always")) as server:
        status, body = _post(server.openai_base_url + "/chat/completions", {"model": "m", "messages": []})
        assert status == 200 and body["choices"][0]["message"]["content"] == "always"
    with FakeProviderServer() as server:
        status, body = _post(server.openai_base_url + "/chat/completions", {"model": "m", "messages": []})
        assert status == 500 and "no scripted reply left" in body["error"]["message"]
        server.reply_error(429, "slow down")
        status, body = _post(server.url + "/v1/messages", {"model": "m", "messages": []})
        assert status == 429 and body["error"] == {"type": "rate_limit_error", "message": "slow down"}
        assert server.pending() == 0 and len(server.requests) == 2
        assert server.calls[-1].headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("provider", ["openai", "openai-responses", "anthropic"])
def test_env_points_lime_at_the_server(server: FakeProviderServer, provider: str) -> None:
    env = server.env(provider, model="m1")
    assert env["LIME_PROVIDER"] == provider and env["LIME_MODEL"] == "m1"
    assert any(v.startswith(server.url) for v in env.values())
