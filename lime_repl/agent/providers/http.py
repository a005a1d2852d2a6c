"""The HTTP layer every provider shares: one pre-serialized JSON POST, retried, streamed as server-sent events.

The providers speak their wire protocols directly over ``httpx2`` (the HTTP
client the official SDKs are built on) instead of going through the SDKs,
whose request path re-walks and re-validates the whole message list on every
turn and whose import alone costs most of a print turn. What the SDKs gave is
kept here:

* **Body**: :func:`encode_body` is ``json.dumps(body, ensure_ascii=False,
  separators=(",", ":"))`` over the top-level keys in the SDKs' order (given
  by the caller), so a transcript sends the same bytes as before.
* **Retries** (the rules of the ``openai`` / ``anthropic`` SDKs'
  ``_should_retry`` and ``_calculate_retry_timeout``): a response header
  ``x-should-retry: true|false`` decides when present; otherwise 408, 409,
  429 and 5xx are retried, as are connection errors and timeouts, up to
  ``max_retries`` times. The wait honours ``retry-after-ms`` and
  ``retry-after`` (seconds or an HTTP date) when between 0 and 60 s, else it
  is ``min(0.5 * 2**n, 8)`` seconds less up to 25 % jitter.
* **Errors**: a final status >= 400 becomes the typed error from
  :func:`~lime_repl.agent.providers.errors.from_status` with the API's error
  code and message; transport failures are left as ``httpx2`` exceptions for
  :func:`~lime_repl.agent.providers.errors.map_sdk_error`.

``httpx2`` is imported on the first request (or ``warm_up``), never at module import.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from lime_repl import __version__
from lime_repl.agent.providers.errors import from_status

#: The compact JSON encoder of request bodies and tool arguments (``separators=(",", ":")``, UTF-8 kept).
COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

__all__ = [
    "CHUNK_BYTES",
    "USER_AGENT",
    "decode_event",
    "encode_body",
    "encode_body_chunks",
    "make_client",
    "raise_stream_error",
    "retry_delay",
    "should_retry",
    "stream_events",
]

USER_AGENT = f"lime/{__version__}"
"""The ``User-Agent`` every request carries."""

_MAX_RETRY_AFTER = 60.0
_INITIAL_DELAY = 0.5
_MAX_DELAY = 8.0


#: The size of the pieces a request body is built and sent in (:func:`encode_body_chunks`).
CHUNK_BYTES = 1 << 20


def encode_body_chunks(
    body: dict[str, Any], first: tuple[str, ...] = (), sort_rest: bool = True, chunk: int = CHUNK_BYTES
) -> list[bytes]:
    """The request body as UTF-8 JSON in pieces of about ``chunk`` bytes: keys in ``first`` first, then
    the rest (sorted when ``sort_rest``); their concatenation is :func:`encode_body`'s bytes.

    A top-level value may also be an iterator (encoded as the JSON array of what it yields, each item
    dropped once encoded). Nested values keep their order. Compact separators and no ASCII escaping,
    as the SDKs serialize (``tests/data/requests/`` holds their bytes). Each
    list item of a top-level value is encoded on its own: one ``str`` of a whole
    30 MB body takes 4 bytes a character as soon as it holds one emoji (PEP 393),
    and the pieces are sent as they are (:func:`stream_events`), so the body is
    never joined into one ``bytes`` (which would hold it twice while joining).
    """
    rest = [k for k in body if k not in first]
    order = [k for k in first if k in body] + (sorted(rest) if sort_rest else rest)
    if not order:
        return [b"{}"]
    encode = COMPACT_JSON.encode
    chunks: list[bytes] = []
    pending: list[bytes] = []
    size = 0
    for index, key in enumerate(order):
        pending.append((b"{" if index == 0 else b",") + encode(key).encode("utf-8") + b":")
        value = body[key]
        if not (isinstance(value, list) and value or isinstance(value, Iterator)):
            pending.append(encode(value).encode("utf-8"))
            size += len(pending[-1])
            continue
        number = 0
        for number, item in enumerate(value, 1):  # noqa: B007 - counted for the empty iterator below
            piece = encode(item).encode("utf-8")
            pending.append((b"[" if number == 1 else b",") + piece)
            size += len(piece)
            if size >= chunk:
                chunks.append(b"".join(pending))
                pending.clear()
                size = 0
        pending.append(b"]" if number else b"[]")
    pending.append(b"}")
    chunks.append(b"".join(pending))
    return chunks


def encode_body(body: dict[str, Any], first: tuple[str, ...] = (), sort_rest: bool = True) -> bytes:
    """The request body as UTF-8 JSON bytes (:func:`encode_body_chunks` joined): ``json.dumps`` of the
    body with its keys in that order, compact, no ASCII escaping."""
    return b"".join(encode_body_chunks(body, first, sort_rest))


def make_client(timeout: float, connect_timeout: float, base_url: str = "") -> Any:
    """An ``httpx2.Client`` with the SDKs' timeouts (``timeout`` for reads, ``connect_timeout`` to connect).

    For a plain ``http://`` base URL (a local server) no TLS is ever negotiated,
    so no certificate store is loaded and redirects are not followed (one to
    ``https`` would go unverified); other URLs get the default verified TLS
    and follow redirects, as the SDKs do.
    """
    import httpx2

    timeouts = httpx2.Timeout(timeout, connect=connect_timeout)
    if base_url.lower().startswith("http://"):
        return httpx2.Client(timeout=timeouts, verify=False, follow_redirects=False)
    return httpx2.Client(timeout=timeouts, follow_redirects=True)


def should_retry(status: int | None, headers: Any) -> bool:
    """Whether a response (``status``; None for a transport failure) is worth another try."""
    flag = (headers.get("x-should-retry") if headers is not None else None) or ""
    if flag.lower() == "true":
        return True
    if flag.lower() == "false":
        return False
    return status is None or status in (408, 409, 429) or status >= 500


def retry_delay(retries_done: int, headers: Any) -> float:
    """Seconds to wait before the next try (``retries_done`` tries already retried)."""
    after = _retry_after(headers)
    if after is not None and 0 <= after <= _MAX_RETRY_AFTER:
        return after
    import random

    delay = min(_INITIAL_DELAY * 2.0**retries_done, _MAX_DELAY)
    return delay * (1 - 0.25 * random.random())


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return float(value) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def _error_fields(response: Any) -> tuple[str, str]:
    """(code, message) from an error response's JSON body (OpenAI or Anthropic shape), or its text."""
    try:
        raw = response.read()
    except Exception:  # noqa: BLE001 - a body we cannot read still has a status
        raw = b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        body = json.loads(text) if text else None
    except ValueError:
        return "", text
    if not isinstance(body, dict):
        return "", text
    error = body.get("error")
    inner: dict[str, Any] = error if isinstance(error, dict) else body
    code = inner.get("code") or inner.get("type") or ""
    message = inner.get("message") or (error if isinstance(error, str) else "") or ""
    return str(code), str(message)


def stream_events(
    client: Any,
    url: str,
    body: bytes | list[bytes],
    headers: dict[str, str],
    *,
    provider: str,
    key_env: str,
    max_retries: int,
) -> Iterator[tuple[str, str]]:
    """POST ``body`` (bytes, or the pieces of :func:`encode_body_chunks`, sent in turn with a
    ``Content-Length``) to ``url`` and yield each server-sent event as ``(event name, data)``.

    Retries per the module docstring before the first event; a status >= 400
    that is not retried raises the typed :class:`ProviderError`. Transport
    errors (``httpx2.TransportError``) propagate for the caller to map.
    """
    import httpx2

    sent = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **headers,
    }
    if isinstance(body, list):  # a list, not an iterator: a retry sends it again
        sent["Content-Length"] = str(sum(len(piece) for piece in body))
    retries = 0
    started = False
    while True:
        try:
            with client.stream("POST", url, content=body, headers=sent) as response:
                status = response.status_code
                if status >= 400:
                    if retries < max_retries and should_retry(status, response.headers):
                        wait = retry_delay(retries, response.headers)
                        response.close()
                        retries += 1
                        time.sleep(wait)
                        continue
                    code, message = _error_fields(response)
                    raise from_status(provider, status, code, message, key_env)
                for sse in httpx2.EventSource(response, max_event_size=None):
                    started = True
                    yield sse.event, sse.data
                return
        except httpx2.TransportError:
            if retries < max_retries and not started:
                time.sleep(retry_delay(retries, None))
                retries += 1
                continue
            raise


def decode_event(data: str) -> dict[str, Any] | None:
    """One server-sent event's ``data:`` payload as a dict; None for Chat Completions' ``[DONE]`` and for
    anything that is not a JSON object (the three providers' streams carry one JSON object an event)."""
    if data.startswith("[DONE]"):
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def raise_stream_error(provider: str, data: Any) -> None:
    """Raise the typed error for an error object sent inside a 200 stream (no HTTP status to report)."""
    inner = data.get("error") if isinstance(data, dict) else None
    inner = inner if isinstance(inner, dict) else (data if isinstance(data, dict) else {})
    code = str(inner.get("code") or inner.get("type") or "")
    message = str(inner.get("message") or "error in stream")
    raise from_status(provider, None, code, message)

