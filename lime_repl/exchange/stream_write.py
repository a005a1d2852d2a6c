"""Writing what a streamed import reads: the entries in batches, and the import in one or two processes.

:func:`batched` gives the entries of a Claude Code log as the reader completes
them (:meth:`~.foreign.claude_chain.ClaudeReader.quick` first, else
:meth:`~.foreign.claude_chain.ClaudeReader.feed`), in lists of :data:`BATCH`.
:func:`write_streamed` writes them, with their lines serialized a batch at a time
(:meth:`~.codec.LineCodec.dump_many`): the reading half runs in a forked child
(:mod:`.stream_fork`) while this process writes, where :func:`~.stream_fork.can_fork`
says so, else both run here. Split from :mod:`.stream`, which reads the file and
decides what is streamed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..store.records import Entry
from .codec import LineCodec, exact
from .foreign.builder import NotStreamable
from .foreign.common import Imported
from .guard import ImportRefused
from .stream_fork import ForkedBatches, can_fork

if TYPE_CHECKING:
    from ..workspace import Workspace
    from .foreign.claude_chain import ClaudeReader
    from .import_write import ImportResult

__all__ = ["BATCH", "batched", "write_streamed"]

BATCH = 256  # entries handed to the writer at a time (its redaction scan takes them together)


def batched(
    reader: ClaudeReader,
    out: deque[Entry],
    records: Iterator[tuple[int, Any]],
    imported: Imported,
    cap: int,
    codec: LineCodec,
) -> Iterator[list[Entry]]:
    """The entries of the rest of the log as the reader completes them, in lists of about :data:`BATCH`;
    fills in ``imported`` at the end.

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
            feed(record)
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


def write_streamed(
    workspace: Workspace,
    imported: Imported,
    reader: ClaudeReader,
    out: deque[Entry],
    records: Iterator[tuple[int, Any]],
    cap: int,
    codec: LineCodec,
    size: int,
    refusals: tuple[type[Exception], ...],
) -> ImportResult:
    """:func:`~.import_write.write_imported` of the rest of the log (``size`` bytes in all), read in a
    forked child while this process writes where :func:`~.stream_fork.can_fork` says so, else read here;
    ``refusals`` are the exceptions (besides :class:`ImportRefused` and :class:`NotStreamable`) the
    child's are raised as."""
    from .import_write import checked_batches, write_imported

    def here() -> ImportResult:
        return write_imported(
            workspace,
            imported,
            batches=batched(reader, out, records, imported, cap, codec),
            serialize=codec.dump_many,
            shaped=reader.shaped,
        )

    if not can_fork(size):
        return here()
    malformed: list[str] = []
    warnings = imported.warnings

    def produce() -> Iterator[list[Entry]]:
        return checked_batches(batched(reader, out, records, imported, cap, codec), malformed, reader.shaped)

    def finish() -> tuple[Any, ...]:
        return imported.title, imported.leaf_id, imported.labels, warnings, malformed

    children: list[ForkedBatches] = []  # the child, from the moment it exists: closed whatever comes
    try:
        try:
            child = ForkedBatches(
                produce,
                lambda batch: codec.dump_many(batch, floats=False),  # the float test is this side's (_lines)
                finish,
                (*refusals, ImportRefused, NotStreamable),
                started=children.append,
            )
        except OSError:
            if children:  # the child may have read on: the file is no longer where this process left it
                raise
            return here()  # no process to spare (EAGAIN, ENOMEM): read here, as a small file is
        from ..logsetup import log

        log.debug("import: %s is read by process %d while this one writes", imported.path, child.pid)

        def batches() -> Iterator[list[Entry]]:
            yield from child
            imported.title, imported.leaf_id, imported.labels, warnings[:], malformed[:] = child.result

        return write_imported(workspace, imported, batches=batches(), serialize=_lines, malformed=malformed)
    finally:
        for started in children:
            started.close()


def _lines(batch: Sequence[Entry]) -> list[bytes | None]:
    """The lines a :class:`~.stream_fork.Lined` batch came with, made exact (:func:`~.codec.exact`: the
    small-float test the child left out)."""
    return exact(batch.lines)  # type: ignore[attr-defined]
