"""Appending to a session's rotated log: stamping, guarding, writing and applying entries.

:class:`SessionLog` is the writing half of :class:`~lime_repl.store.session.Session`:
it adds the :class:`~lime_repl.store.segments.SegmentWriter` to the replayed
:class:`~lime_repl.store.state.SessionState`. Every entry gets an id, a
parent and a timestamp (:meth:`SessionLog.append`; copies keep theirs),
passes the injected output guard and the store's structural guard
(:func:`~lime_repl.store.entry_guard.structural_guard`), is written as one
line and then applied, so the state never holds an entry its log does not.
A new segment opens with the header and a checkpoint (:meth:`SessionLog._preamble`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .bulk import SCAN_BATCH, chunks, quiet_bytes, serialized
from .entry_guard import OutputGuard, PromptGuard, checked_line, offer_line, structural_guard
from .records import Entry, bash_triple, checkpoint, dumps, new_entry_id, now_rfc3339
from .segments import DEFAULT_BACKUPS, DEFAULT_MAX_BYTES, SegmentWriter, SessionLock
from .state import UNSET, SessionState

__all__ = ["SessionLog", "StoreOptions"]


@dataclass(frozen=True, slots=True)
class StoreOptions:
    """Rotation settings: ``max_bytes`` per segment (bytes) and rotated ``backups`` kept (0 = all).

    ``guard`` is the output policy run on every appended entry before the store's structural guard
    (:func:`lime_repl.outputs.guard.output_guard` redacts and caps); None stores entries as given,
    made valid UTF-8 and cut to the line budget only. ``prompt_guard`` does the same for the system
    prompt a new session's header stores (:func:`lime_repl.outputs.guard.cap_system_prompt`), with
    ``redact`` (``str -> str``, None for ``redact = false``).
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    backups: int = DEFAULT_BACKUPS
    guard: OutputGuard | None = None
    prompt_guard: PromptGuard | None = None
    redact: Callable[[str], str] | None = None


class SessionLog(SessionState):
    """A session's state and its writer (None when read-only or ephemeral); see the module docstring."""

    #: Redaction applied to every string of every appended entry (``str -> str``), or None (``redact = false``).
    redact: Callable[[str], str] | None = None
    #: The injected output policy (``StoreOptions.guard``), run before :func:`structural_guard`.
    output_guard: OutputGuard | None = None

    def __init__(self, path: Path | None, session_id: str, header: Entry) -> None:
        super().__init__(path, session_id, header)
        self._lock: SessionLock | None = None
        self._writer: SegmentWriter | None = None
        #: Called with each entry after it is written and applied (``append``, ``append_copy``,
        #: ``append_bash``), in log order; never while a log is replayed. Front ends get their
        #: "entry appended" events from here. A hook's exception propagates to the appender.
        self.on_append: list[Callable[[Entry], None]] = []

    @property
    def segment(self) -> int:
        """The number of the active segment (0 for the first file)."""
        return self._writer.segment if self._writer is not None else int(self.header.get("segment") or 0)

    # -- writing -------------------------------------------------------
    def _start_writer(
        self, options: StoreOptions, *, segment: int, lock: bool = True, backups: int | None = None
    ) -> None:
        assert self.path is not None
        if lock:
            self._lock = SessionLock(self.path)
            self._lock.acquire()
        writer = SegmentWriter(
            self.path,
            self._preamble,
            segment=segment,
            max_bytes=options.max_bytes,
            backups=options.backups if backups is None else backups,
        )
        writer.on_recreate = self.warnings.append
        try:
            writer.open()
        except BaseException:
            if lock and self._lock is not None:
                self._lock.release()
            raise
        self._writer = writer

    on_prune: Callable[[Path], None] | None = None
    """Set by the session's owner: called with a rotated segment's path before the next append's
    rotation deletes it; what it appends lands in the surviving segments, before that entry."""
    _pruning = False

    def _before_prune(self, line: bytes) -> bool:
        """Run :attr:`on_prune` if appending ``line`` would delete a segment; True if it ran."""
        if self.on_prune is None or self._pruning or self._writer is None:
            return False
        doomed = self._writer.doomed_by(len(line))
        if doomed is None:
            return False
        self._pruning = True
        try:
            self.on_prune(doomed)
        finally:
            self._pruning = False
        return True

    def _preamble(self, segment: int) -> list[bytes]:
        header = dict(self.header)
        header.update(id=new_entry_id(self._taken), timestamp=now_rfc3339(), segment=segment)
        self._taken.add(header["id"])
        lines = [dumps(header)]
        if segment > 0:
            cp = checkpoint(
                new_entry_id(self._taken),
                leaf_id=self.leaf_id,
                title=self.title,
                labels=self.labels,
                compaction=self.compaction,
                dropped_entries=self.dropped_entries + len(self.entries),
                first_message=self.first_message,
            )
            self._taken.add(cp["id"])
            lines.append(dumps(cp))
        return lines

    def _stamp(self, entry: Entry, parent_id: str | None) -> Entry:
        """``entry`` with a new id, ``parent_id`` and a timestamp, keys in the contract's order."""
        record = dict(entry)
        record["id"] = new_entry_id(self._taken)
        record["parentId"] = parent_id
        record["timestamp"] = now_rfc3339()
        # Keep the contract's key order: type, id, parentId, timestamp, then the rest.
        ordered = {"type": record.pop("type"), "id": record.pop("id"), "parentId": record.pop("parentId")}
        ordered["timestamp"] = record.pop("timestamp")
        ordered.update(record)
        return ordered

    def _guard(self, entry: Entry) -> Entry:
        """``entry`` through the injected :attr:`output_guard` (with :attr:`redact`), then :func:`structural_guard`."""
        segment_bytes = getattr(self._writer, "max_bytes", DEFAULT_MAX_BYTES)
        if self.output_guard is not None:
            entry = self.output_guard(entry, segment_bytes, self.redact)
        return structural_guard(entry, segment_bytes=segment_bytes)

    def append(self, entry: Entry, *, parent_id: str | None = UNSET) -> Entry:
        """Give ``entry`` an id, parent (the leaf by default) and timestamp, write it, apply it.

        Returns the entry as written. Raises :class:`WriteFailed` when the disk
        refuses it; the session state is then unchanged and the log valid.
        """

        def stamped() -> Entry:
            return self._guard(self._stamp(entry, self.leaf_id if parent_id is UNSET else parent_id))

        ordered = stamped()
        if self._before_prune(dumps(ordered)):
            ordered = stamped()  # the hook's entries moved the leaf
        if self._writer is not None:
            self._writer.append(dumps(ordered))
        self._apply(ordered)
        self._appended(ordered)
        return ordered

    def append_copy(self, entry: Entry) -> Entry:
        """Write ``entry`` as it is, keeping its id, parent and timestamp (fork, clone, import).

        Raises ``ValueError`` when its id is missing or already used, :class:`WriteFailed` on disk errors.
        """
        entry_id = entry.get("id")
        if not isinstance(entry_id, str) or entry_id in self.entries:
            raise ValueError(f"entry id {entry_id!r} is missing or already in the session")
        entry = self._guard(entry)
        if self._writer is not None:
            self._writer.append(dumps(entry))
        self._apply(entry)
        self._appended(entry)
        return entry

    def append_copies(
        self,
        entries: Iterable[Entry] = (),
        *,
        keep: bool = True,
        batch_bytes: int = 1 << 20,
        serialize: Callable[[Sequence[Entry]], list[bytes | None]] | None = None,
        batches: Iterable[Sequence[Entry]] | None = None,
    ) -> int:
        """Write many entries as they are (an import), about ``batch_bytes`` at a time; their count.

        The entries are ``entries``, or those of ``batches`` (lists of entries, as a reader hands them
        over) when given. Every entry passes the entry guard first (redaction, caps, valid UTF-8) and is
        written as the line the guard proved for it (:func:`~.entry_guard.checked_line`), else as
        :func:`dumps` of what the guard made of it; ``serialize``, when given, the
        JSON of a batch's entries before the guard runs (for each, exactly :func:`dumps` without the
        newline, or None where it cannot: :func:`~.entry_guard.offer_line`), a batch at a time
        (``entries`` are cut into batches of :data:`~.bulk.SCAN_BATCH`) so that the
        redactor, if it can, tells at once which of their lines no rule can change
        (``redact.quiet_lines``: :meth:`lime_repl.outputs.redact.Redactor.quiet_lines`). ``keep=False`` keeps only the ids,
        parents and times of messages and ``custom`` entries in :attr:`entries`,
        not their contents, so a large import does not hold them. Rotated
        segments are not fsynced one by one: the caller's :meth:`close` syncs
        the active file, and :func:`os.sync` at the end of the batch flushes the
        rotated ones in one pass (an import can be re-run; a turn syncs as
        before). Raises ``ValueError`` for a missing or repeated id and
        :class:`WriteFailed`; the session is then to be discarded, as its
        state may hold entries its log does not.
        """
        start = self.segment
        if self._writer is not None:
            self._writer.sync_rotations = False
            self._writer.begin_batch()  # each rotation renames one file, not every kept segment
        lines: list[bytes] = []
        size = count = 0
        nodes, taken = self.entries.nodes, self._taken
        bare = {"message": "message", "custom": "custom"}  # the kinds held bare, and their one string each
        # What _guard does, its lookups made once: the writer's segment size is that of the whole batch.
        segment_bytes = getattr(self._writer, "max_bytes", DEFAULT_MAX_BYTES)
        output_guard, redact = self.output_guard, self.redact
        fast = -1 if keep else quiet_bytes(output_guard, segment_bytes)  # -1: every entry through the guards
        add_bare = self.entries.add_bare
        if batches is None:
            batches = chunks(entries, SCAN_BATCH) if serialize is not None else (entries,)  # type: ignore[assignment]
        try:
            for batch in serialized(batches, serialize, redact):  # type: ignore[arg-type]
                for entry, offered, quiet in batch:
                    entry_id = entry.get("id")
                    if not isinstance(entry_id, str) or entry_id in nodes:
                        raise ValueError(f"entry id {entry_id!r} is missing or already in the session")
                    kind = entry.get("type")
                    if quiet and offered is not None and len(offered) <= fast and kind in ("message", "custom"):
                        line = offered + b"\n"  # both guards leave it as it is: its log line (see bulk.quiet_bytes)
                    else:
                        if offered is not None:
                            offer_line(entry, offered, quiet=quiet)
                        guarded = entry if output_guard is None else output_guard(entry, segment_bytes, redact)
                        guarded = structural_guard(guarded, segment_bytes=segment_bytes)
                        checked = checked_line(guarded)  # the guard's own serialization, when it made one
                        line = checked + b"\n" if checked is not None else dumps(guarded)
                        entry = guarded
                        kind = entry.get("type")
                    lines.append(line)
                    size += len(line)
                    if keep or (kind != "message" and kind != "custom"):
                        self._apply(entry)
                    else:  # what _apply does for such an entry, holding its ids only
                        taken.add(entry_id)
                        parent = entry.get("parentId")
                        add_bare(entry_id, bare[kind], parent if isinstance(parent, str) else None)
                        self.leaf_id = entry_id
                    count += 1
                    if size >= batch_bytes and self._writer is not None:
                        self._writer.append_many(lines)
                        lines, size = [], 0
            if lines and self._writer is not None:
                self._writer.append_many(lines)
            if self._writer is not None and self._writer.segment > start:
                os.sync()
        finally:
            if self._writer is not None:
                self._writer.sync_rotations = True
                self._writer.end_batch()
        return count

    def append_bash(
        self,
        command: str,
        stdout: str,
        stderr: str,
        *,
        exit_code: int,
        duration_ms: int,
        truncated_bytes: dict[str, int],
        cwd: str,
        flags: Mapping[str, bool] | None = None,
    ) -> list[Entry]:
        """Record one ``!command`` exchange as the bash triple; returns the three entries written.

        *flags* are ``shell`` fields beyond the facts (``interrupted``,
        ``interactive``, ``context``; see :func:`~lime_repl.store.records.bash_triple`).

        All or nothing: when the disk refuses a later line, the earlier ones are
        cut off again, so the log never holds a command without its outputs.
        Raises :class:`WriteFailed` (state unchanged).
        """
        triple = bash_triple(
            command,
            stdout,
            stderr,
            exit_code=exit_code,
            duration_ms=duration_ms,
            truncated_bytes=truncated_bytes,
            cwd=cwd,
            exchange=new_entry_id(self._taken),
            flags=flags,
        )
        records, lines = self._stamp_group(triple)
        for _ in range(3):  # a rotation compaction goes before the exchange, never inside it
            if not self._before_prune(b"".join(lines)):
                break
            for record in records:  # the hook's entries moved the leaf: stamp the triple again
                self._taken.discard(record["id"])
            records, lines = self._stamp_group(triple)
        try:
            if self._writer is not None:
                self._writer.append_group(lines)
        except BaseException:
            for record in records:
                self._taken.discard(record["id"])
            raise
        for record in records:
            self._apply(record)
        for record in records:
            self._appended(record)
        return records

    def _stamp_group(self, entries: list[Entry]) -> tuple[list[Entry], list[bytes]]:
        """``entries`` stamped as a chain under the leaf and guarded, with their log lines; ids taken."""
        records: list[Entry] = []
        parent = self.leaf_id
        for entry in entries:
            record = self._guard(self._stamp(entry, parent))
            self._taken.add(record["id"])
            records.append(record)
            parent = record["id"]
        return records, [dumps(r) for r in records]

    def _appended(self, entry: Entry) -> None:
        for hook in list(self.on_append):
            hook(entry)

    def rename(self, title: str | None) -> Entry:
        """Record a ``title`` entry (``None`` or '' clears the title)."""
        return self.append({"type": "title", "title": title or None})

    def set_leaf(self, target_id: str | None) -> Entry:
        """Record a ``leaf`` entry that moves the leaf to ``target_id``. Raises ``KeyError`` if unknown."""
        if target_id is not None and target_id not in self.entries:
            raise KeyError(target_id)
        return self.append({"type": "leaf", "targetId": target_id})

    def label(self, target_id: str, label: str | None) -> Entry:
        """Record a ``label`` entry on ``target_id`` (``None`` clears). Raises ``KeyError`` if unknown."""
        if target_id not in self.entries:
            raise KeyError(target_id)
        return self.append({"type": "label", "targetId": target_id, "label": label or None})

    def keep_all(self) -> Entry:
        """Keep every rotated segment from now on: a ``retention`` entry {``retain``: 0}; later headers carry it.

        Raises :class:`WriteFailed` when the disk refuses it (nothing changes then).
        """
        entry = self.append({"type": "retention", "retain": 0})
        self.header["retain"] = 0
        if self._writer is not None:
            self._writer.backups = 0
        return entry

    def sync(self) -> None:
        """fsync the log (end of a turn). Raises :class:`WriteFailed` on I/O error."""
        if self._writer is not None:
            self._writer.sync()

