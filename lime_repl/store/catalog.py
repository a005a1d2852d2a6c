"""The session catalog: list sessions, resolve ``latest``/id prefix/path, cached in SQLite.

Sessions are found from the files themselves (``<id>.jsonl`` and its rotated
``.N`` copies in a sessions directory), so the catalog works after a crash as
well as after a clean exit. What a listing needs from inside the files (title,
entry count, first user message) is cached per segment file in ``index.sqlite``
keyed by size, mtime and inode; a file that only grew is parsed from where the
cache stopped. The index is derived data: when it is missing, locked or
corrupt, the catalog parses the files and, if it can, rebuilds it.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["AmbiguousSession", "Catalog", "SessionInfo", "SessionNotFound"]

_SEGMENT = re.compile(r"^([0-9A-Za-z_-]+)\.jsonl(?:\.(\d+))?$")
_HEX = re.compile(r"^[0-9a-f]+$")
_SCHEMA = 2


class SessionNotFound(LookupError):
    """No session matches; ``str()`` is the one-line message."""


class AmbiguousSession(LookupError):
    """An id prefix matches several sessions; ``candidates`` holds them, newest first."""

    def __init__(self, prefix: str, candidates: list[SessionInfo]) -> None:
        shown = ", ".join(f"{c.id[:12]} ({c.title or 'untitled'})" for c in candidates[:10])
        more = f" and {len(candidates) - 10} more" if len(candidates) > 10 else ""
        super().__init__(f"session prefix '{prefix}' is ambiguous: {shown}{more}")
        self.candidates = candidates


@dataclass(slots=True)
class SessionInfo:
    """One session as listed: the fields of ``lime session list --format json`` (DESIGN.md section 1)."""

    id: str
    path: Path
    scope: str
    title: str | None = None
    cwd: str | None = None
    created: str | None = None
    updated: str = ""
    entries: int = 0
    bytes: int = 0
    segments: list[Path] = field(default_factory=list)
    first_message: str | None = None
    mtime_ns: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "cwd": self.cwd,
            "created": self.created,
            "updated": self.updated,
            "entries": self.entries,
            "bytes": self.bytes,
            "segments": [str(p) for p in self.segments],
            "path": str(self.path),
            "scope": self.scope,
        }


@dataclass(slots=True)
class _FileSummary:
    size: int
    mtime_ns: int
    ino: int
    offset: int = 0
    session_id: str | None = None
    cwd: str | None = None
    created: str | None = None
    title: str | None = None
    title_set: bool = False
    entries: int = 0
    first_message: str | None = None


def _rfc3339_ns(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _first_text(entry: dict[str, Any]) -> str | None:
    content = entry.get("content")
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                return block["text"][:200]
    return content[:200] if isinstance(content, str) else None


def _summarize(path: Path, summary: _FileSummary) -> None:
    """Parse ``path`` from ``summary.offset`` on, updating the summary in place (whole lines only)."""
    with open(path, "rb") as fh:
        fh.seek(summary.offset)
        data = fh.read()
    end = data.rfind(b"\n") + 1
    for raw in data[:end].splitlines():
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        kind = entry.get("type")
        if kind == "session":
            if summary.session_id is None:
                summary.session_id = (
                    entry.get("sessionId") if isinstance(entry.get("sessionId"), str) else None
                )
                summary.cwd = entry.get("cwd") if isinstance(entry.get("cwd"), str) else None
                summary.created = entry.get("created") if isinstance(entry.get("created"), str) else None
            continue
        if kind == "checkpoint":
            if "title" in entry:
                summary.title = entry["title"] if isinstance(entry["title"], str) else None
                summary.title_set = True
            continue
        summary.entries += 1
        if kind == "title":
            summary.title = entry.get("title") if isinstance(entry.get("title"), str) else None
            summary.title_set = True
        elif kind == "message" and summary.first_message is None and entry.get("role") == "user":
            summary.first_message = _first_text(entry)
    summary.offset += end


class Catalog:
    """Lists and resolves sessions; ``index_path`` is the SQLite cache (None: no cache)."""

    def __init__(self, index_path: Path | None) -> None:
        self.index_path = index_path
        self._db: sqlite3.Connection | None = None
        self._db_failed = index_path is None

    # -- the cache -----------------------------------------------------
    def _connect(self) -> sqlite3.Connection | None:
        if self._db is not None or self._db_failed:
            return self._db
        assert self.index_path is not None
        try:
            self.index_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            db = sqlite3.connect(self.index_path, timeout=2.0, isolation_level=None)
            os.chmod(self.index_path, 0o600)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != _SCHEMA:
                db.executescript(
                    "DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS dirs;"
                    "CREATE TABLE files (path TEXT PRIMARY KEY, dir TEXT, summary TEXT);"
                    "CREATE INDEX files_dir ON files(dir);"
                    "CREATE TABLE dirs (path TEXT PRIMARY KEY, scope TEXT);"
                    f"PRAGMA user_version = {_SCHEMA};"
                )
            self._db = db
        except sqlite3.Error:
            self._db_failed = True
            try:
                if self.index_path.exists():
                    self.index_path.unlink()
            except OSError:
                pass
        except OSError:
            self._db_failed = True
        return self._db

    def _cached(self, directory: Path) -> dict[str, _FileSummary]:
        db = self._connect()
        if db is None:
            return {}
        try:
            rows = db.execute("SELECT path, summary FROM files WHERE dir = ?", (str(directory),)).fetchall()
        except sqlite3.Error:
            return {}
        result = {}
        for path, text in rows:
            try:
                result[path] = _FileSummary(**json.loads(text))
            except (TypeError, ValueError):
                continue
        return result

    def _store(self, directory: Path, updates: dict[str, _FileSummary], gone: Iterable[str]) -> None:
        db = self._connect()
        if db is None:
            return
        try:
            with db:
                db.execute("BEGIN")
                db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in gone])
                db.executemany(
                    "INSERT OR REPLACE INTO files (path, dir, summary) VALUES (?, ?, ?)",
                    [(p, str(directory), json.dumps(asdict(s))) for p, s in updates.items()],
                )
        except sqlite3.Error:
            pass

    def remember_dir(self, directory: Path, scope: str) -> None:
        """Record a project sessions directory so ``--all`` listings find it later."""
        db = self._connect()
        if db is None:
            return
        try:
            db.execute("INSERT OR IGNORE INTO dirs (path, scope) VALUES (?, ?)", (str(directory), scope))
        except sqlite3.Error:
            pass

    def known_dirs(self) -> list[tuple[Path, str]]:
        """Project sessions directories seen before that still exist."""
        db = self._connect()
        if db is None:
            return []
        try:
            rows = db.execute("SELECT path, scope FROM dirs").fetchall()
        except sqlite3.Error:
            return []
        return [(Path(p), s) for p, s in rows if os.path.isdir(p)]

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()

    # -- scanning ------------------------------------------------------
    @staticmethod
    def _group(directory: Path) -> dict[str, list[tuple[int, os.DirEntry[str]]]]:
        groups: dict[str, list[tuple[int, os.DirEntry[str]]]] = {}
        try:
            with os.scandir(directory) as it:
                for item in it:
                    match = _SEGMENT.match(item.name)
                    if match:
                        number = int(match.group(2)) if match.group(2) else -1
                        groups.setdefault(match.group(1), []).append((number, item))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return {}
        return groups

    def scan_dir(self, directory: Path, scope: str) -> list[SessionInfo]:
        """Every session in one sessions directory, newest first (by the active file's mtime)."""
        groups = self._group(directory)
        if not groups:
            return []
        cached = self._cached(directory)
        updates: dict[str, _FileSummary] = {}
        seen: set[str] = set()
        sessions = []
        for stem, files in groups.items():
            files.sort(key=lambda pair: pair[0])  # active (-1) first, then .1, .2 ...
            info = SessionInfo(id=stem, path=directory / f"{stem}.jsonl", scope=scope)
            title_found = False
            for _, item in files:
                try:
                    st = item.stat()
                except FileNotFoundError:
                    continue
                seen.add(item.path)
                summary = cached.get(item.path)
                if summary is None or summary.ino != st.st_ino or summary.size > st.st_size:
                    summary = _FileSummary(st.st_size, st.st_mtime_ns, st.st_ino)
                if (summary.size, summary.mtime_ns) != (
                    st.st_size,
                    st.st_mtime_ns,
                ) or item.path not in cached:
                    summary.size, summary.mtime_ns = st.st_size, st.st_mtime_ns
                    try:
                        _summarize(Path(item.path), summary)
                    except OSError:
                        continue
                    updates[item.path] = summary
                info.segments.append(Path(item.path))
                info.bytes += st.st_size
                info.entries += summary.entries
                info.mtime_ns = max(info.mtime_ns, st.st_mtime_ns)
                if not title_found and summary.title_set:
                    info.title, title_found = summary.title, True
                info.cwd = summary.cwd or info.cwd
                info.created = summary.created or info.created
                info.first_message = summary.first_message or info.first_message
            if info.segments:
                info.updated = _rfc3339_ns(info.mtime_ns)
                sessions.append(info)
        gone = [p for p in cached if p not in seen]
        if updates or gone:
            self._store(directory, updates, gone)
        sessions.sort(key=lambda s: s.mtime_ns, reverse=True)
        return sessions

    def list(self, dirs: Iterable[tuple[Path, str]]) -> list[SessionInfo]:
        """Sessions of all ``(directory, scope)`` pairs, newest first."""
        result: list[SessionInfo] = []
        for directory, scope in dirs:
            result.extend(self.scan_dir(directory, scope))
        result.sort(key=lambda s: s.mtime_ns, reverse=True)
        return result

    # -- resolving -----------------------------------------------------
    def latest(self, dirs: Iterable[tuple[Path, str]]) -> Path | None:
        """The active file of the most recently written session, from file mtimes alone."""
        best: tuple[int, Path] | None = None
        for directory, _scope in dirs:
            for stem, files in self._group(directory).items():
                for _, item in files:
                    try:
                        mtime = item.stat().st_mtime_ns
                    except FileNotFoundError:
                        continue
                    if best is None or mtime > best[0]:
                        best = (mtime, directory / f"{stem}.jsonl")
        return best[1] if best else None

    def _matches(self, prefix: str, dirs: Iterable[tuple[Path, str]]) -> dict[str, tuple[Path, str]]:
        found: dict[str, tuple[Path, str]] = {}
        for directory, scope in dirs:
            for stem in self._group(directory):
                if stem.startswith(prefix):
                    found.setdefault(stem, (directory, scope))
        return found

    def resolve(self, ref: str, local: list[tuple[Path, str]], everywhere: list[tuple[Path, str]]) -> Path:
        """The active file for ``latest``, an id or id prefix, or a ``.jsonl`` path.

        ``local`` are the sessions directories of the working directory, searched
        first; ``everywhere`` is searched when nothing local matches. Raises
        :class:`SessionNotFound` or :class:`AmbiguousSession`.
        """
        ref = ref.strip()
        if ref == "latest":
            found = self.latest(local)
            if found is None:
                raise SessionNotFound("no session in this directory yet")
            return found
        if "/" in ref or ref.endswith(".jsonl") or re.search(r"\.jsonl\.\d+$", ref):
            path = Path(ref).expanduser()
            match = _SEGMENT.match(path.name)
            if match:
                path = path.with_name(f"{match.group(1)}.jsonl")
            if path.exists() or any(path.parent.glob(path.name + ".[0-9]*")):
                return path.absolute()
            raise SessionNotFound(f"no session file at {ref}")
        prefix = ref.lower()
        if not prefix or not _HEX.match(prefix):
            raise SessionNotFound(f"'{ref}' is not a session id, prefix, 'latest' or a .jsonl path")
        for dirs in (local, everywhere):
            found = self._matches(prefix, dirs)
            if len(found) == 1:
                stem, (directory, _) = next(iter(found.items()))
                return directory / f"{stem}.jsonl"
            if len(found) > 1:
                infos = []
                for stem, (directory, scope) in found.items():
                    infos.extend(s for s in self.scan_dir(directory, scope) if s.id == stem)
                infos.sort(key=lambda s: s.mtime_ns, reverse=True)
                raise AmbiguousSession(ref, infos)
        raise SessionNotFound(f"no session matches '{ref}'")
