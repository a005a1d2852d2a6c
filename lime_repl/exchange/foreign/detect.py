"""Format detection helpers for ``lime import``: one-document formats and what a refused file looked like.

:func:`document` parses data that is one JSON document (not JSONL) for the
readers of one-document formats (Gemini CLI chat recordings); :func:`describe`
says in a few words what a file lime cannot read looked like, for the refusal
message, and :data:`FORMATS` names every format lime reads.
"""

from __future__ import annotations

from typing import Any

from ..guard import decode_text, loads

__all__ = ["FORMATS", "describe", "document"]

FORMATS = (
    "lime jsonl/json/zip, pi, Claude Code, Codex, Kimi (kimi-cli, kimi-code) and Gemini CLI session logs,"
    " opencode export JSON and aider chat histories"
)


def document(data: bytes, name: str) -> Any:
    """The value of ``data`` when it is one JSON document spanning several lines, else None."""
    body = data.lstrip()
    if body[:1] not in (b"{", b"["):
        return None
    first, _, rest = body.partition(b"\n")
    if rest.strip():
        try:
            loads(first.decode("utf-8", "replace"), name)
            return None  # the first line is a whole record: JSONL
        except ValueError:
            pass
    try:
        return loads(decode_text(data, name), name)
    except ValueError:
        return None


def _short(value: Any) -> str:
    """A value as a short one-line ``repr`` (newlines and control characters escaped)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        kind = value.get("type")
        if isinstance(kind, str):
            return f"type {_short(kind)}"
        keys = ", ".join(_short(str(k)).strip("'\"") for k in sorted(str(k) for k in value)[:6])
        return f"keys {keys}" if keys else "an empty object"
    return type(value).__name__ if value is not None else "null"


def describe(data: bytes, records: list[tuple[int, Any]], value: Any = None) -> str:
    """A few words on what the data looked like: ``one JSON document with keys a, b``, ``12 JSON lines …``."""
    if value is not None:
        return f"one JSON document ({_shape(value)})"
    if records:
        shapes = list(dict.fromkeys(_shape(v) for _, v in records[:5]))
        lines = "1 JSON line" if len(records) == 1 else f"{len(records)} JSON lines"
        return f"{lines}, the first with {', '.join(shapes[:3])}"
    text = data[:200].decode("utf-8", "replace").strip().splitlines()
    first = text[0][:60] if text else ""
    return f"text that is not JSON, starting {first!r}"
