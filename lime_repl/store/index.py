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

:meth:`Index.sync_dir` compares each segment's size, mtime and inode with its
row. A file that only grew is parsed from the stored offset (new lines become
new ``texts`` rows); a renamed file (rotation: ``<id>.jsonl`` -> ``.1``) keeps
its row and rows of text; a replaced or rewritten file is parsed again from
the start; rows of vanished files are dropped. A missing, corrupt or
outdated index file is rebuilt, and when the file cannot be used at all
(read-only cache, a lock held for more than five seconds) an in-memory index
stands in, so listings and searches stay correct, only slower.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_VERSION", "FileRow", "Index", "SeenFile", "entry_texts", "segment_name"]

#: Bumped whenever the tables or what is extracted from the logs change; a mismatch rebuilds the index.
SCHEMA_VERSION = 3
_HEAD = 64
_SEGMENT = re.compile(r"([0-9A-Za-z_-]+)\.jsonl(?:\.([0-9]+))?").fullmatch
_BUSY_MS = 5000
_DROPPED = ("texts_fts", "texts", "files")  # "dirs" (remembered project directories) survives upgrades
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS dirs (path TEXT PRIMARY KEY, scope TEXT)",
    "CREATE TABLE files (id INTEGER PRIMARY KEY, dir TEXT NOT NULL, name TEXT NOT NULL,"
    " ino INTEGER, size INTEGER, mtime_ns INTEGER, offset INTEGER, head BLOB,"
    " session_id TEXT, cwd TEXT, created TEXT, title TEXT, title_set INTEGER,"
    " entries INTEGER, first_message TEXT)",
    "CREATE INDEX files_dir ON files(dir)",
    "CREATE TABLE texts (id INTEGER PRIMARY KEY, file INTEGER NOT NULL, entry TEXT, ts TEXT, kind TEXT,"
    " text TEXT)",
    "CREATE INDEX texts_file ON texts(file)",
    "CREATE VIRTUAL TABLE texts_fts USING fts5(text, content='texts', content_rowid='id',"
    " tokenize='trigram', detail='none')",
    "CREATE TRIGGER texts_ai AFTER INSERT ON texts BEGIN"
    " INSERT INTO texts_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER texts_ad AFTER DELETE ON texts BEGIN"
    " INSERT INTO texts_fts(texts_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
_FIELDS = "id, name, ino, size, mtime_ns, title, title_set, cwd, created, entries, first_message"
_TAGS = (("bash-input", "shell"), ("bash-stdout", "stdout"), ("bash-stderr", "stderr"))


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


#: One segment on disk with its indexed facts: ``(name, stem, number, size, mtime_ns, row)`` where
#: ``row`` is the ``files`` row as a tuple in ``_FIELDS`` order.
SeenFile = tuple[str, str, int, int, int, tuple[Any, ...]]


def entry_texts(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """``(kind, text)`` pairs worth indexing in one entry: the text of messages and ``!`` commands.

    ``kind`` is the role (``user``/``assistant``), ``tool`` for tool results,
    or ``shell``/``stdout``/``stderr`` for the three parts of a bash triple
    (DESIGN.md section 3), whose tags are stripped. Other entries give ``[]``.
    """
    if entry.get("type") != "message":
        return []
    role = entry.get("role") if isinstance(entry.get("role"), str) else "message"
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
    if text and isinstance(entry.get("shell"), dict):
        for tag, kind in _TAGS:
            if text.startswith(f"<{tag}>") and text.endswith(f"</{tag}>"):
                body = text[len(tag) + 2 : -(len(tag) + 3)]
                return [(kind, body)] if body else []
    if text:
        result.append((role, text))
    tool_text = "\n".join(t for t in tools if t)
    if tool_text:
        result.append(("tool", tool_text))
    return result


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _parse(path: str, row: FileRow) -> list[tuple[str, str, str, str]]:
    """Parse ``path`` from ``row.offset`` on (whole lines only), updating ``row``; returns new texts.

    Texts are ``(entry id, timestamp, kind, text)``. Raises ``OSError``.
    """
    with open(path, "rb") as fh:
        if row.offset:
            fh.seek(row.offset)
        data = fh.read()
    if row.offset == 0:
        row.head = data[:_HEAD]
    end = data.rfind(b"\n") + 1
    texts: list[tuple[str, str, str, str]] = []
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
            continue
        if kind == "checkpoint":
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


def _read_head(path: str, n: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


class Index:
    """The SQLite index at ``path`` (None: in memory only). Not shared between threads."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self.in_memory = path is None

    # -- the connection ------------------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        """The open connection, creating or rebuilding the index as needed."""
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        if not self.in_memory:
            assert self.path is not None
            try:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=_BUSY_MS / 1000, isolation_level=None)
                try:
                    os.chmod(self.path, 0o600)
                    self._prepare(db, durable=True)
                except BaseException:
                    db.close()
                    raise
                return db
            except sqlite3.DatabaseError as exc:
                if not self._is_transient(exc) and self._discard():
                    return self._open()
            except OSError:
                pass
            self.in_memory = True
        db = sqlite3.connect(":memory:", isolation_level=None)
        self._prepare(db, durable=False)
        return db

    @staticmethod
    def _prepare(db: sqlite3.Connection, *, durable: bool) -> None:
        if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            db.execute("SELECT 1 FROM files LIMIT 0")
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
                db.execute("ROLLBACK")
                raise
        db.execute("PRAGMA synchronous = NORMAL")

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

    def recover(self, exc: sqlite3.DatabaseError) -> None:
        """After ``exc`` from a query: rebuild a corrupt index, or fall back to memory when it is unusable."""
        self.close()
        if self.in_memory or self._is_transient(exc) or not self._discard():
            self.in_memory = True

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
    def sync_dir(self, directory: str) -> list[SeenFile]:
        """Bring the rows of one sessions directory up to date; returns its segments as :data:`SeenFile`.

        Unchanged files cost one ``stat`` each and no parsing. Raises
        ``sqlite3.DatabaseError`` (see :meth:`recover`).
        """
        on_disk: list[tuple[str, str, int, os.stat_result]] = []
        try:
            with os.scandir(directory) as it:
                for item in it:
                    parsed = segment_name(item.name)
                    if parsed is None:
                        continue
                    try:
                        st = item.stat()
                    except FileNotFoundError:
                        continue
                    on_disk.append((item.name, parsed[0], parsed[1], st))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            on_disk = []
        db = self.db
        cached = {row[1]: row for row in db.execute(f"SELECT {_FIELDS} FROM files WHERE dir = ?", (directory,))}
        seen: list[SeenFile] = []
        stale = len(cached) != len(on_disk)
        for name, stem, number, st in on_disk:
            row = cached.get(name)
            if row is None or (row[2], row[3], row[4]) != (st.st_ino, st.st_size, st.st_mtime_ns):
                stale = True
                break
            seen.append((name, stem, number, st.st_size, st.st_mtime_ns, row))
        if not stale:
            return seen
        rows = self._apply(directory, on_disk)
        return [
            (name, stem, number, st.st_size, st.st_mtime_ns, rows[name])
            for name, stem, number, st in on_disk
            if name in rows
        ]

    def _apply(self, directory: str, on_disk: list[tuple[str, str, int, os.stat_result]]) -> dict[str, tuple]:
        """Re-read the directory's rows under the write lock and reconcile them with ``on_disk``."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            result = self._reconcile(db, directory, on_disk)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return result

    def _reconcile(
        self, db: sqlite3.Connection, directory: str, on_disk: list[tuple[str, str, int, os.stat_result]]
    ) -> dict[str, tuple]:
        cached: dict[str, FileRow] = {}
        for values in db.execute(
            "SELECT name, ino, size, mtime_ns, offset, head, session_id, cwd, created, title, title_set,"
            " entries, first_message, id FROM files WHERE dir = ?",
            (directory,),
        ):
            row = FileRow(*values)
            row.head = bytes(row.head or b"")
            cached[row.name] = row
        claimed: set[int] = set()
        final: dict[str, FileRow] = {}
        changed: list[tuple[str, os.stat_result]] = []
        for name, _stem, _number, st in on_disk:
            row = cached.get(name)
            if row is not None and (row.ino, row.size, row.mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns):
                assert row.id is not None
                claimed.add(row.id)
                final[name] = row
            else:
                changed.append((name, st))
        by_ino: dict[int, list[FileRow]] = {}
        for row in cached.values():
            by_ino.setdefault(row.ino, []).append(row)
        new_texts: list[tuple[FileRow, list[tuple[str, str, str, str]]]] = []
        for name, st in changed:
            path = os.path.join(directory, name)
            row = self._reuse(path, st, by_ino.get(st.st_ino, []), claimed)
            if row is None:
                row = FileRow(name, st.st_ino, st.st_size, st.st_mtime_ns)
            else:
                assert row.id is not None
                claimed.add(row.id)
            row.name, row.ino = name, st.st_ino
            if (row.size, row.mtime_ns) != (st.st_size, st.st_mtime_ns) or row.offset == 0:
                row.size, row.mtime_ns = st.st_size, st.st_mtime_ns
                try:
                    texts = _parse(path, row)
                except OSError:
                    continue
                new_texts.append((row, texts))
            final[name] = row
        dropped = [(row.id,) for row in cached.values() if row.id not in claimed]
        if dropped:
            db.executemany("DELETE FROM texts WHERE file = ?", dropped)
            db.executemany("DELETE FROM files WHERE id = ?", dropped)
        for row in final.values():
            values = (
                row.name, row.ino, row.size, row.mtime_ns, row.offset, row.head, row.session_id, row.cwd,
                row.created, row.title, int(row.title_set), row.entries, row.first_message,
            )  # fmt: skip
            if row.id is None:
                cursor = db.execute(
                    "INSERT INTO files (dir, name, ino, size, mtime_ns, offset, head, session_id, cwd, created,"
                    " title, title_set, entries, first_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (directory, *values),
                )
                row.id = cursor.lastrowid
            else:
                db.execute(
                    "UPDATE files SET name = ?, ino = ?, size = ?, mtime_ns = ?, offset = ?, head = ?,"
                    " session_id = ?, cwd = ?, created = ?, title = ?, title_set = ?, entries = ?,"
                    " first_message = ? WHERE id = ?",
                    (*values, row.id),
                )
        for row, texts in new_texts:
            db.executemany(
                "INSERT INTO texts (file, entry, ts, kind, text) VALUES (?, ?, ?, ?, ?)",
                [(row.id, *text) for text in texts],
            )
        return {
            name: (
                row.id, row.name, row.ino, row.size, row.mtime_ns, row.title, int(row.title_set), row.cwd,
                row.created, row.entries, row.first_message,
            )  # fmt: skip
            for name, row in final.items()
        }

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
                head = _read_head(path, len(row.head)) if row.head else b""
            except OSError:
                return None
            grew_only = st.st_size > row.size or (st.st_size, st.st_mtime_ns) == (row.size, row.mtime_ns)
            if head == row.head and st.st_size >= row.offset and grew_only:
                return row
            if row.name == name:
                return None
        return None

    # -- reading -------------------------------------------------------
    def texts(self, file_ids: set[int], fts_query: str | None) -> Iterator[tuple[int, str, str, str, str]]:
        """``(file id, entry id, timestamp, kind, text)`` of the indexed texts of ``file_ids``.

        With ``fts_query`` (an FTS5 expression over trigrams) only the rows it
        matches, a superset of the rows a regular expression with those
        literals can match; without it, every row of those files.
        """
        if fts_query is None:
            for file_id in sorted(file_ids):
                yield from self.db.execute(
                    "SELECT file, entry, ts, kind, text FROM texts WHERE file = ? ORDER BY id", (file_id,)
                )
            return
        cursor = self.db.execute(
            "SELECT t.file, t.entry, t.ts, t.kind, t.text FROM texts_fts JOIN texts AS t"
            " ON t.id = texts_fts.rowid WHERE texts_fts MATCH ? ORDER BY t.id",
            (fts_query,),
        )
        for row in cursor:
            if row[0] in file_ids:
                yield row
