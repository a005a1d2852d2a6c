"""A session on disk: creating, resuming and loading it, and appending to its rotated log.

:class:`Session` adds the files to :class:`~lime_repl.store.state.SessionState`
(the pure replay of entries into a tree with a persisted leaf). It is the only
writer: it holds the lock, writes through a
:class:`~lime_repl.store.segments.SegmentWriter` and syncs at turn ends.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from ..errors import StoreError
from .entry_guard import OutputGuard, PromptGuard, structural_guard
from .formats import header_version, migrate, refuse_newer
from .records import (
    Entry,
    bash_triple,
    checkpoint,
    dumps,
    new_entry_id,
    new_session_id,
    now_rfc3339,
    session_header,
)
from .segments import (
    DEFAULT_BACKUPS,
    DEFAULT_MAX_BYTES,
    LockHeld,
    Segment,
    SegmentWriter,
    SessionLock,
    UnsafeFile,
    WriteFailed,
    read_segments,
    repair_torn_tail,
    segment_paths,
)
from .state import UNSET, SessionState

__all__ = ["LockHeld", "NewSessionFields", "Session", "StoreOptions", "WriteFailed"]


class NewSessionFields(TypedDict, total=False):
    """The optional keywords of :meth:`Session.create` that callers pass through (``**fields``)."""

    forked_from: dict[str, str] | None
    imported_from: dict[str, str] | None
    session_id: str | None
    retain: int | None


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


def _ensure_dir(path: Path) -> None:
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(d, 0o700)


def _remove_if_empty(path: Path, *, any_size: bool = False) -> None:
    """Delete ``path`` when it is a regular file that is empty (or of any size with ``any_size``)."""
    try:
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode) and (any_size or st.st_size == 0):
            os.unlink(path)
    except OSError:
        pass


class Session(SessionState):
    """One session's state and (unless read-only or ephemeral) its writer.

    Build one with :meth:`create`, :meth:`open` (writer, takes the lock),
    :meth:`load` (read-only, no lock) or :meth:`ephemeral` (``--no-session``).
    ``warnings`` collects one line per skipped bad line, repaired tail or
    re-created file, for the caller to show.
    """

    #: Redaction applied to every string of every appended entry (``str -> str``), or None (``redact = false``).
    redact: Callable[[str], str] | None = None
    #: The injected output policy (``StoreOptions.guard``), run before :func:`structural_guard`.
    output_guard: OutputGuard | None = None

    def __init__(self, path: Path | None, session_id: str, header: Entry) -> None:
        super().__init__(path, session_id, header)
        self._lock: SessionLock | None = None
        self._writer: SegmentWriter | None = None
        #: Set by :meth:`create` (not for an import): :meth:`close` may remove this session if it stays empty.
        self._created_here = False
        #: True once :meth:`close` removed the session's files because it had no entries.
        self.removed = False
        #: Called with each entry after it is written and applied (``append``, ``append_copy``,
        #: ``append_bash``), in log order; never while a log is replayed. Front ends get their
        #: "entry appended" events from here. A hook's exception propagates to the appender.
        self.on_append: list[Callable[[Entry], None]] = []

    # -- construction --------------------------------------------------
    @classmethod
    def create(
        cls,
        sessions_dir: Path,
        cwd: str,
        *,
        system_prompt: str | None = None,
        forked_from: dict[str, str] | None = None,
        imported_from: dict[str, str] | None = None,
        options: StoreOptions = StoreOptions(),
        session_id: str | None = None,
        retain: int | None = None,
    ) -> Session:
        """Start a new session file ``<sessions_dir>/<id>.jsonl`` and write its header now.

        ``retain`` (rotated segments kept, 0 = all) goes into the header; default ``options.backups``.
        ``system_prompt`` is stored redacted with ``options.redact`` and capped so the header leaves
        room for a whole entry in every segment (:func:`~lime_repl.outputs.guard.cap_system_prompt`, injected as ``options.prompt_guard``).
        Raises :class:`LockHeld` (only if the id is reused) or :class:`WriteFailed`;
        when the header cannot be written, no file of the session is left behind.
        """
        _ensure_dir(sessions_dir)
        sid = session_id or new_session_id()
        header = session_header(
            new_entry_id(),
            sid,
            cwd,
            created=now_rfc3339(),
            system_prompt=(
                options.prompt_guard(system_prompt, options.max_bytes, options.redact)
                if options.prompt_guard is not None
                else system_prompt
            ),
            forked_from=forked_from,
            imported_from=imported_from,
            retain=options.backups if retain is None else max(retain, 0),
        )
        path = sessions_dir / f"{sid}.jsonl"
        session = cls(path, sid, header)
        session.output_guard = options.guard
        session._taken.add(header["id"])
        session._created_here = imported_from is None
        try:
            session._start_writer(options, segment=0, backups=header["retain"])
        except OSError:
            # A full disk: leave no empty log (and no lock file) of a session that never started.
            _remove_if_empty(path)
            _remove_if_empty(Path(f"{path}.lock"), any_size=True)
            raise
        return session

    @classmethod
    def ephemeral(
        cls, cwd: str, system_prompt: str | None = None, *, guard: OutputGuard | None = None
    ) -> Session:
        """A session that lives in memory only (``--no-session``); ``guard`` as in :class:`StoreOptions`."""
        sid = new_session_id()
        header = session_header(new_entry_id(), sid, cwd, created=now_rfc3339(), system_prompt=system_prompt)
        session = cls(None, sid, header)
        session.output_guard = guard
        return session

    @classmethod
    def load(cls, path: Path) -> Session:
        """Read a session without taking its lock (listing, show, export).

        Raises ``FileNotFoundError`` when no segment exists, :class:`~lime_repl.store.formats.NewerFormat`
        when a segment was written by a newer lime; bad lines become warnings.
        """
        refuse_newer(segment_paths(path), path)
        segments = read_segments(path)
        session = cls._replay(path, segments)
        for seg in segments:
            if seg.torn:
                session.warnings.append(f"{seg.path}: ignored a torn last line of {len(seg.torn)} bytes")
        return session

    @classmethod
    def open(cls, path: Path, *, options: StoreOptions = StoreOptions()) -> Session:
        """Resume a session as its writer: take the lock, repair a torn tail, replay, append after.

        Rotation keeps the session's own ``retain`` (the newest header's, or a later
        ``retention`` entry's), not ``options.backups``; a session whose headers
        have none (written before ``retain`` existed) uses ``options.backups``.
        Raises :class:`LockHeld` when another writer holds it, ``FileNotFoundError``
        when no segment exists, :class:`WriteFailed` when the repair cannot be written,
        :class:`~lime_repl.store.files.UnsafeFile` (nothing changed) when the active
        file is a symlink, not a regular file, or does not open with a ``session`` header,
        :class:`~lime_repl.store.formats.NewerFormat` (nothing read, locked or repaired) when a
        segment was written by a newer lime.
        """
        refuse_newer(segment_paths(path), path)
        lock = SessionLock(path)
        lock.acquire()
        try:
            repaired = 0
            if os.path.lexists(path):
                repaired = repair_torn_tail(path)
            segments = read_segments(path)
            session = cls._replay(path, segments)
            if repaired:
                session.warnings.append(
                    f"{path}: moved a torn last line ({repaired} bytes) to {path.name}.torn; every earlier line is kept"
                )
            last_header = session._last_header_segment(segments)
            retain = session._retain(segments, options.backups)
            session.header["retain"] = retain
            session._lock = lock
            session.output_guard = options.guard
            # An empty active file after earlier segments: a crash between a rollover's create and
            # its header. It is the next segment, not another copy of the last one.
            if not path.exists() or (len(segments) > 1 and path.stat().st_size == 0):
                session._start_writer(options, segment=last_header + 1, lock=False, backups=retain)
                session.warnings.append(
                    f"{path}: the active file was missing; started segment {last_header + 1}"
                )
            else:
                session._start_writer(options, segment=last_header, lock=False, backups=retain)
            return session
        except BaseException:
            lock.release()
            raise

    @staticmethod
    def _last_header_segment(segments: list[Segment]) -> int:
        for seg in reversed(segments):
            for line in seg.lines[:1]:
                if line.entry.get("type") == "session" and isinstance(line.entry.get("segment"), int):
                    return int(line.entry["segment"])
        return 0

    @staticmethod
    def _retain(segments: list[Segment], default: int) -> int:
        """The last ``retain`` set by a ``session`` header or a ``retention`` entry, else ``default``."""
        retain = default
        for seg in segments:
            for line in seg.lines:
                if line.entry.get("type") in ("session", "retention"):
                    value = line.entry.get("retain")
                    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                        retain = value
        return retain

    @classmethod
    def _replay(cls, path: Path, segments: list[Segment]) -> Session:
        header: Entry | None = None
        for seg in segments:
            for line in seg.lines:
                if line.entry.get("type") == "session":
                    header = line.entry
                    break
            if header is not None:
                break
        if header is None:
            stem = path.name.split(".jsonl")[0]
            header = {"type": "session", "sessionId": stem, "cwd": None, "segment": 0}
        sid = str(header.get("sessionId") or path.name.split(".jsonl")[0])
        session = cls(path, sid, header)
        session.segments = segments
        first = True
        for seg in segments:
            session.warnings.extend(seg.warnings)
            entries = [line.entry for line in seg.lines]
            if entries and entries[0].get("type") == "session":
                entries = migrate(entries, header_version(entries[0]))
            for entry in entries:
                session._apply(entry, first_segment=first)
            first = False
        session._settle_leaf()
        return session

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
        entries: Iterable[Entry],
        *,
        encode: Callable[[Entry], bytes] = dumps,
        keep: bool = True,
        batch_bytes: int = 1 << 20,
    ) -> int:
        """Write many entries as they are (an import), about ``batch_bytes`` at a time; their count.

        Every entry passes the entry guard first (redaction, caps, valid UTF-8);
        ``encode`` gives the log line of an entry the guard left unchanged
        (:func:`dumps` unless the caller already holds the line's JSON). ``keep=False`` keeps only the ids,
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
        lines: list[bytes] = []
        size = count = 0
        try:
            for entry in entries:
                entry_id = entry.get("id")
                if not isinstance(entry_id, str) or entry_id in self.entries:
                    raise ValueError(f"entry id {entry_id!r} is missing or already in the session")
                guarded = self._guard(entry)
                # The caller's encoding (a source line copied in) only for an entry the guard left as it is.
                line = encode(entry) if guarded is entry else dumps(guarded)
                entry = guarded
                lines.append(line)
                size += len(line)
                kind = entry.get("type")
                if keep or (kind != "message" and kind != "custom"):
                    self._apply(entry)
                else:
                    self._apply({"type": kind, "id": entry_id, "parentId": entry.get("parentId")})
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
        for _ in range(3):  # a rotation compaction goes before the exchange, never inside it
            if not self._before_prune(
                b"".join(dumps(self._guard(self._stamp(e, self.leaf_id))) for e in triple)
            ):
                break
        records: list[Entry] = []
        parent = self.leaf_id
        for entry in triple:
            record = self._guard(self._stamp(entry, parent))
            self._taken.add(record["id"])
            records.append(record)
            parent = record["id"]
        try:
            if self._writer is not None:
                self._writer.append_group([dumps(r) for r in records])
        except BaseException:
            for record in records:
                self._taken.discard(record["id"])
            raise
        for record in records:
            self._apply(record)
        for record in records:
            self._appended(record)
        return records

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

    @property
    def retain(self) -> int | None:
        """Rotated segments this session keeps (0 = all), from its header; None when the header has none."""
        value = self.header.get("retain")
        return value if isinstance(value, int) else None

    def sync(self) -> None:
        """fsync the log (end of a turn). Raises :class:`WriteFailed` on I/O error."""
        if self._writer is not None:
            self._writer.sync()

    @property
    def is_empty(self) -> bool:
        """True while the session has no entries beyond its header (nothing was appended, nothing rotated)."""
        return not self.entries and self.segment == 0 and not self.dropped_entries

    @property
    def discardable(self) -> bool:
        """True when :meth:`close` would remove this session now: started here (not imported) and still empty."""
        return self._created_here and self.is_empty

    def close(self, *, remove_if_empty: bool = True) -> None:
        """Sync, close the log and release the lock; idempotent.

        With ``remove_if_empty`` (the default), a session that this process
        started with :meth:`create` (not an import) and that ends with no
        entries beyond its header is removed: its ``<id>.jsonl`` and
        ``<id>.jsonl.lock`` are deleted while the lock is still held
        (:func:`~lime_repl.store.empty.remove_session_files`), and
        :attr:`removed` becomes True. A resumed (:meth:`open`) or imported
        session is never removed. The rule is DESIGN.md's "empty sessions are
        not kept" (the header is still written at start, for durability).
        """
        writer, self._writer = self._writer, None
        try:
            if writer is not None:
                writer.close()
                if remove_if_empty and self.discardable and self.path is not None:
                    from .empty import remove_session_files

                    self.removed = remove_session_files(self.path)
        finally:
            lock, self._lock = self._lock, None
            if lock is not None:
                lock.release()

    # -- queries -------------------------------------------------------
    @property
    def writable(self) -> bool:
        return self._writer is not None

    @property
    def segment(self) -> int:
        """The number of the active segment (0 for the first file)."""
        return self._writer.segment if self._writer is not None else int(self.header.get("segment") or 0)

    def segment_files(self) -> list[Path]:
        """The segment files on disk, newest first (the active file first)."""
        if self.path is None:
            return []
        from .segments import segment_paths

        return list(reversed(segment_paths(self.path)))


def is_locked(path: Path) -> int | None:
    """The pid holding ``path``'s writer lock, or None when it is free (checked by trying it).

    Raises :class:`~lime_repl.errors.StoreError` (exit 1) when the lock path
    is a symlink or a directory: nothing is then known, and nothing is changed.
    """
    lock = SessionLock(path)
    try:
        lock.acquire()
    except LockHeld as held:
        return held.pid or -1
    except UnsafeFile as exc:
        raise StoreError(str(exc.strerror)) from None
    lock.release()
    return None
