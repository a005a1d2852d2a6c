"""JSON-RPC 2.0 framing for ``lime bridge``: lines in, requests out, responses and notifications back.

The transport is DESIGN.md section 4c: one JSON object per line on stdin and
stdout, lines split on LF (``b"\\n"``) only. Input is read as bytes, so a
U+2028, U+2029 or NEL inside a string never splits a request; a trailing
``\\r`` is JSON whitespace and is accepted. Output is compact UTF-8 JSON in
which U+2028, U+2029 and U+0085 are escaped as well, so that a client that
splits lines on more than LF (``str.splitlines``, some readline libraries)
still sees one message per line.

Message rules follow the JSON-RPC 2.0 specification (https://www.jsonrpc.org/specification):

* a line that is not JSON (or not UTF-8) is answered with -32700 and ``id: null``;
* JSON that is not a request object (no ``"jsonrpc": "2.0"``, no string
  ``method``, ``params`` neither object nor array, an ``id`` that is not a
  string, number or null) is answered with -32600;
* a request without ``id`` is a notification and is never answered;
* a batch (a JSON array) is answered with an array of the responses to its
  requests (none when all are notifications); an empty array gets one -32600.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ..store.entry_guard import repair_text

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "LineWriter",
    "Request",
    "RpcError",
    "check_params",
    "encode",
    "error_response",
    "parse_line",
    "read_lines",
    "result_response",
]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

_NO_ID: Any = object()
_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}


class RpcError(Exception):
    """A JSON-RPC error object: ``code`` (int), ``message`` (one line) and optional ``data``."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


@dataclass
class Request:
    """One request of a line (or of a batch).

    ``id`` is the request id (str, int, float or None); ``notification`` is
    True when the request had no ``id`` member at all, so no response is due.
    ``error`` is set instead of ``method`` when the element was not a valid
    request; it is answered with ``id`` (null when the id was unusable).
    """

    id: Any = None
    method: str = ""
    params: dict[str, Any] | list[Any] = field(default_factory=dict)
    notification: bool = False
    error: RpcError | None = None


def encode(message: Mapping[str, Any] | list[Any]) -> bytes:
    """One output line: compact valid UTF-8 JSON with U+2028/U+2029/U+0085 escaped, ending in ``\\n``.

    A lone surrogate anywhere in ``message`` (e.g. echoed from a request's
    ``\\udcff`` escape) is written as U+FFFD, never as invalid UTF-8.
    """
    text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
    if any(ch in text for ch in _LINE_BREAKS):
        for raw, escaped in _LINE_BREAKS.items():
            text = text.replace(raw, escaped)
    text += "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return repair_text(text).encode("utf-8")


def result_response(request_id: Any, result: Any) -> dict[str, Any]:
    """The success response ``{"jsonrpc": "2.0", "id": …, "result": …}``."""
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_response(request_id: Any, error: RpcError) -> dict[str, Any]:
    """The error response ``{"jsonrpc": "2.0", "id": …, "error": {code, message[, data]}}``."""
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


def read_lines(stream: BinaryIO) -> Iterator[bytes]:
    """The lines of ``stream`` split on ``b"\\n"`` only (a last line without LF included)."""
    while True:
        raw = stream.readline()
        if not raw:
            return
        yield raw


def _request(value: Any) -> Request:
    if not isinstance(value, dict):
        return Request(
            error=RpcError(INVALID_REQUEST, f"a request must be a JSON object, not {_kind(value)}")
        )
    request_id = value.get("id", _NO_ID)
    notification = request_id is _NO_ID
    if notification:
        request_id = None
    elif request_id is not None and (
        isinstance(request_id, bool) or not isinstance(request_id, (str, int, float))
    ):
        return Request(error=RpcError(INVALID_REQUEST, "'id' must be a string, a number or null"))
    if value.get("jsonrpc") != "2.0":
        return Request(request_id, error=RpcError(INVALID_REQUEST, "'jsonrpc' must be \"2.0\""))
    method = value.get("method")
    if not isinstance(method, str) or not method:
        return Request(request_id, error=RpcError(INVALID_REQUEST, "'method' must be a non-empty string"))
    params = value.get("params", {})
    if not isinstance(params, (dict, list)):
        return Request(request_id, error=RpcError(INVALID_REQUEST, "'params' must be an object or an array"))
    return Request(request_id, method, params, notification)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def parse_line(raw: bytes) -> tuple[list[Request], bool] | None:
    """The requests of one input line and whether it was a batch; None for a blank line.

    A line that is not UTF-8 JSON gives one :class:`Request` carrying a
    -32700 error; an empty batch gives one carrying -32600.
    """
    if not raw.strip():
        return None
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else "not valid JSON"
        return [Request(error=RpcError(PARSE_ERROR, f"parse error: the line is {reason}"))], False
    if isinstance(value, list):
        if not value:
            return [Request(error=RpcError(INVALID_REQUEST, "an empty batch"))], False
        return [_request(item) for item in value], True
    return [_request(value)], False


_TYPE_NAMES = {str: "a string", bool: "a boolean", int: "an integer", type(None): "null"}


def check_params(
    params: dict[str, Any] | list[Any],
    required: Mapping[str, tuple[type, ...]] | None = None,
    optional: Mapping[str, tuple[type, ...]] | None = None,
) -> dict[str, Any]:
    """Validate by-name ``params`` against the allowed types; returns them with absent optionals as None.

    Raises :class:`RpcError` -32602 for positional params, a missing or
    unknown member, or a value of the wrong type (``bool`` never passes as
    ``int``).
    """
    required = required or {}
    optional = optional or {}
    if not isinstance(params, dict):
        raise RpcError(INVALID_PARAMS, "params must be an object (by-name parameters)")
    for name in params:
        if name not in required and name not in optional:
            raise RpcError(INVALID_PARAMS, f"unknown parameter '{name}'")
    checked: dict[str, Any] = {}
    for name, types in [*required.items(), *optional.items()]:
        if name not in params:
            if name in required:
                raise RpcError(INVALID_PARAMS, f"missing parameter '{name}'")
            checked[name] = None
            continue
        value = params[name]
        wrong_bool = isinstance(value, bool) and bool not in types
        if wrong_bool or not isinstance(value, types):
            wanted = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
            raise RpcError(INVALID_PARAMS, f"parameter '{name}' must be {wanted}")
        checked[name] = value
    return checked


class LineWriter:
    """Writes whole messages to a binary stream, one line each, under a lock (any thread may send).

    ``closed`` becomes True once the stream refuses a write (the client hung
    up); later sends are dropped.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.closed = False

    def send(self, message: Mapping[str, Any] | list[Any]) -> None:
        data = encode(message)
        with self._lock:
            if self.closed:
                return
            try:
                self._stream.write(data)
                self._stream.flush()
            except (OSError, ValueError):
                self.closed = True

    def notify(self, method: str, params: Mapping[str, Any]) -> None:
        """Send a notification (a request without ``id``)."""
        self.send({"jsonrpc": "2.0", "method": method, "params": dict(params)})
