"""SDK failures become typed, one-line ProviderErrors."""

from __future__ import annotations

import socket

import pytest
from support.fake_providers import Reply
from support.provider_helpers import MODELS, PROVIDERS, run_turn, user

from lime_repl.agent.providers import (
    AuthError,
    BadModelError,
    ContextOverflowError,
    NetworkError,
    NoProviderError,
    ProviderError,
    RateLimitError,
    TextDelta,
    make_provider,
)
from lime_repl.agent.providers.errors import from_status, map_sdk_error
from lime_repl.errors import LimeError

KEY_ENV = {"openai": "OPENAI_API_KEY", "openai-responses": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize(
    ("status", "expected"),
    [(401, AuthError), (403, AuthError), (429, RateLimitError), (404, BadModelError), (500, ProviderError)],
)
def test_http_errors_map_to_typed_errors(connect, server, name: str, status: int, expected: type) -> None:
    server.reply_error(status)
    with pytest.raises(ProviderError) as info:
        run_turn(connect(name), [user("hi")])
    err = info.value
    assert type(err) is expected
    assert isinstance(err, LimeError) and err.exit_code == 1
    assert err.status == status and err.provider == name
    line = str(err)
    assert line.startswith(f"{name}: ") and "\n" not in line
    if status == 401:
        assert line == f"{name}: authentication failed (401): check {KEY_ENV[name]}"


@pytest.mark.parametrize("name", PROVIDERS)
def test_context_overflow_is_recognized(connect, server, name: str) -> None:
    server.reply_context_overflow()
    with pytest.raises(ContextOverflowError) as info:
        run_turn(connect(name), [user("a very long prompt")])
    assert "context window" in str(info.value)
    assert info.value.status == 400


@pytest.mark.parametrize("name", PROVIDERS)
def test_connection_refused_is_a_network_error(name: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}" + ("" if name == "anthropic" else "/v1")
    env = {
        "ANTHROPIC_BASE_URL": base,
        "OPENAI_BASE_URL": base,
        "ANTHROPIC_API_KEY": "k",
        "OPENAI_API_KEY": "k",
    }
    provider = make_provider(name, env, {"max_retries": 0, "connect_timeout": 2.0})
    with pytest.raises(NetworkError) as info:
        list(provider.stream("", [user("hi")], [], MODELS[name]))
    assert str(info.value) == f"{name}: cannot reach the server at {base}"


@pytest.mark.parametrize("name", PROVIDERS)
def test_error_in_the_middle_of_a_stream(connect, server, name: str) -> None:
    server.reply(Reply(text="partial answer", stream_error="upstream went away"))
    stream = connect(name).stream("", [user("hi")], [], MODELS[name])
    seen = []
    with pytest.raises(ProviderError) as info:
        for event in stream:
            seen.append(event)
    assert "".join(e.text for e in seen if isinstance(e, TextDelta)) == "partial answer"
    assert stream.partial() == [{"type": "text", "text": "partial answer"}]
    assert str(info.value).startswith(f"{name}: ") and "(200)" not in str(info.value)


@pytest.mark.parametrize("name", PROVIDERS)
def test_missing_key_is_an_auth_error_at_the_first_turn(name: str) -> None:
    provider = make_provider(name, {})
    with pytest.raises(AuthError, match=KEY_ENV[name]):
        next(iter(provider.stream("", [user("hi")], [], MODELS[name])))


@pytest.mark.parametrize("name", PROVIDERS)
def test_warm_up_without_a_key_does_not_raise(name: str) -> None:
    make_provider(name, {}).warm_up()


def test_unknown_provider_name() -> None:
    with pytest.raises(NoProviderError, match="unknown provider 'gemini'"):
        make_provider("gemini", {})
    with pytest.raises(NoProviderError, match="no model provider configured"):
        make_provider("", {})


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (
            400,
            "invalid_request_error",
            "prompt is too long: 210000 tokens > 200000 maximum",
            ContextOverflowError,
        ),
        (400, "", "This model's maximum context length is 8192 tokens", ContextOverflowError),
        (
            400,
            "exceed_context_size_error",
            "the request exceeds the available context size",
            ContextOverflowError,
        ),
        (None, "context_length_exceeded", "Your input exceeds the context window", ContextOverflowError),
        (404, "model_not_found", "The model `gpt-9` does not exist", BadModelError),
        (None, "rate_limit_exceeded", "slow down", RateLimitError),
        (429, "insufficient_quota", "You exceeded your current quota", RateLimitError),
        (529, "overloaded_error", "Overloaded", ProviderError),
        (400, "invalid_request_error", "messages: text content blocks must be non-empty", ProviderError),
    ],
)
def test_status_and_code_mapping(status, code, message, expected) -> None:
    err = from_status("p", status, code, message, "P_KEY")
    assert type(err) is expected


def test_map_passes_typed_errors_through_and_handles_os_errors() -> None:
    typed = AuthError("x")
    assert map_sdk_error(typed, "p") is typed
    assert isinstance(map_sdk_error(ConnectionRefusedError(), "p", base_url="http://h"), NetworkError)
    assert str(map_sdk_error(TimeoutError(), "p")) == "p: request timed out"


@pytest.mark.parametrize(("name", "cut"), [("openai-responses", 6), ("anthropic", 5)])
def test_a_stream_that_stops_early_is_a_network_error(connect, server, name: str, cut: int) -> None:
    server.reply(Reply(text=["Hello ", "there ", "again"], cut_after=cut))
    stream = connect(name).stream("", [user("hi")], [], MODELS[name])
    with pytest.raises(NetworkError, match="stream ended before"):
        list(stream)
    assert stream.partial() == [{"type": "text", "text": "Hello there "}]
