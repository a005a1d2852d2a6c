"""The HTTP layer: retries with backoff, error mapping, and request bodies byte-identical to the SDKs'."""

from __future__ import annotations

import email.utils
import socket
import time
from pathlib import Path

import pytest
from support.fake_providers import Reply
from support.provider_helpers import MODELS, PROVIDERS, TOOLS, run_turn, user
from support.request_transcript import CASES, SYSTEM, TRANSCRIPT

from lime_repl.agent.providers import (
    AuthError,
    ContextOverflowError,
    NetworkError,
    ProviderError,
    RateLimitError,
    make_provider,
)
from lime_repl.agent.providers.http import retry_delay, should_retry

REQUESTS = Path(__file__).resolve().parents[2] / "data" / "requests"


@pytest.mark.parametrize("name", PROVIDERS)
def test_429_with_retry_after_is_retried_then_answered(connect, server, name: str) -> None:
    server.reply(Reply(status=429, retry=True)).reply_text("after the wait")
    _, end = run_turn(connect(name, max_retries=2), [user("hi")])
    assert end.content == [{"type": "text", "text": "after the wait"}]
    assert len(server.requests) == 2
    assert server.calls[0].raw == server.calls[1].raw  # the same body, sent again


@pytest.mark.parametrize("name", PROVIDERS)
def test_5xx_is_retried_but_not_past_max_retries(connect, server, name: str) -> None:
    server.reply(Reply(status=500, retry=True)).reply(Reply(status=503, retry=True)).reply_text("late")
    with pytest.raises(ProviderError) as info:
        run_turn(connect(name, max_retries=1), [user("hi")])
    assert info.value.status == 503
    assert len(server.requests) == 2 and server.pending() == 1


@pytest.mark.parametrize("name", PROVIDERS)
def test_x_should_retry_false_is_honoured(connect, server, name: str) -> None:
    server.reply_error(429).reply_text("never fetched")
    with pytest.raises(RateLimitError):
        run_turn(connect(name, max_retries=3), [user("hi")])
    assert len(server.requests) == 1 and server.pending() == 1


@pytest.mark.parametrize("name", PROVIDERS)
def test_401_is_not_retried_and_names_the_key(connect, server, name: str) -> None:
    server.reply(Reply(status=401, retry=True)).reply_text("never fetched")
    with pytest.raises(AuthError) as info:
        run_turn(connect(name, max_retries=3), [user("hi")])
    key = "ANTHROPIC_API_KEY" if name == "anthropic" else "OPENAI_API_KEY"
    assert str(info.value) == f"{name}: authentication failed (401): check {key}"
    assert len(server.requests) == 1


@pytest.mark.parametrize("name", PROVIDERS)
def test_400_context_overflow_is_typed(connect, server, name: str) -> None:
    server.reply_context_overflow()
    with pytest.raises(ContextOverflowError) as info:
        run_turn(connect(name, max_retries=3), [user("long")])
    assert str(info.value) == f"{name}: the conversation is too long for the model's context window (400)"
    assert len(server.requests) == 1


@pytest.mark.parametrize("name", PROVIDERS)
def test_refused_connection_is_retried_then_a_network_error(name: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}" + ("" if name == "anthropic" else "/v1")
    env = {"ANTHROPIC_BASE_URL": base, "OPENAI_BASE_URL": base, "ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k"}
    provider = make_provider(name, env, {"max_retries": 1, "connect_timeout": 2.0})
    started = time.monotonic()
    with pytest.raises(NetworkError) as info:
        list(provider.stream("", [user("hi")], [], MODELS[name]))
    assert str(info.value) == f"{name}: cannot reach the server at {base}"
    assert time.monotonic() - started >= 0.3  # one backoff wait (0.5 s less up to 25 % jitter)


@pytest.mark.parametrize("case", sorted(CASES))
def test_request_body_is_byte_identical_to_the_sdk_s(connect, server, case: str) -> None:
    name, options, max_tokens = CASES[case]
    server.reply_text("ok")
    list(connect(name, **options).stream(SYSTEM, TRANSCRIPT, TOOLS, MODELS[name], max_tokens))
    assert server.calls[-1].raw == (REQUESTS / f"{case}.json").read_bytes()


@pytest.mark.parametrize("name", PROVIDERS)
def test_headers_match_the_sdk_s(connect, server, name: str) -> None:
    server.reply_text("ok")
    run_turn(connect(name), [user("hi")])
    headers = {k.lower(): v for k, v in server.calls[-1].headers.items()}
    assert headers["authorization"] == "Bearer test-key"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("lime/")
    assert ("anthropic-version" in headers) == (name == "anthropic")


def test_retry_delay_honours_retry_after_and_backs_off() -> None:
    assert retry_delay(0, {"retry-after": "2"}) == 2.0
    assert retry_delay(0, {"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_delay(0, {"retry-after": date}) <= 31
    for done, top in ((0, 0.5), (1, 1.0), (2, 2.0), (6, 8.0)):
        wait = retry_delay(done, {"retry-after": "3600"})  # over a minute: ignored
        assert 0.75 * top <= wait <= top
    assert should_retry(None, {}) and should_retry(429, {}) and should_retry(502, {})
    assert not should_retry(400, {}) and not should_retry(429, {"x-should-retry": "false"})
    assert should_retry(400, {"x-should-retry": "true"})
