"""A session on disk: creating, resuming, loading and closing it.

:class:`Session` adds the files to :class:`~lime_repl.store.state.SessionState`
(the pure replay of entries into a tree with a persisted leaf), read by
:mod:`lime_repl.store.replay` and written by
:class:`~lime_repl.store.appending.SessionLog` (appends, rotation). It is the
only writer: it holds the lock, writes through a
:class:`~lime_repl.store.segments.SegmentWriter` and syncs at turn ends.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TypedDict

from ..errors import StoreError
from .appending import SessionLog, StoreOptions
from .entry_guard import OutputGuard
from .formats import refuse_newer
from .records import Entry, new_entry_id, new_session_id, now_rfc3339, session_header
from .segments import LockHeld, SessionLock, UnsafeFile, WriteFailed, repair_torn_tail, segment_paths

__all__ = ["DECODED_ON_OPEN", "LockHeld", "NewSessionFields", "Session", "StoreOptions", "WriteFailed"]


_DEFAULTS = StoreOptions()

#: Bytes of the newest lines whose decoded entries :meth:`Session.open` keeps for their first read:
#: a resume builds its transcript next, and then decodes again only what this leaves out (about
#: three times as many bytes of dicts, held until that read).
DECODED_ON_OPEN = 8 << 20


class NewSessionFields(TypedDict, total=False):
    """The optional keywords of :meth:`Session.create` that callers pass through (``**fields``)."""

    forked_from: dict[str, str] | None
    imported_from: dict[str, str] | None
    session_id: str | None
    retain: int | None


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


class Session(SessionLog):
    """One session's state and (unless read-only or ephemeral) its writer.

    Build one with :meth:`create`, :meth:`open` (writer, takes the lock),
    :meth:`load` (read-only, no lock) or :meth:`ephemeral` (``--no-session``).
    ``warnings`` collects one line per skipped bad line, repaired tail or
    re-created file, for the caller to show.
    """

    def __init__(self, path: Path | None, session_id: str, header: Entry) -> None:
        super().__init__(path, session_id, header)
        #: Set by :meth:`create` (not for an import): :meth:`close` may remove this session if it stays empty.
        self._created_here = False
        #: True once :meth:`close` removed the session's files because it had no entries.
        self.removed = False

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
        options: StoreOptions = _DEFAULTS,
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
    def load(cls, path: Path, *, lazy: bool = True) -> Session:
        """Read a session without taking its lock (listing, show, export).

        ``lazy`` as in :func:`~lime_repl.store.replay.replay`: entries held as their lines (the default).

        Raises ``FileNotFoundError`` when no segment exists, :class:`~lime_repl.store.formats.NewerFormat`
        when a segment was written by a newer lime; bad lines become warnings.
        """
        from .replay import replay  # a new session never replays: `lime --no-session` does not load it

        refuse_newer(segment_paths(path), path)
        replayed = replay(cls, path, lazy=lazy)
        session = replayed.session
        for seg in replayed.segments:
            if seg.torn:
                session.warnings.append(f"{seg.path}: ignored a torn last line of {len(seg.torn)} bytes")
        return session

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        options: StoreOptions = _DEFAULTS,
        lazy: bool = True,
        keep_decoded: int = DECODED_ON_OPEN,
    ) -> Session:
        """Resume a session as its writer: take the lock, repair a torn tail, replay, append after.

        ``lazy`` and ``keep_decoded`` as in :func:`~lime_repl.store.replay.replay`: lazy entries are
        read back from their segment files, which stay open (``read_back``; the newest
        ``keep_decoded`` bytes of them are also kept as the replay's dicts until their first read,
        :data:`DECODED_ON_OPEN`). The segments of the session keep only their first two lines.

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
        from .replay import replay

        refuse_newer(segment_paths(path), path)
        lock = SessionLock(path)
        lock.acquire()
        try:
            repaired = 0
            if os.path.lexists(path):
                repaired = repair_torn_tail(path)
            replayed = replay(cls, path, lazy=lazy, keep_decoded=keep_decoded, read_back=True)
            session, segments = replayed.session, replayed.segments
            if repaired:
                session.warnings.append(
                    f"{path}: moved a torn last line ({repaired} bytes) to {path.name}.torn; every earlier line is kept"
                )
            last_header = replayed.last_header
            retain = options.backups if replayed.retain is None else replayed.retain
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

    @property
    def retain(self) -> int | None:
        """Rotated segments this session keeps (0 = all), from its header; None when the header has none."""
        value = self.header.get("retain")
        return value if isinstance(value, int) else None

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
