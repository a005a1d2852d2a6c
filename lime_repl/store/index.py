"""The catalog's SQLite index: per-segment summaries and a full-text table, kept in step with the files.

The index (``index.sqlite``, DESIGN.md section 2) is derived data. It holds:

* ``files``: one row per segment file (``dir``, ``name``), with the ``ino``,
  ``size`` and ``mtime_ns`` it was parsed at, the byte ``offset`` parsing
  reached (always just after a ``\\n``), the file's first bytes (``head``, to
  recognise a file after a rename), and what a listing needs: session id,
  cwd, created, title, entry count and the first user message;
* ``texts``: one row per message entry that has text (``file``, ``entry`` id,
  ``ts``, ``kind``, ``text``), with ``texts_fts`` an FTS5 index over it
  (external content, trigram tokenizer, so any literal of three or more
  characters can narrow a regular-expression search);
* ``dirs``: project sessions directories seen before (for ``--all``).

:meth:`Index.refresh` compares each segment's size, mtime and inode with its
row (a digest of them per directory makes the unchanged case one query). A file that only grew is parsed from the stored offset (new lines become
new ``texts`` rows); a renamed file (rotation: ``<id>.jsonl`` -> ``.1``) keeps
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

import hashlib
import os
import sqlite3
from pathlib import Path

from .extract import FileRow, parse_from, read_head, segment_name
from .index_schema import LISTED, SCHEMA_VERSION, SeenFile, prepare

__all__ = ["SCHEMA_VERSION", "Index", "SeenFile"]

_BUSY_MS = 5000
_PARSE_BUDGET = 4 << 20  # bytes of log parsed per write transaction
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
    @staticmethod
    def _scan(directory: str) -> list[tuple[str, os.stat_result]]:
        """The segment files of ``directory`` with their ``stat`` (empty when it does not exist)."""
        on_disk = []
        try:
            with os.scandir(directory) as it:
                for item in it:
                    name = item.name
                    if not name.endswith(".jsonl") and (".jsonl." not in name or not name[-1].isdigit()):
                        continue  # fast filter; _reconcile checks names fully
                    try:
                        on_disk.append((name, item.stat()))
                    except FileNotFoundError:
                        continue
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return []
        return on_disk

    @staticmethod
    def _signature(on_disk: list[tuple[str, os.stat_result]]) -> bytes:
        """A digest of every segment's name, inode, size and mtime: equal means nothing to re-read."""
        text = "\n".join(f"{name}/{st.st_ino}/{st.st_size}/{st.st_mtime_ns}" for name, st in on_disk)
        return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).digest()

    def refresh(self, directory: str) -> None:
        """Bring the rows of one sessions directory up to date with its files.

        Costs one ``stat`` per segment and one query when nothing changed (the
        directory's stored signature matches); otherwise the changed files are
        parsed under the index's write lock, in transactions of about
        ``_PARSE_BUDGET`` bytes of log each. Raises ``sqlite3.DatabaseError``
        (see :meth:`recover`).
        """
        on_disk = self._scan(directory)
        signature = self._signature(on_disk)
        db = self.db
        stored = db.execute("SELECT sig FROM dirsigs WHERE dir = ?", (directory,)).fetchone()
        if stored is not None and stored[0] == signature:
            return
        if (
            not on_disk
            and db.execute("SELECT 1 FROM files WHERE dir = ? LIMIT 1", (directory,)).fetchone() is None
        ):
            return
        if not self._room_for(min(sum(st.st_size for _, st in on_disk), _PARSE_BUDGET)):
            self._give_up_file("too little free space for the index")
            self.refresh(directory)  # in memory now
            return
        complete = False
        while not complete:  # one transaction per _PARSE_BUDGET bytes, so other lime processes get a turn
            db.execute("BEGIN IMMEDIATE")
            try:
                complete = self._reconcile(db, directory, on_disk)
                if complete:
                    db.execute(
                        "INSERT OR REPLACE INTO dirsigs (dir, sig) VALUES (?, ?)", (directory, signature)
                    )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite may have rolled back by itself (a full disk)
                    db.execute("ROLLBACK")
                raise

    def sync_dir(self, directory: str) -> list[SeenFile]:
        """:meth:`refresh`, then the directory's segments as :data:`SeenFile`, by stem, active file first."""
        self.refresh(directory)
        rows = self.db.execute(
            f"SELECT {LISTED} FROM files WHERE dir = ? ORDER BY stem, number", (directory,)
        ).fetchall()
        return [SeenFile(*row) for row in rows]

    def _reconcile(
        self, db: sqlite3.Connection, directory: str, on_disk: list[tuple[str, os.stat_result]]
    ) -> bool:
        """Re-read the directory's rows (under the write lock) and reconcile them with ``on_disk``.

        Parses at most about ``_PARSE_BUDGET`` bytes; returns False when files
        were left for another round. A file left over keeps its old row (renamed
        if it moved, with its old size so that it still reads as changed) or,
        when new, gets none yet; the rows stay consistent between rounds.
        """
        cached: dict[str, FileRow] = {}
        for values in db.execute(
            "SELECT name, ino, size, mtime_ns, offset, head, session_id, cwd, created, title, title_set,"
            " entries, first_message, id, dropped FROM files WHERE dir = ?",
            (directory,),
        ):
            fresh = FileRow(*values)
            fresh.head = bytes(fresh.head or b"")
            cached[fresh.name] = fresh
        claimed: set[int] = set()
        changed: list[tuple[str, os.stat_result]] = []
        for name, st in on_disk:
            row = cached.get(name)
            if row is not None and (row.ino, row.size, row.mtime_ns) == (
                st.st_ino,
                st.st_size,
                st.st_mtime_ns,
            ):
                assert row.id is not None
                claimed.add(row.id)
            else:
                changed.append((name, st))
        by_ino: dict[int, list[FileRow]] = {}
        for row in cached.values():
            by_ino.setdefault(row.ino, []).append(row)
        new_texts: list[tuple[FileRow, list[tuple[str, str, str, str]]]] = []
        dirty: list[FileRow] = []
        budget, complete = _PARSE_BUDGET, True
        for name, st in changed:
            if segment_name(name) is None:
                continue
            path = os.path.join(directory, name)
            row = self._reuse(path, st, by_ino.get(st.st_ino, []), claimed)
            needs_parse = (
                row is None or (row.size, row.mtime_ns) != (st.st_size, st.st_mtime_ns) or row.offset == 0
            )
            cost = st.st_size - (row.offset if row is not None else 0)
            if needs_parse and cost > budget and budget < _PARSE_BUDGET:
                complete = False
                if row is None:
                    continue
                needs_parse = False  # renamed now, parsed in a later round
            if row is None:
                row = FileRow(name, st.st_ino, st.st_size, st.st_mtime_ns)
            else:
                assert row.id is not None
                claimed.add(row.id)
            row.name, row.ino = name, st.st_ino
            if needs_parse:
                budget -= cost
                row.size, row.mtime_ns = st.st_size, st.st_mtime_ns
                try:
                    texts = parse_from(path, row)
                except OSError:
                    continue
                new_texts.append((row, texts))
            dirty.append(row)
        dropped = [(row.id,) for row in cached.values() if row.id not in claimed]
        if dropped:
            db.executemany("DELETE FROM texts WHERE file = ?", dropped)
            db.executemany("DELETE FROM files WHERE id = ?", dropped)
        for row in dirty:
            stem, number = segment_name(row.name) or (row.name, 0)
            values = (
                row.name,
                stem,
                number,
                row.ino,
                row.size,
                row.mtime_ns,
                row.offset,
                row.head,
                row.session_id,
                row.cwd,
                row.created,
                row.title,
                int(row.title_set),
                row.entries,
                row.first_message,
                row.dropped,
            )
            if row.id is None:
                cursor = db.execute(
                    "INSERT INTO files (dir, name, stem, number, ino, size, mtime_ns, offset, head, session_id, cwd,"
                    " created, title, title_set, entries, first_message, dropped)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (directory, *values),
                )
                row.id = cursor.lastrowid
            else:
                db.execute(
                    "UPDATE files SET name = ?, stem = ?, number = ?, ino = ?, size = ?, mtime_ns = ?, offset = ?,"
                    " head = ?,"
                    " session_id = ?, cwd = ?, created = ?, title = ?, title_set = ?, entries = ?,"
                    " first_message = ?, dropped = ? WHERE id = ?",
                    (*values, row.id),
                )
        for row, texts in new_texts:
            db.executemany(
                "INSERT INTO texts (file, entry, ts, kind, text) VALUES (?, ?, ?, ?, ?)",
                [(row.id, *text) for text in texts],
            )
        return complete

    @staticmethod
    def _reuse(path: str, st: os.stat_result, rows: list[FileRow], claimed: set[int]) -> FileRow | None:
        """The row this file continues (same inode, same first bytes, not shorter), reset if it was rewritten.

        Without one, None: the file is parsed from the start as a new row. A row
        whose own file was rewritten in place (same name, same inode, but
        shorter, another head or the same size with a new mtime) is reset and
        its texts deleted.
        """
        name = os.path.basename(path)
        for row in rows:
            if row.id in claimed:
                continue
            try:
                head = read_head(path, len(row.head)) if row.head else b""
            except OSError:
                return None
            grew_only = st.st_size > row.size or (st.st_size, st.st_mtime_ns) == (row.size, row.mtime_ns)
            if head == row.head and st.st_size >= row.offset and grew_only:
                return row
            if row.name == name:
                return None
        return None
