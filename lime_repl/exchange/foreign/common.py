"""What every reader of another tool's log shares: the result shape and value coercion.

A reader turns parsed records into an :class:`Imported`: lime entries with
ids, parents and timestamps already set, ready for
:meth:`~lime_repl.store.session.Session.append_copy`. The rules all readers
follow:

* records that map onto lime entries (messages, compactions, model changes,
  titles, labels) become those entries, keeping the source's timestamps;
* every other record, and every record of an unknown type, is kept whole as
  a ``custom`` entry ``{"customType": "<tool>:<record type>", "data": record}``
  (Pi's shape for extension state), so nothing is dropped; ``custom`` entries
  are not part of what the model is sent;
* entry ids are the source's when they are 8 lowercase hex and unused,
  otherwise fresh ones; parents given as source ids are remapped at the end,
  so a child may come before its parent in the file (the entry builder:
  :class:`~.builder.Builder`);
* reasoning blocks keep the source's opaque data but are tagged with the
  source tool as ``provider``, so no provider ever replays foreign state.

Readers must accept any JSON shape without raising anything but
:class:`~lime_repl.exchange.guard.ImportRefused`; :func:`as_dict`,
:func:`as_list` and :func:`as_str` make that easy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ...store.records import Entry
from ..guard import loads

__all__ = [
    "Imported",
    "as_dict",
    "as_list",
    "as_str",
    "flatten_text",
    "parse_arguments",
    "to_rfc3339",
    "usage_of",
]


@dataclass
class Imported:
    """A session read from a file, before anything is written.

    ``entries`` are complete lime entries in the order to append them.
    ``leaf_id`` is the entry the conversation continues from (None: the last
    node appended). ``system_prompt`` is None for foreign logs: the importer
    then builds lime's own, and the source's prompt stays in a custom entry.
    ``more`` holds the other sessions of a file that holds several (aider's
    chat history), each written as a session of its own.
    """

    tool: str
    source_id: str | None
    path: str
    entries: list[Entry] = field(default_factory=list)
    system_prompt: str | None = None
    title: str | None = None
    cwd: str | None = None
    created: str | None = None
    leaf_id: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    more: list[Imported] = field(default_factory=list)


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def to_rfc3339(value: Any) -> str | None:
    """A timestamp as RFC 3339 UTC with milliseconds, or None when it is not one.

    Accepts ISO 8601 strings (``Z``, an offset, or none: taken as UTC), Unix
    seconds (int or float) and Unix milliseconds (numbers above 10^11).
    """
    moment: datetime | None = None
    if isinstance(value, str) and len(value) == 24 and value[23] == "Z" and value[19] == ".":
        try:  # already lime's form (Claude Code's own): checked, not re-formatted
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return value if value[10] == "T" else to_rfc3339(value[:-1])
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            seconds = value / 1000 if abs(value) > 1e11 else value
            moment = datetime.fromtimestamp(float(seconds), UTC)
        elif isinstance(value, str) and 10 <= len(value) <= 40:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_arguments(raw: Any, where: str) -> dict[str, Any]:
    """Tool-call arguments as the dict lime's ``tool_use.input`` holds.

    A dict is kept; a string holding a JSON object is parsed; anything else
    is kept under ``{"arguments": raw}``. Deep nesting raises ImportRefused.
    """
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            value = loads(raw, where) if raw.strip() else {}
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
    return {"arguments": raw}


def flatten_text(content: Any) -> str:
    """Text of a content value (a string or a list of parts): text parts joined by newlines.

    Parts that are not text are shown by their type (``[image]``), so a tool
    result always has the string content lime's ``tool_result`` holds.
    """
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    parts: list[str] = []
    for part in as_list(content):
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict):
            text = part.get("text", part.get("output_text"))
            if isinstance(text, str):
                parts.append(text)
            else:
                parts.append(f"[{as_str(part.get('type'), 'part')}]")
        elif part is not None:
            parts.append(json.dumps(part, ensure_ascii=False))
    return "\n".join(parts)


def usage_of(
    raw: Any,
    *,
    input_keys: tuple[str, ...],
    output_keys: tuple[str, ...],
    cache_read_keys: tuple[str, ...] = (),
    cache_write_keys: tuple[str, ...] = (),
) -> dict[str, Any] | None:
    """lime's usage shape ``{input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, raw}``."""
    data = as_dict(raw)
    if not data:
        return None

    def total(keys: tuple[str, ...]) -> int:
        return sum(v for k in keys if isinstance(v := data.get(k), int) and not isinstance(v, bool))

    return {
        "input_tokens": total(input_keys),
        "output_tokens": total(output_keys),
        "cache_read_tokens": total(cache_read_keys),
        "cache_write_tokens": total(cache_write_keys),
        "raw": data,
    }
