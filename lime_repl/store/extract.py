"""What the catalog index takes from a segment file: listing facts and the text of messages.

Pure functions over bytes and entries, used by :mod:`lime_repl.store.index`.
A segment file is ``<id>.jsonl`` (the active file) or ``<id>.jsonl.N`` (a
rotated copy, larger N older; DESIGN.md section 3). Parsing reads whole
lines only, from a byte offset on, so a file that grew is parsed
incrementally; torn or malformed lines are skipped, as a reader must.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .records import triple_part

__all__ = ["HEAD_BYTES", "FileRow", "entry_texts", "parse_from", "read_head", "segment_name"]

#: How many leading bytes identify a file across renames (the header line's type, entry id, timestamp).
HEAD_BYTES = 64
_SEGMENT = re.compile(r"([0-9A-Za-z_-]+)\.jsonl(?:\.([0-9]+))?").fullmatch
_KINDS = {"input": "shell", "stdout": "stdout", "stderr": "stderr"}


def segment_name(name: str) -> tuple[str, int] | None:
    """``(stem, number)`` for ``<stem>.jsonl`` (number -1, the active file) or ``<stem>.jsonl.N``; else None."""
    match = _SEGMENT(name)
    if match is None:
        return None
    stem, number = match.groups()
    return stem, int(number) if number else -1


@dataclass(slots=True)
class FileRow:
    """A segment file as indexed: identity, parse position and listing facts."""

    name: str
    ino: int
    size: int
    mtime_ns: int
    offset: int = 0
    head: bytes = b""
    session_id: str | None = None
    cwd: str | None = None
    created: str | None = None
    title: str | None = None
    title_set: bool = False
    entries: int = 0
    first_message: str | None = None
    id: int | None = None
    dropped: int = 0


def entry_texts(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """``(kind, text)`` pairs worth indexing in one entry: the text of messages and ``!`` commands.

    ``kind`` is the role (``user``/``assistant``), ``tool`` for tool results,
    or ``shell``/``stdout``/``stderr`` for the three parts of a bash triple
    (DESIGN.md section 3), whose tags are stripped. Other entries give ``[]``.
    """
    if entry.get("type") != "message":
        return []
    role: str = entry["role"] if isinstance(entry.get("role"), str) else "message"
    content = entry.get("content")
    if isinstance(content, str):
        return [(role, content)] if content else []
    if not isinstance(content, list):
        return []
    texts: list[str] = []
    tools: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "tool_result":
            inner = block.get("content")
            if isinstance(inner, str):
                tools.append(inner)
            elif isinstance(inner, list):
                tools.extend(
                    b["text"] for b in inner if isinstance(b, dict) and isinstance(b.get("text"), str)
                )
    result: list[tuple[str, str]] = []
    text = "\n".join(texts)
    part = triple_part(entry) if text else None
    if part is not None:
        return [(_KINDS[part[0]], part[1])] if part[1] else []
    if text:
        result.append((role, text))
    tool_text = "\n".join(t for t in tools if t)
    if tool_text:
        result.append(("tool", tool_text))
    return result


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_from(path: str, row: FileRow) -> list[tuple[str, str, str, str]]:
    """Parse ``path`` from ``row.offset`` on (whole lines only), updating ``row``; returns new texts.

    Texts are ``(entry id, timestamp, kind, text)``. Raises ``OSError``.
    """
    with open(path, "rb") as fh:
        if row.offset:
            fh.seek(row.offset)
        data = fh.read()
    if row.offset == 0:
        row.head = data[:HEAD_BYTES]
    end = data.rfind(b"\n") + 1
    texts: list[tuple[str, str, str, str]] = []
    first_segment = row.offset != 0  # the header (and its checkpoint) were parsed before
    for raw in data[:end].split(b"\n"):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        if not isinstance(entry, dict):
            continue
        kind = entry.get("type")
        if kind == "session":
            if row.session_id is None:
                row.session_id = _str(entry.get("sessionId"))
                row.cwd = _str(entry.get("cwd"))
                row.created = _str(entry.get("created"))
                first_segment = entry.get("segment") == 0
            continue
        if kind == "checkpoint":
            dropped = entry.get("droppedEntries")
            if not first_segment and isinstance(dropped, int) and not isinstance(dropped, bool):
                row.dropped = max(dropped, 0)  # entries of earlier segments, gone if this one is the oldest
            if "title" in entry:
                row.title, row.title_set = _str(entry["title"]), True
            continue
        row.entries += 1
        if kind == "title":
            row.title, row.title_set = _str(entry.get("title")), True
            continue
        if row.first_message is None and kind == "message" and entry.get("role") == "user":
            row.first_message = _first_text(entry)
        found = entry_texts(entry)
        if not found:
            continue
        entry_id = _str(entry.get("id")) or ""
        stamp = _str(entry.get("timestamp")) or ""
        texts.extend((entry_id, stamp, k, t) for k, t in found)
    row.offset += end
    return texts


def _first_text(entry: dict[str, Any]) -> str | None:
    """The first text block of a message (200 characters at most), as the listing shows it."""
    content = entry.get("content")
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                return block["text"][:200]
    return content[:200] if isinstance(content, str) else None


def read_head(path: str, n: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)
