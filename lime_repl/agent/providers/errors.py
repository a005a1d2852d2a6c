"""Typed provider errors and the mapping from SDK exceptions to them.

Every failure of a model call reaches the agent loop as a :class:`ProviderError`
whose ``str()`` is one line a user can act on, e.g.
``openai: authentication failed (401): check OPENAI_API_KEY``. The classes
derive from :class:`lime_repl.errors.LimeError`, so the command line prints the
line and exits 1 without a traceback (DESIGN.md section 7).

The mapping (:func:`map_sdk_error`) works on the shape of the exception rather
than on SDK classes, so it covers the ``openai`` and ``anthropic`` SDKs alike
and never imports either:

* HTTP 401 / 403 -> :class:`AuthError`
* HTTP 429 -> :class:`RateLimitError`
* HTTP 404, or error code ``model_not_found`` -> :class:`BadModelError`
* HTTP 400 (or 413) whose code or message says the prompt does not fit
  (``context_length_exceeded``, "prompt is too long", "maximum context length",
  ...) -> :class:`ContextOverflowError`
* connection failures and timeouts -> :class:`NetworkError`
* anything else -> :class:`ProviderError` with the status and the API's message.
"""

from __future__ import annotations

import re
from typing import Any

from lime_repl.errors import LimeError

__all__ = [
    "AuthError",
    "BadModelError",
    "ContextOverflowError",
    "NetworkError",
    "NoProviderError",
    "ProviderError",
    "RateLimitError",
    "from_status",
    "is_context_overflow",
    "map_sdk_error",
]

# Wording used by OpenAI, Anthropic and the common OpenAI-compatible servers
# (vLLM, llama.cpp server, Ollama, LM Studio) when the prompt does not fit.
_OVERFLOW_RE = re.compile(
    r"context_length_exceeded|context length|maximum context|prompt is too long|"
    r"context window|context size|exceed_context_size|input is too long|"
    r"too many tokens|reduce the length of the messages",
    re.IGNORECASE,
)


class ProviderError(LimeError):
    """A model call failed; ``str(err)`` is one user-facing line.

    Attributes: ``provider`` (e.g. ``"openai"``), ``status`` (HTTP status or
    None), ``detail`` (the API's own message, possibly long, for the log).
    """

    def __init__(
        self, message: str, *, provider: str = "", status: int | None = None, detail: str = ""
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.detail = detail


class AuthError(ProviderError):
    """The API key is missing, wrong or lacks permission (HTTP 401/403)."""


class RateLimitError(ProviderError):
    """Too many requests or tokens per minute, or quota exhausted (HTTP 429)."""


class ContextOverflowError(ProviderError):
    """The prompt does not fit the model's context window; the loop compacts and retries once."""


class NetworkError(ProviderError):
    """The server could not be reached, the connection dropped, or the request timed out."""


class BadModelError(ProviderError):
    """The model does not exist or the key has no access to it (HTTP 404 / model_not_found)."""


class NoProviderError(ProviderError):
    """No provider is configured, or the provider name is unknown."""


def is_context_overflow(text: str) -> bool:
    """True when an error code or message says the prompt exceeded the context window."""
    return bool(text) and _OVERFLOW_RE.search(text) is not None


def _short(text: str, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _body_error(body: Any) -> tuple[str, str]:
    """(code, message) from an error body: OpenAI ``{"error": {...}}``, Anthropic ``{"type": "error", "error": {...}}``, or the inner object."""
    if not isinstance(body, dict):
        return "", str(body or "")
    error = body.get("error")
    inner: dict[str, Any] = error if isinstance(error, dict) else body
    code = inner.get("code") or inner.get("type") or ""
    message = inner.get("message") or ""
    return str(code), str(message)


def _is_transport_error(exc: BaseException) -> bool:
    """Connection errors from the SDKs (APIConnectionError, APITimeoutError) or raw httpx transports."""
    for cls in type(exc).__mro__:
        if cls.__name__ in ("APIConnectionError", "APITimeoutError", "TransportError", "TimeoutException"):
            return True
    return isinstance(exc, ConnectionError | TimeoutError)


def from_status(
    provider: str, status: int | None, code: str, message: str, key_env: str = ""
) -> ProviderError:
    """Build the typed error for an HTTP status plus the API's error code and message."""
    detail = f"{code}: {message}" if code else message
    where = f" ({status})" if status else ""
    text = f"{code} {message}"
    if status in (401, 403) or code in ("authentication_error", "permission_error", "invalid_api_key"):
        hint = f": check {key_env}" if key_env else ""
        return AuthError(
            f"{provider}: authentication failed{where}{hint}", provider=provider, status=status, detail=detail
        )
    if status == 429 or code in ("rate_limit_exceeded", "rate_limit_error", "insufficient_quota"):
        what = "quota exhausted" if code == "insufficient_quota" else "rate limited"
        return RateLimitError(
            f"{provider}: {what}{where}: {_short(message, 120) or 'try again shortly'}",
            provider=provider,
            status=status,
            detail=detail,
        )
    if is_context_overflow(text) and status in (None, 400, 413, 422, 500):
        return ContextOverflowError(
            f"{provider}: the conversation is too long for the model's context window{where}",
            provider=provider,
            status=status,
            detail=detail,
        )
    if status == 404 or code in ("model_not_found", "not_found_error"):
        return BadModelError(
            f"{provider}: model not found{where}: {_short(message, 120) or 'check the model name'}",
            provider=provider,
            status=status,
            detail=detail,
        )
    if status in (529, 503) or code == "overloaded_error":
        return ProviderError(
            f"{provider}: the service is overloaded{where}: try again shortly",
            provider=provider,
            status=status,
            detail=detail,
        )
    return ProviderError(
        f"{provider}: request failed{where}: {_short(message) or code or 'unknown error'}",
        provider=provider,
        status=status,
        detail=detail,
    )


def map_sdk_error(exc: BaseException, provider: str, key_env: str = "", base_url: str = "") -> ProviderError:
    """Translate an exception raised by the ``openai`` or ``anthropic`` SDK into a :class:`ProviderError`.

    ``key_env`` names the environment variable to mention on auth failures;
    ``base_url`` is named on network failures. Already-typed errors pass through.
    """
    if isinstance(exc, ProviderError):
        return exc
    if _is_transport_error(exc):
        timeout = "Timeout" in type(exc).__name__ or isinstance(exc, TimeoutError)
        what = "request timed out" if timeout else "cannot reach the server"
        where = f" at {base_url}" if base_url else ""
        return NetworkError(f"{provider}: {what}{where}", provider=provider, detail=str(exc))
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    code, message = _body_error(body)
    code = code or str(getattr(exc, "code", None) or "")
    message = message or str(getattr(exc, "message", "") or exc)
    if status is None and isinstance(body, dict) and not code:
        code = str(body.get("type") or "")
    # Errors sent inside a 200 stream (Anthropic ``event: error``) carry the stream's status; drop it.
    http_status = status if isinstance(status, int) and status >= 400 else None
    return from_status(provider, http_status, code, message, key_env)
