"""The catalog's SQLite index: per-segment summaries and a full-text table, kept in step with the files.

The index (``index.sqlite``, DESIGN.md section 2) is derived data. It holds:

* ``files``: one row per segment file (``dir``, ``name``), with the ``ino``,
  ``size`` and ``mtime_ns`` it was read at, the byte ``offset`` its listing
  facts were read to and ``texted``, how far its full text is in ``texts``
  (both always just after a ``\\n``, ``texted <= offset``), the file's first
  bytes (``head``, to recognise a file after a rename), and what a listing
  needs: session id, cwd, created, title, entry count, the first user
  message and ``dropped``;
* ``texts``: one row per message entry that has text (``file``, ``entry`` id,
  ``ts``, ``kind``, ``text``), with ``texts_fts`` an FTS5 index over it
  (external content, trigram tokenizer, so any literal of three or more
  characters can narrow a regular-expression search);
* ``dirs``: project sessions directories seen before (for ``--all``);
* ``dirsigs``: each directory's signature as last reconciled
  (:func:`~.index_files.scan`).

:meth:`Index.refresh` compares each segment's size, mtime and inode with its
row (the exact bytes of them per directory, every directory's read in one
query, make the unchanged case cheap) and reads only listing facts: the
header, checkpoint, ``title`` lines, first user message and a count of
lines (:func:`~.extract.read_facts`), so a cold listing never waits for the
full text. :meth:`Index.fill_texts` indexes the full text afterwards, from
where it stopped, when a search needs it. A file that only grew is read from
the stored offset (its new lines become new ``texts`` rows at the next
search); a renamed file (rotation: ``<id>.jsonl`` -> ``.1``) keeps
its row and rows of text; a replaced or rewritten file is parsed again from
the start; rows of vanished files are dropped. A missing, corrupt or
outdated index file is rebuilt, and when the file cannot be used at all
(read-only cache, a lock held for more than five seconds) an in-memory index
stands in, so listings and searches stay correct, only slower.

The index is a cache and never takes the space the logs need: before a
write that parses log, the cache's file system must have 16 MiB free plus
four times the bytes to parse (``os.statvfs``); with less, or when SQLite
reports a full disk, the index file is deleted and memory used instead
(:attr:`Index.degraded` says why). The WAL is capped (:mod:`.index_schema`).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

from .extract import FileRow, read_texts
from .index_files import reconcile, scan
from .index_schema import LISTED, SCHEMA_VERSION, SeenFile, prepare

__all__ = ["SCHEMA_VERSION", "Index", "SeenFile"]

_BUSY_MS = 5000
_PARSE_BUDGET = 4 << 20  # bytes of log whose full text is indexed per write transaction
_FACTS_BUDGET = 64 << 20  # bytes of log read for listing facts per write transaction (no text is parsed)
#: Free space the index leaves to the logs: a write needs this much free on the cache's file system, plus
#: ``_GROWTH`` times the bytes of log it is about to parse (the text and its trigram index).
_RESERVE = 16 << 20
_GROWTH = 4
#: Words of the SQLite errors that mean the disk (or quota) is full.
_FULL = ("database or disk is full", "disk quota", "no space", "disk i/o error")


class Index:
    """The SQLite index at ``path`` (None: in memory only); callers serialize access (``Catalog.guarded``)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self.in_memory = path is None
        #: Why the index file was given up for memory (e.g. the disk is full); None while it is used.
        self.degraded: str | None = None
        #: The rows (LISTED columns) of the directories the last refresh rewrote, as committed.
        self._written: dict[str, list[tuple[object, ...]]] = {}

    # -- the connection ------------------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        """The open connection, creating or rebuilding the index as needed."""
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self, retry: bool = True) -> sqlite3.Connection:
        if not self.in_memory:
            assert self.path is not None
            try:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                db = sqlite3.connect(
                    self.path, timeout=_BUSY_MS / 1000, isolation_level=None, check_same_thread=False
                )
                try:
                    os.chmod(self.path, 0o600)
                    prepare(db, durable=True)
                except BaseException:
                    db.close()
                    raise
                return db
            except sqlite3.DatabaseError as exc:
                if self._is_full(exc):
                    self._discard()
                    self.degraded = "the disk is full"
                elif retry and not self._is_transient(exc) and self._discard():
                    return self._open(retry=False)
            except OSError:
                pass
            self.in_memory = True
        db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        prepare(db, durable=False)
        return db

    @staticmethod
    def _is_transient(exc: sqlite3.DatabaseError) -> bool:
        text = str(exc).lower()
        return isinstance(exc, sqlite3.OperationalError) and any(
            word in text for word in ("locked", "busy", "readonly", "read-only", "unable to open", "disk i/o")
        )

    def _discard(self) -> bool:
        """Delete a corrupt index file (and its WAL files); True when it could be deleted."""
        assert self.path is not None
        try:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        except OSError:
            return False
        return True

    @staticmethod
    def _is_damage(exc: sqlite3.DatabaseError) -> bool:
        """A corrupt file, a foreign database or missing tables (not a mistake in a query)."""
        if not isinstance(exc, sqlite3.OperationalError):
            return True
        text = str(exc).lower()
        return any(word in text for word in ("no such table", "no such column", "malformed", "corrupt"))

    @staticmethod
    def _is_full(exc: BaseException) -> bool:
        return isinstance(exc, (sqlite3.OperationalError, OSError)) and any(
            word in str(exc).lower() for word in _FULL
        )

    def _give_up_file(self, reason: str) -> None:
        """Use memory from now on and delete the index file, so the space it held goes back to the logs."""
        self.close()
        if not self.in_memory and self.path is not None:
            self._discard()
        self.in_memory = True
        self.degraded = reason

    def _room_for(self, cost: int) -> bool:
        """True when the cache's file system has room for ``cost`` bytes of log indexed plus the reserve."""
        if self.in_memory or self.path is None:
            return True
        try:
            st = os.statvfs(self.path.parent)
        except OSError:
            return True
        return st.f_bavail * st.f_frsize >= _RESERVE + _GROWTH * cost

    def recover(self, exc: sqlite3.DatabaseError) -> bool:
        """After ``exc`` from a query: rebuild a damaged index, or use memory when the file is unusable.

        A full disk deletes the index file (it is a cache) and uses memory.
        Returns False when ``exc`` is neither (a bad query): the caller re-raises it.
        """
        if self._is_full(exc):
            self._give_up_file("the disk is full")
            return True
        if self._is_transient(exc):
            self.close()
            self.in_memory = True
            return True
        if not self._is_damage(exc):
            return False
        self.close()
        if self.in_memory or not self._discard():
            self.in_memory = True
        return True

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()

    # -- directories ---------------------------------------------------
    def remember_dir(self, directory: str, scope: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO dirs (path, scope) VALUES (?, ?)", (directory, scope))

    def known_dirs(self) -> list[tuple[str, str]]:
        return self.db.execute("SELECT path, scope FROM dirs").fetchall()

    # -- keeping in step -----------------------------------------------
    def refresh(self, directory: str) -> None:
        """Bring the listing rows of one sessions directory up to date with its files (see :meth:`refresh_all`)."""
        row = self.db.execute("SELECT sig FROM dirsigs WHERE dir = ?", (directory,)).fetchone()
        self._update([directory], {directory: row[0]} if row is not None else {})

    def refresh_all(self, directories: Iterable[str]) -> None:
        """Bring the listing rows of ``directories`` up to date with their files.

        Costs one ``stat`` per segment and a single query for all the stored
        signatures when nothing changed; otherwise the changed directories'
        listing facts are read under the index's write lock
        (:func:`~.extract.read_facts`, no full text: see :meth:`fill_texts`),
        several directories per transaction of at most about
        ``_FACTS_BUDGET`` bytes of log. Raises ``sqlite3.DatabaseError`` (see :meth:`recover`).
        """
        wanted = list(directories)
        self._update(wanted, dict(self.db.execute("SELECT dir, sig FROM dirsigs").fetchall()))

    def _update(self, directories: list[str], stored: dict[str, bytes]) -> None:
        self._written = {}
        db = self.db
        pending = []
        for directory in directories:
            on_disk, signature = scan(directory)
            if stored.get(directory) == signature:
                continue
            if (
                not on_disk
                and db.execute("SELECT 1 FROM files WHERE dir = ? LIMIT 1", (directory,)).fetchone() is None
            ):
                continue
            pending.append((directory, on_disk, signature))
        if not pending:
            return
        if not self._room_for(0):
            self._give_up_file("too little free space for the index")
            self._update(directories, {})  # in memory now
            return
        while pending:  # transactions of _FACTS_BUDGET bytes, so other lime processes get a turn
            left = []
            written: dict[str, list[tuple[object, ...]]] = {}
            db.execute("BEGIN IMMEDIATE")
            try:
                budget = _FACTS_BUDGET
                for item in pending:
                    directory, on_disk, signature = item
                    if budget <= 0:
                        left.append(item)
                        continue
                    complete, budget, listed = reconcile(db, directory, on_disk, budget, _FACTS_BUDGET)
                    if complete:
                        db.execute(
                            "INSERT OR REPLACE INTO dirsigs (dir, sig) VALUES (?, ?)", (directory, signature)
                        )
                        if listed is not None:
                            written[directory] = listed
                    else:
                        left.append(item)
                db.execute("COMMIT")
            except BaseException:
                self._written = {}
                if db.in_transaction:  # SQLite may have rolled back by itself (a full disk)
                    db.execute("ROLLBACK")
                raise
            self._written.update(written)
            pending = left

    def fill_texts(
        self, directories: Iterable[str], progress: Callable[[int, int], None] | None = None
    ) -> None:
        """Index the full text of every segment of ``directories`` not yet indexed (call :meth:`refresh` first).

        Reads each file from where its text was indexed up to where its
        listing facts were read, in write transactions of about
        ``_PARSE_BUDGET`` bytes, checking free space before each.
        ``progress(done, total)`` (bytes of log) is called after each
        transaction when there was anything to do. Raises
        ``sqlite3.DatabaseError`` (see :meth:`recover`).
        """
        db = self.db
        wanted = list(directories)
        chosen = set(wanted)
        # One query for all directories; the partial index files_untexted holds only the rows it selects,
        # so a warm search reads none.
        pending: list[tuple[int, str, str, int, int]] = [
            row
            for row in db.execute(
                "SELECT id, dir, name, texted, offset FROM files WHERE texted < offset ORDER BY id DESC"
            )
            if row[1] in chosen
        ]
        total = sum(offset - texted for _, _, _, texted, offset in pending)
        done = 0
        while pending:
            batch: list[tuple[int, str, str, int, int]] = []
            cost = 0
            while pending and (not batch or cost + pending[-1][4] - pending[-1][3] <= _PARSE_BUDGET):
                item = pending.pop()
                batch.append(item)
                cost += item[4] - item[3]
            if not self._room_for(cost):
                self._give_up_file("too little free space for the index")
                self.refresh_all(wanted)  # in memory now
                self.fill_texts(wanted, progress)
                return
            db.execute("BEGIN IMMEDIATE")
            try:
                for file_id, directory, name, _texted, _offset in batch:
                    # Re-read under the write lock: another process may have indexed it meanwhile.
                    now = db.execute(
                        "SELECT name, ino, texted, offset FROM files WHERE id = ?", (file_id,)
                    ).fetchone()
                    if now is None or now[2] >= now[3]:
                        continue
                    name = now[0]
                    row = FileRow(name, now[1], 0, 0, offset=now[3], texted=now[2])
                    try:
                        texts = read_texts(os.path.join(directory, name), row)
                    except OSError:
                        continue
                    db.executemany(
                        "INSERT INTO texts (file, entry, ts, kind, text) VALUES (?, ?, ?, ?, ?)",
                        [(file_id, *text) for text in texts],
                    )
                    db.execute("UPDATE files SET texted = ? WHERE id = ?", (row.texted, file_id))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            done += cost
            if progress is not None:
                progress(done, total)

    def sync_dir(self, directory: str) -> list[SeenFile]:
        """:meth:`refresh`, then the directory's segments as :data:`SeenFile`, by stem, active file first."""
        self.refresh(directory)
        return self.rows(directory)

    def rows(self, directory: str) -> list[SeenFile]:
        """The directory's segments as :data:`SeenFile` as last refreshed, by stem, active file first."""
        rows = self.db.execute(
            f"SELECT {LISTED} FROM files WHERE dir = ? ORDER BY stem, number", (directory,)
        ).fetchall()
        return [SeenFile(*row) for row in rows]

    def sync_rows(self, directories: list[str]) -> list[list[tuple[object, ...]]]:
        """:meth:`sync_all` with each row a plain tuple in :data:`LISTED` order (no :data:`SeenFile` per file).

        The rows of a directory this refresh rewrote are the ones it committed (not read back).
        """
        self.refresh_all(directories)
        written, self._written = self._written, {}
        query = f"SELECT {LISTED} FROM files WHERE dir = ? ORDER BY stem, number"
        execute = self.db.execute
        return [
            written[directory] if directory in written else execute(query, (directory,)).fetchall()
            for directory in directories
        ]

    def sync_all(self, directories: list[str]) -> list[list[SeenFile]]:
        """:meth:`refresh_all`, then :meth:`rows` of each directory, in the order given."""
        self.refresh_all(directories)
        return [self.rows(directory) for directory in directories]
