"""Entry records of the session log and their compact serialization (DESIGN.md section 3).

An entry is a plain ``dict`` decoded from one JSON line. Plain dicts keep
unknown entry types and unknown fields untouched (forward compatibility), and
:func:`dumps` is the one canonical serializer: compact separators, UTF-8
(``ensure_ascii=False``), one ``\\n``-terminated line. Loading a line written by
lime and dumping it again gives the same bytes.

The entry shapes follow the tree format of Pi's session log (v3): every entry
has ``type``, ``id`` (8 hex), ``parentId`` and ``timestamp`` (RFC 3339 UTC, ms).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Container, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .entry_guard import cap_title, repair_text
from .shapes import (
    BASH_TAGS,
    TripleRole,
    output_facts,
    shell_fields,
    text_of,
    tool_names,
    triple_part,
    triple_role,
    unwrap_tag,
)

if TYPE_CHECKING:  # the shapes, for the type checker; at run time :func:`__getattr__` loads them
    from .record_types import (
        CheckpointEntry,
        CompactionEntry,
        MessageEntry,
        SessionHeader,
        ShellFields,
        TextBlock,
    )

__all__ = [
    "FORMAT_VERSION",
    "META_TYPES",
    "BASH_TAGS",
    "BadRecord",
    "CheckpointEntry",
    "CompactionEntry",
    "Entry",
    "MessageEntry",
    "SessionHeader",
    "ShellFields",
    "TextBlock",
    "TripleRole",
    "bash_triple",
    "checkpoint",
    "decode_line",
    "dumps",
    "is_tree_node",
    "new_entry_id",
    "new_session_id",
    "now_rfc3339",
    "output_facts",
    "parse_line",
    "session_header",
    "shell_fields",
    "text_of",
    "tool_names",
    "triple_part",
    "triple_role",
    "unwrap_tag",
]

FORMAT_VERSION = 1

Entry = dict[str, Any]
"""An entry as read or written: a plain dict, so unknown types and fields pass through untouched.

The TypedDicts of :mod:`.record_types` give the shapes lime writes (DESIGN.md section 3); the
builders of this module fill them, so a misspelt or mistyped field is a type error, and return
plain entries. They load at their first run-time use (:func:`__getattr__`): type annotations only.
"""

#: The TypedDicts this module names (defined in :mod:`.record_types`).
_SHAPES = frozenset(
    {"CheckpointEntry", "CompactionEntry", "MessageEntry", "SessionHeader", "ShellFields", "TextBlock"}
)


def __getattr__(name: str) -> Any:
    """The TypedDicts of :mod:`.record_types`, loaded at first use (PEP 562)."""
    if name in _SHAPES:
        from . import record_types

        return getattr(record_types, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Entry types that annotate the tree without becoming the leaf when appended.
META_TYPES = frozenset({"session", "checkpoint", "leaf", "title", "label", "retention"})

#: Entry types written by lime that are conversation nodes (they become the leaf).
NODE_TYPES = frozenset(
    {"message", "compaction", "microcompaction", "branch_summary", "model_change", "system_prompt"}
)


class BadRecord(ValueError):
    """A line that is not a JSON object with a string ``type``; the message says why."""


def now_rfc3339() -> str:
    """The current UTC time as RFC 3339 with milliseconds, e.g. ``2026-11-23T23:43:45.123Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_session_id() -> str:
    """A random session id: uuid4 as 32 lowercase hex characters."""
    return uuid.uuid4().hex


def new_entry_id(taken: Container[str] = ()) -> str:
    """A random 8-hex entry id not in ``taken``."""
    while True:
        candidate = os.urandom(4).hex()  # secrets.token_hex(4), without its import
        if candidate not in taken:
            return candidate


def dumps(entry: Entry) -> bytes:
    """Serialize one entry as its log line: compact JSON, valid UTF-8, ending in ``\\n``.

    The bytes are always valid UTF-8: a lone surrogate in a string (an
    undecodable byte read with ``surrogateescape``, a JSON ``\\udcff``
    escape) is written as U+FFFD (see :func:`~lime_repl.store.entry_guard.repair_text`).
    Raises ``TypeError``/``ValueError`` for values JSON cannot hold.
    """
    text = json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return repair_text(text).encode("utf-8")


def parse_line(raw: bytes) -> Entry:
    """Decode one log line (with or without its ``\\n``) into an entry.

    Raises :class:`BadRecord` when the bytes are not UTF-8 JSON, not an object,
    or have no string ``type``. Unknown types and fields are kept as they are.
    The result is what ``json.loads(raw)`` gives: a line that opens with ``{``
    and no NUL byte is UTF-8 to ``json.loads`` (its ``detect_encoding``) and is
    decoded the same way (``surrogatepass``) by the C scanner ``json.loads``
    itself ends in, without its Python frames; any other line, and any line
    that fails there, goes through ``json.loads`` for its exact error.
    """
    if len(raw) >= 4 and raw[0] == 0x7B and raw[1]:
        try:
            text = raw.decode("utf-8", "surrogatepass")
            value, end = _SCAN(text, 0)
        except (StopIteration, ValueError, RecursionError):
            pass  # json.loads below names the error
        else:
            if end == len(text) or not text[end:].strip(_JSON_SPACE):
                if isinstance(value.get("type"), str):
                    return value  # type: ignore[no-any-return]
                raise BadRecord("no string 'type' field")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # ValueError: also ints over the 4,300-digit limit
        raise BadRecord(f"not valid JSON ({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise BadRecord(f"a JSON {type(value).__name__}, not an object")
    if not isinstance(value.get("type"), str):
        raise BadRecord("no string 'type' field")
    return value


#: The C scanner behind ``json.loads`` (``JSONDecoder.scan_once``): one JSON value from an index of a str.
_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
#: JSON's whitespace (RFC 8259 section 2), allowed after a line's value.
_JSON_SPACE = " \t\n\r"


def decode_line(raw: bytes) -> Entry:
    """A line :func:`parse_line` accepted before, decoded again: the same entry, less of the checking.

    A line that opens with ``{`` and no NUL byte is UTF-8 to :func:`json.loads`
    (its ``detect_encoding``); it is decoded the way ``json.loads`` decodes it
    (``surrogatepass``), by the C scanner alone. Any other line goes through :func:`parse_line`.
    """
    if len(raw) >= 4 and raw[0] == 0x7B and raw[1]:
        return _SCAN(raw.decode("utf-8", "surrogatepass"), 0)[0]  # type: ignore[no-any-return]
    return parse_line(raw)


def is_tree_node(entry: Entry) -> bool:
    """True when appending ``entry`` moves the leaf to it (all but the meta types)."""
    return entry.get("type") not in META_TYPES


def session_header(
    entry_id: str,
    session_id: str,
    cwd: str,
    *,
    created: str,
    system_prompt: str | None = None,
    segment: int = 0,
    forked_from: dict[str, str] | None = None,
    imported_from: dict[str, str] | None = None,
    retain: int | None = None,
) -> Entry:
    """The ``session`` header: the first line of every segment file.

    ``retain`` is the number of rotated segments the session keeps (0 = all; DESIGN.md section 3, Retention).
    """
    header: SessionHeader = {
        "type": "session",
        "id": entry_id,
        "parentId": None,
        "timestamp": now_rfc3339(),
        "version": FORMAT_VERSION,
        "sessionId": session_id,
        "cwd": cwd,
        "created": created,
        "systemPrompt": system_prompt,
        "segment": segment,
    }
    if retain is not None:
        header["retain"] = retain
    if forked_from is not None:
        header["forkedFrom"] = forked_from
    if imported_from is not None:
        header["importedFrom"] = imported_from
    return dict(header)


def checkpoint(
    entry_id: str,
    *,
    leaf_id: str | None,
    title: str | None,
    labels: dict[str, str],
    compaction: Entry | None,
    dropped_entries: int,
    first_message: str | None = None,
) -> Entry:
    """The ``checkpoint``: second line of every segment after the first.

    ``first_message`` (the session's first prompt, :mod:`lime_repl.store.titles`)
    is written as ``firstMessage`` when known, so a listing's title survives
    the rotation that deletes the first segment.

    ``dropped_entries`` counts the entries that live in earlier segments; when
    those segments have been deleted by rotation, a resume reports that number.
    The copied ``title`` and ``labels`` are capped to 200 characters each
    (:func:`~lime_repl.store.entry_guard.cap_title`), so a long title written
    before titles were capped is not copied whole into every segment.
    """
    record: CheckpointEntry = {
        "type": "checkpoint",
        "id": entry_id,
        "parentId": None,
        "timestamp": now_rfc3339(),
        "leafId": leaf_id,
        "title": cap_title(title),
        "labels": {key: cap_title(value) or "" for key, value in labels.items()},
        "compaction": compaction,
        "droppedEntries": dropped_entries,
    }
    if first_message is not None:
        record["firstMessage"] = cap_title(first_message) or ""
    return dict(record)


def bash_triple(
    command: str,
    stdout: str,
    stderr: str,
    *,
    exit_code: int,
    duration_ms: int,
    truncated_bytes: dict[str, int],
    cwd: str,
    exchange: str,
    flags: Mapping[str, bool] | None = None,
) -> list[Entry]:
    """The three ``message`` entries of one ``!command`` exchange, without ids.

    The text forms ``<bash-input>``, ``<bash-stdout>``, ``<bash-stderr>`` are
    the ones Claude Code writes for its ``!`` mode; ``shell`` carries the
    structured facts (``exitCode``, ``durationMs``, ``truncatedBytes``
    {``stdout``, ``stderr``} in bytes, ``cwd`` after the command), plus the
    *flags* given (``interrupted``, ``interactive``, ``context``).
    """
    shell: ShellFields = {
        "exchange": exchange,
        "exitCode": exit_code,
        "durationMs": duration_ms,
        "truncatedBytes": truncated_bytes,
        "cwd": cwd,
    }
    flags = flags or {}
    if "interrupted" in flags:
        shell["interrupted"] = bool(flags["interrupted"])
    if "interactive" in flags:
        shell["interactive"] = bool(flags["interactive"])
    if "context" in flags:
        shell["context"] = bool(flags["context"])
    parts = (
        f"<{BASH_TAGS['input']}>{command}</{BASH_TAGS['input']}>",
        f"<{BASH_TAGS['stdout']}>{stdout}</{BASH_TAGS['stdout']}>",
        f"<{BASH_TAGS['stderr']}>{stderr}</{BASH_TAGS['stderr']}>",
    )
    messages: list[MessageEntry] = [
        {"type": "message", "role": "user", "content": [{"type": "text", "text": text}], "shell": shell}
        for text in parts
    ]
    return [dict(message) for message in messages]
