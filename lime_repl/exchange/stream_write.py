"""Writing what a streamed import reads: the entries in batches, their lines, and the two-process import.

:func:`batched` gives the entries of a Claude Code log as the reader completes
them (:meth:`~.foreign.claude_chain.ClaudeReader.quick` first, else
:meth:`~.foreign.claude_chain.ClaudeReader.feed`), in lists of :data:`BATCH`;
:func:`serializer` gives their lines (:meth:`~.codec.LineCodec.dump_many`) and
:func:`encoder` the log line of an entry that copies its source line in.
:func:`forked_import` runs the reading half in a forked child
(:mod:`.stream_fork`) while this process writes. Split from :mod:`.stream`,
which reads the file and decides what is streamed.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..store.entry_guard import checked_line
from ..store.records import Entry
from .codec import LineCodec, exact
from .foreign.builder import NotStreamable
from .foreign.common import Imported
from .guard import ImportRefused
from .stream_fork import ForkedBatches

if TYPE_CHECKING:
    from ..workspace import Workspace
    from .foreign.claude_chain import ClaudeReader
    from .import_write import ImportResult

__all__ = ["BATCH", "batched", "encoder", "forked_import", "serializer", "written"]

BATCH = 256  # entries handed to the writer at a time (its redaction scan takes them together)
# The serializer of :func:`~lime_repl.store.records.dumps` (same options, same bytes), built once rather than per line.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_CUSTOM_KEYS = ("type", "id", "parentId", "timestamp", "customType", "data")


def written(
    reader: ClaudeReader,
    out: deque[Entry],
    records: Iterator[tuple[int, Any]],
    last: list[bytes] | None,
    imported: Imported,
    cap: int,
    codec: LineCodec,
) -> Iterator[Entry]:
    """The entries of :func:`batched`, one at a time."""
    for batch in batched(reader, out, records, last, imported, cap, codec):
        yield from batch


def batched(
    reader: ClaudeReader,
    out: deque[Entry],
    records: Iterator[tuple[int, Any]],
    last: list[bytes] | None,
    imported: Imported,
    cap: int,
    codec: LineCodec,
) -> Iterator[list[Entry]]:
    """The entries of the rest of the log as the reader completes them, in lists of about :data:`BATCH`;
    fills in ``imported`` at the end.

    ``last`` holds the source line of the record just read, kept for a ``custom`` entry's ``data`` (None: not kept).
    ``codec`` parsed ``records``; the subagent files are parsed by ``json``, so it is told (``plain``).
    """
    from .foreign import claude

    batch: list[Entry] = list(out)
    out.clear()
    quick, feed, add = reader.quick, reader.feed, batch.append
    for _, record in records:
        entry = quick(record)  # nearly every record: its entry at once (``out`` is empty here)
        if entry is not None:
            add(entry)
        else:
            feed(record, raw=None if last is None else last[0])
            if out:
                batch.extend(out)
                out.clear()
        if len(batch) >= BATCH:
            yield batch
            batch = []
            add = batch.append
    for _name, more in sorted(claude.subagent_records(imported.path, cap).items()):
        codec.plain = False
        for _, record in more:
            feed(record, sidechain=True)
            batch.extend(out)
            out.clear()
    done = reader.finish()
    batch.extend(out)
    out.clear()
    if batch:
        yield batch
    imported.title, imported.leaf_id, imported.labels = done.title, done.leaf_id, done.labels


def serializer(codec: LineCodec, raw: dict[str, bytes]) -> Callable[[Sequence[Entry]], list[bytes | None]]:
    """``codec.dump_many``, forgetting the source line of each entry it serializes.

    An entry so serialized is written as that line, or as :func:`dumps` of what the guard made of it,
    never with its source line copied in (:func:`encoder` takes the line the guard proved first).
    """
    dump = codec.dump_many

    def serialize(batch: Sequence[Entry]) -> list[bytes | None]:
        lines = dump(batch)
        if raw:
            for entry, line in zip(batch, lines, strict=True):
                if line is not None:
                    raw.pop(entry["id"], None)
        return lines

    return serialize


def encoder(raw: dict[str, bytes]) -> Callable[[Entry], bytes]:
    """lime's :func:`dumps` of an entry, but a kept record's source line copied in as its ``data``."""

    kinds: dict[str, str] = {}

    def encode(entry: Entry) -> bytes:
        line = raw.pop(entry["id"], None)
        checked = checked_line(entry)  # the line the entry guard has just serialized
        if checked is not None:
            return checked + b"\n"
        if line is None or tuple(entry) != _CUSTOM_KEYS:
            return (_ENCODE(entry) + "\n").encode("utf-8")
        kind = entry["customType"]
        if kind not in kinds:
            kinds[kind] = _ENCODE(kind)
        entry_id, parent = entry["id"], entry["parentId"]
        if not _plain(entry_id) or not (parent is None or _plain(parent)):
            return (_ENCODE(entry) + "\n").encode("utf-8")
        parent_text = "null" if parent is None else f'"{parent}"'
        text = (
            f'{{"type":"custom","id":"{entry_id}","parentId":{parent_text},'
            f'"timestamp":{_ENCODE(entry["timestamp"])},"customType":{kinds[kind]},"data":'
        )
        return b"".join((text.encode("utf-8"), line, b"}\n"))

    return encode


def _plain(entry_id: Any) -> bool:
    """True for an 8-hex entry id (the Builder's), which JSON writes as it is."""
    return isinstance(entry_id, str) and len(entry_id) == 8 and entry_id.isalnum() and entry_id.isascii()


def forked_import(
    workspace: Workspace,
    imported: Imported,
    reader: ClaudeReader,
    out: deque[Entry],
    records: Iterator[tuple[int, Any]],
    last: list[bytes],
    cap: int,
    codec: LineCodec,
    refusals: tuple[type[Exception], ...],
) -> ImportResult:
    """:func:`~.import_write.write_imported` of the rest of the log, read in a forked child while this
    process writes (:mod:`.stream_fork`); ``refusals`` are the exceptions the child's are raised as."""
    from .import_write import checked_batches, write_imported

    malformed: list[str] = []
    warnings = imported.warnings

    def produce() -> Iterator[list[Entry]]:
        return checked_batches(batched(reader, out, records, last, imported, cap, codec), malformed, reader.shaped)

    def finish() -> tuple[Any, ...]:
        return imported.title, imported.leaf_id, imported.labels, warnings, malformed

    children: list[ForkedBatches] = []  # the child, from the moment it exists: closed whatever comes
    try:
        try:
            child = ForkedBatches(
                produce,
                lambda batch: codec.dump_many(batch, floats=False),  # the float test is this side's (_exact)
                reader.b.raw,
                finish,
                (*refusals, ImportRefused, NotStreamable),
                started=children.append,
            )
        except OSError:
            if children:  # the child may have read on: the file is no longer where this process left it
                raise
            # No process to spare (EAGAIN, ENOMEM): read here, as a small file is.
            return write_imported(
                workspace,
                imported,
                batches=batched(reader, out, records, last, imported, cap, codec),
                encode=encoder(reader.b.raw),
                serialize=serializer(codec, reader.b.raw),
                shaped=reader.shaped,
            )
        from ..logsetup import log

        log.debug("import: %s is read by process %d while this one writes", imported.path, child.pid)

        def batches() -> Iterator[list[Entry]]:
            yield from child
            imported.title, imported.leaf_id, imported.labels, warnings[:], malformed[:] = child.result

        return write_imported(
            workspace,
            imported,
            batches=batches(),
            encode=encoder(child.raw),
            serialize=_exact(child.raw),
            malformed=malformed,
        )
    finally:
        for started in children:
            started.close()


def _exact(raw: dict[str, bytes]) -> Callable[[Sequence[Entry]], list[bytes | None]]:
    """What :func:`serializer` gives, for a :class:`~.stream_fork.Lined` batch: the lines it came with, each
    made exact (:func:`~.codec.exact`, the test the child left out), its entries' source lines forgotten where
    a line is kept (``raw`` holds every source line the batch's entries came with)."""

    def serialize(batch: Sequence[Entry]) -> list[bytes | None]:
        lines = exact(batch.lines)  # type: ignore[attr-defined]
        if raw:
            for entry, line in zip(batch, lines, strict=True):
                if line is not None:
                    raw.pop(entry["id"], None)
        return lines

    return serialize
