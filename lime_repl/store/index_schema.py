"""The catalog index's tables and connection settings (see :mod:`lime_repl.store.index`).

A durable index uses a WAL journal capped so that the cache never holds much
more than its tables: ``journal_size_limit`` truncates the WAL back to 1 MiB
after a checkpoint, and ``wal_autocheckpoint`` checkpoints every 256 pages
(about 1 MiB) instead of SQLite's default 1,000. Nothing is fsynced
(``synchronous = OFF``): the index is a cache that is rebuilt when damaged.
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

__all__ = ["LISTED", "SCHEMA_VERSION", "SeenFile", "prepare"]

#: Bumped whenever the tables or what is extracted from the logs change; a mismatch rebuilds the index.
SCHEMA_VERSION = 9
#: The WAL is truncated back to this many bytes after a checkpoint, checkpointed every 256 pages (1 MiB).
_WAL_LIMIT = 1 << 20
_WAL_PAGES = 256
# Dropped on a schema change; "dirs" (remembered project directories) survives upgrades.
_DROPPED = ("texts_fts", "texts", "files", "dirsigs")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS dirs (path TEXT PRIMARY KEY, scope TEXT)",
    "CREATE TABLE files (id INTEGER PRIMARY KEY, dir TEXT NOT NULL, name TEXT NOT NULL,"
    " stem TEXT NOT NULL, number INTEGER NOT NULL, ino INTEGER, size INTEGER, mtime_ns INTEGER, offset INTEGER, head BLOB,"
    " session_id TEXT, cwd TEXT, created TEXT, title TEXT, title_set INTEGER,"
    " entries INTEGER, first_message TEXT, dropped INTEGER, texted INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX files_dir ON files(dir, stem, number)",
    # Only the segments whose full text is not indexed yet: what Index.fill_texts looks for.
    "CREATE INDEX files_untexted ON files(id) WHERE texted < offset",
    "CREATE TABLE texts (id INTEGER PRIMARY KEY, file INTEGER NOT NULL, entry TEXT, ts TEXT, kind TEXT,"
    " text TEXT)",
    "CREATE INDEX texts_file ON texts(file)",
    "CREATE TABLE dirsigs (dir TEXT PRIMARY KEY, sig BLOB)",
    "CREATE VIRTUAL TABLE texts_fts USING fts5(text, content='texts', content_rowid='id',"
    " tokenize='trigram', detail='none')",
    "CREATE TRIGGER texts_ai AFTER INSERT ON texts BEGIN"
    " INSERT INTO texts_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER texts_ad AFTER DELETE ON texts BEGIN"
    " INSERT INTO texts_fts(texts_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
LISTED = "stem, number, name, size, mtime_ns, title, title_set, cwd, created, entries, first_message, dropped"

class SeenFile(NamedTuple):
    """One segment file as listed by the index, in the column order of :data:`LISTED`."""

    #: The session id (the file name before ``.jsonl``).
    stem: str
    #: -1 for the active file, N for the rotated copy ``.N``.
    number: int
    #: The file name inside the sessions directory.
    name: str
    #: Bytes.
    size: int
    #: Modification time in nanoseconds since the epoch.
    mtime_ns: int
    #: The title this segment sets (None also when it sets none: see ``title_set``).
    title: str | None
    #: 1 when the segment sets the title (to ``title``, which may be None), else 0.
    title_set: int
    cwd: str | None
    created: str | None
    #: Entries in this segment.
    entries: int
    first_message: str | None
    #: The ``droppedEntries`` of the segment's checkpoint (0 for a first segment).
    dropped: int | None


def prepare(db: sqlite3.Connection, *, durable: bool) -> None:
    """Create or upgrade the tables (a schema change drops the derived ones) and set the journal pragmas."""
    if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        db.execute("SELECT 1 FROM files, texts, texts_fts, dirsigs, dirs LIMIT 0")
    else:
        if durable:
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                for trigger in ("texts_ai", "texts_ad"):
                    db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
                for table in _DROPPED:
                    db.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in _SCHEMA:
                    db.execute(statement)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    # The index is derived from the logs: a commit need not reach the disk (a crash of this process loses
    # nothing in WAL mode; a power cut may leave a damaged file, which the index detects and rebuilds).
    db.execute("PRAGMA synchronous = OFF")
    if durable:
        db.execute(f"PRAGMA journal_size_limit = {_WAL_LIMIT}")
        db.execute(f"PRAGMA wal_autocheckpoint = {_WAL_PAGES}")
