"""What the catalog index takes from a segment file: listing facts and the text of messages.

Pure functions over bytes and entries, used by :mod:`lime_repl.store.index`.
A segment file is ``<id>.jsonl`` (the active file) or ``<id>.jsonl.N`` (a
rotated copy, larger N older; DESIGN.md section 3). Parsing reads whole
lines only, from a byte offset on, so a file that grew is parsed
incrementally; torn or malformed lines are skipped, as a reader must.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from .slotted import SlotValue
from .titles import first_prompt

__all__ = ["HEAD_BYTES", "FileRow", "entry_texts", "read_facts", "read_head", "read_texts", "segment_name"]

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


class FileRow(SlotValue):
    """A segment file as indexed: identity, parse positions and listing facts.

    ``offset`` is how far the listing facts were read (bytes, just after a
    ``\\n``); ``texted`` how far the full text was indexed (``<= offset``).
    The positional order is that of the ``files`` columns the index reads
    rows in. (A plain class, not a dataclass: :mod:`dataclasses` imports
    :mod:`inspect`, which a search does not otherwise load.)
    """

    __slots__ = (
        "name", "ino", "size", "mtime_ns", "offset", "head", "session_id", "cwd", "created", "title",
        "title_set", "entries", "first_message", "id", "dropped", "texted",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        ino: int,
        size: int,
        mtime_ns: int,
        offset: int = 0,
        head: bytes = b"",
        session_id: str | None = None,
        cwd: str | None = None,
        created: str | None = None,
        title: str | None = None,
        title_set: bool = False,
        entries: int = 0,
        first_message: str | None = None,
        id: int | None = None,
        dropped: int = 0,
        texted: int = 0,
    ) -> None:
        self.name = name
        self.ino = ino
        self.size = size
        self.mtime_ns = mtime_ns
        self.offset = offset
        self.head = head
        self.session_id = session_id
        self.cwd = cwd
        self.created = created
        self.title = title
        self.title_set = title_set
        self.entries = entries
        self.first_message = first_message
        self.id = id
        self.dropped = dropped
        self.texted = texted


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
    part = _triple_part(entry) if text else None
    if part is not None:
        return [(_KINDS[part[0]], part[1])] if part[1] else []
    if text:
        result.append((role, text))
    tool_text = "\n".join(t for t in tools if t)
    if tool_text:
        result.append(("tool", tool_text))
    return result


def _triple_part(entry: dict[str, Any]) -> tuple[str, str] | None:
    """:func:`~lime_repl.store.records.triple_part`, imported when first needed: a listing or a warm
    search never parses a message, and ``records`` loads ``uuid`` and ``secrets`` (about 5 ms)."""
    from .records import triple_part

    return triple_part(entry)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


_LINE = b'{"type":"'
_SESSION = b'\n{"type":"session"'
_CHECKPOINT = b'\n{"type":"checkpoint"'
_TITLE = b'\n{"type":"title"'
_MESSAGE = b'\n{"type":"message"'
#: Every line (after the first) that is a header, a checkpoint or a title, found in one pass.
_SPECIAL = re.compile(rb'\n\{"type":"(?:session|checkpoint|title)"').finditer
#: The type of every line after the first whose line before ends with ``}``, found in one pass.
_NEXT_TYPES = re.compile(rb'\}\n\{"type":"([^"\n]*)"').findall


def _load(raw: bytes) -> dict[str, Any] | None:
    try:
        entry = json.loads(raw.decode("utf-8"))  # a str skips json's encoding detection
    except (ValueError, RecursionError):
        return None
    return entry if isinstance(entry, dict) else None


def _apply(row: FileRow, entry: dict[str, Any], first_segment: bool) -> bool:
    """Fold one parsed entry into ``row``'s listing facts; returns the new ``first_segment``."""
    kind = entry.get("type")
    if kind == "session":
        if row.session_id is None:
            row.session_id = _str(entry.get("sessionId"))
            row.cwd = _str(entry.get("cwd"))
            row.created = _str(entry.get("created"))
            first_segment = entry.get("segment") == 0
        return first_segment
    if kind == "checkpoint":
        dropped = entry.get("droppedEntries")
        if not first_segment and isinstance(dropped, int) and not isinstance(dropped, bool):
            row.dropped = max(dropped, 0)  # entries of earlier segments, gone if this one is the oldest
        if "title" in entry:
            row.title, row.title_set = _str(entry["title"]), True
        if row.first_message is None:
            row.first_message = _str(entry.get("firstMessage"))
        return first_segment
    row.entries += 1
    if kind == "title":
        row.title, row.title_set = _str(entry.get("title")), True
    elif row.first_message is None and first_segment and kind == "message":
        row.first_message = first_prompt(entry)
    return first_segment


#: json's own scanner (the C one), called without ``json.loads``'s Python layers: ``(value, end)`` of a text.
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # set by __init__, not in the stubs


def _load_line(raw: bytes) -> dict[str, Any] | None:
    """:func:`_load` of a line that starts with ``{`` and ends with ``}`` (no surrounding whitespace)."""
    try:
        text = raw.decode("utf-8")
        entry, end = _SCAN(text, 0)
    except (ValueError, RecursionError, StopIteration):
        return None
    return entry if end == len(text) and isinstance(entry, dict) else None


def _line_at(data: bytes, start: int) -> bytes:
    return data[start : data.index(b"\n", start)]


def _iter_starts(data: bytes, marker: bytes) -> Iterator[int]:
    """Where the lines of ``data`` that begin with ``marker[1:]`` start, in order (``marker`` opens with ``\\n``)."""
    if data.startswith(marker[1:]):
        yield 0
    at = data.find(marker)
    while at >= 0:
        yield at + 1
        at = data.find(marker, at + 1)


def _fast_facts(data: bytes, row: FileRow, first_segment: bool) -> bool:
    """Listing facts of ``data`` (whole lines) without parsing every line; False when it cannot be sure.

    Lines written by lime's serializer start with ``{"type":"`` and end with
    ``}``: when every line does (a ``bytes.count`` of the newlines and one
    pass that takes the type of every line after a ``}``), entries are the
    line count minus the ``session`` and ``checkpoint`` lines, the title is
    the last ``title`` line's (or the checkpoint's), and only those lines and
    the first user message are parsed (the special lines are looked for
    only when a type says there is one). Anything else (a blank or foreign
    line) gives False, and the caller parses line by line (folding the
    header and checkpoint in again changes nothing).
    """
    if not data:
        return True
    lines = data.count(b"\n")
    if not data.startswith(_LINE) or not data.endswith(b"}\n"):
        return False
    types = _NEXT_TYPES(data)
    if len(types) != lines - 1:
        return False
    parsed = []
    title: dict[str, Any] | None = None
    starts = [0] if data.startswith((_SESSION[1:], _CHECKPOINT[1:], _TITLE[1:])) else []
    if b"title" in types or b"checkpoint" in types or b"session" in types:
        starts += [m.start() + 1 for m in _SPECIAL(data)]
    for at in starts:
        entry = _load_line(_line_at(data, at))
        if entry is None:
            return False
        if entry.get("type") == "title":
            title = entry
        else:
            parsed.append(entry)
    for entry in parsed:
        first_segment = _apply(row, entry, first_segment)
    # The first prompt comes from the first segment's messages (a later segment's is in its checkpoint).
    for at in _iter_starts(data, _MESSAGE) if row.first_message is None and first_segment else ():
        entry = _load_line(_line_at(data, at))
        if entry is None:
            return False
        row.first_message = first_prompt(entry)
        if row.first_message is not None:
            break
    row.entries += lines - len(parsed)  # title lines are entries, header and checkpoint lines are not
    if title is not None:
        row.title, row.title_set = _str(title.get("title")), True
    return True


def read_facts(path: str, row: FileRow, size: int | None = None) -> None:
    """Read the listing facts of ``path`` from ``row.offset`` on (whole lines only), updating ``row``.

    Counts entries and takes the header (session id, cwd, created), the
    checkpoint (``droppedEntries``, title), ``title`` entries and the first
    user message; message texts are left to :func:`read_texts`. Torn or
    malformed lines are skipped, as a reader must. ``size`` (the file's size
    when it was ``stat``-ed) bounds the read to one ``read`` call; what was
    written since is read next time. Raises ``OSError``.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if size is None:
            size = os.fstat(fd).st_size
        data = os.pread(fd, max(size - row.offset, 0), row.offset)
    finally:
        os.close(fd)
    if row.offset == 0:
        row.head = data[:HEAD_BYTES]
    if not data.endswith(b"\n"):  # a line being written: read it next time (no copy when none is)
        data = data[: data.rfind(b"\n") + 1]
    first_segment = row.offset != 0  # the header (and its checkpoint) were read before
    if not _fast_facts(data, row, first_segment):
        for raw in data.split(b"\n"):
            entry = _load(raw) if raw.strip() else None
            if entry is not None:
                first_segment = _apply(row, entry, first_segment)
    row.offset += len(data)


def read_texts(path: str, row: FileRow) -> list[tuple[str, str, str, str]]:
    """The texts of ``path`` between ``row.texted`` and ``row.offset``; sets ``row.texted`` to ``row.offset``.

    Texts are ``(entry id, timestamp, kind, text)`` (:func:`entry_texts`). Raises ``OSError``, also
    ``FileNotFoundError`` when ``path`` is no longer the file ``row`` describes (another inode: rotated since).
    """
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_ino != row.ino:
            raise FileNotFoundError(path)
        fh.seek(row.texted)
        data = fh.read(row.offset - row.texted)
    texts: list[tuple[str, str, str, str]] = []
    for raw in data[: data.rfind(b"\n") + 1].split(b"\n"):
        if b'"message"' not in raw:  # every message entry has "type":"message"
            continue
        entry = _load(raw)
        if entry is None:
            continue
        found = entry_texts(entry)
        if not found:
            continue
        entry_id = _str(entry.get("id")) or ""
        stamp = _str(entry.get("timestamp")) or ""
        texts.extend((entry_id, stamp, k, t) for k, t in found)
    row.texted += data.rfind(b"\n") + 1
    return texts


def read_head(path: str, n: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)
