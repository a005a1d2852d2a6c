"""The session catalog: list sessions, resolve ``latest``/id prefix/path, backed by the SQLite index.

Sessions are found from the files themselves (``<id>.jsonl`` and its rotated
``.N`` copies in a sessions directory), so the catalog works after a crash as
well as after a clean exit. What a listing needs from inside the files (title,
cwd, created, entry count, first user message) comes from the index
(:mod:`lime_repl.store.index`), which every listing first brings up to date
by the size, mtime and inode of each segment: unchanged files are not read,
grown files are parsed from where the index stopped. The index is derived
data; a missing, corrupt or outdated one is rebuilt from the files.
"""

from __future__ import annotations

import gc
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .empty import has_entries
from .extract import segment_name
from .titles import display_title

if TYPE_CHECKING:  # SQLite loads with the first Catalog: a `!` line or a new session never opens the index
    from .index import Index, SeenFile

__all__ = ["AmbiguousSession", "Catalog", "SessionInfo", "SessionNotFound"]

_HEX = re.compile(r"^[0-9a-f]+$")
_T = TypeVar("_T")


_mtime = attrgetter("mtime_ns")


class SessionNotFound(LookupError):
    """No session matches; ``str()`` is the one-line message."""


class AmbiguousSession(LookupError):
    """An id prefix matches several sessions; ``candidates`` holds them, newest first."""

    def __init__(self, prefix: str, candidates: list[SessionInfo]) -> None:
        shown = ", ".join(f"{c.id[:12]} ({c.display or 'untitled'})" for c in candidates[:10])
        more = f" and {len(candidates) - 10} more" if len(candidates) > 10 else ""
        super().__init__(f"session prefix '{prefix}' is ambiguous: {shown}{more}")
        self.candidates = candidates


class SessionInfo:
    """One session as listed: the fields of ``lime session list --format json`` (DESIGN.md section 1).

    ``path`` (the active file) and ``segments`` (active first, then ``.1``,
    ``.2`` ...) are :class:`~pathlib.Path` objects made on access, and so are
    their strings (``path_str``, ``segment_strs``) when the catalog lists a
    session: it keeps the directory and the file names, so that a listing of
    thousands of sessions builds no path it never prints.
    ``updated`` is the newest segment mtime (``mtime_ns``) as RFC 3339 UTC.
    ``bytes`` is what the surviving segments hold; ``dropped`` how many entries
    rotation has deleted (the oldest surviving checkpoint's ``droppedEntries``).
    """

    __slots__ = (
        "id", "scope", "title", "cwd", "created", "entries", "bytes", "dropped", "first_message", "mtime_ns",
        "_dir", "_path", "_names", "_updated",
    )  # fmt: skip

    def __init__(
        self,
        id: str,
        path: str | os.PathLike[str],
        scope: str,
        title: str | None = None,
        cwd: str | None = None,
        created: str | None = None,
        updated: str = "",
        entries: int = 0,
        bytes: int = 0,
        segments: Iterable[str | os.PathLike[str]] = (),
        first_message: str | None = None,
        mtime_ns: int = 0,
        dropped: int = 0,
    ) -> None:
        self.id = id
        self._dir: str | None = None  # set by the catalog: segment_strs are _dir + "/" + each of _names
        self._path: str | None = os.fspath(path)
        self.scope = scope
        self.title = title
        self.cwd = cwd
        self.created = created
        self._updated = updated
        self.entries = entries
        self.bytes = bytes
        self.dropped = dropped
        self._names = [os.fspath(p) for p in segments]
        self.first_message = first_message
        self.mtime_ns = mtime_ns

    @property
    def path_str(self) -> str:
        """The active file's path as a string."""
        return f"{self._dir}/{self.id}.jsonl" if self._path is None else self._path

    @path_str.setter
    def path_str(self, value: str | os.PathLike[str]) -> None:
        self._path = os.fspath(value)

    @property
    def segment_strs(self) -> list[str]:
        """The segments' paths as strings, active file first (a new list: set :attr:`segments` to change them)."""
        if self._dir is None:
            return list(self._names)
        return [f"{self._dir}/{name}" for name in self._names]

    @property
    def path(self) -> Path:
        return Path(self.path_str)

    @path.setter
    def path(self, value: str | os.PathLike[str]) -> None:
        self.path_str = os.fspath(value)

    @property
    def segments(self) -> list[Path]:
        return [Path(p) for p in self.segment_strs]

    @segments.setter
    def segments(self, value: Iterable[str | os.PathLike[str]]) -> None:
        self._dir, self._names = None, [os.fspath(p) for p in value]

    @property
    def updated(self) -> str:
        if not self._updated and self.mtime_ns:
            self._updated = _rfc3339_ns(self.mtime_ns)
        return self._updated

    @updated.setter
    def updated(self, value: str) -> None:
        self._updated = value

    @property
    def updated_ns(self) -> int | None:
        """``mtime_ns`` when :attr:`updated` is made from it (as the catalog lists), None when set as text."""
        return None if self._updated or not self.mtime_ns else self.mtime_ns

    @property
    def display(self) -> str | None:
        """The title a listing shows, on one line; None when the session has neither title nor first prompt."""
        return display_title(self.title, self.first_message)

    def __repr__(self) -> str:
        return f"SessionInfo(id={self.id!r}, path={self.path_str!r}, title={self.title!r}, entries={self.entries})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SessionInfo):
            return NotImplemented
        return self.to_json() == other.to_json() and self.mtime_ns == other.mtime_ns

    def __hash__(self) -> int:
        """Not hashable: a ``SessionInfo`` is mutable and compares by value."""
        raise TypeError("unhashable type: 'SessionInfo'")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "display": self.display,
            "cwd": self.cwd,
            "created": self.created,
            "updated": self.updated,
            "entries": self.entries,
            "bytes": self.bytes,
            "dropped": self.dropped,
            "segments": list(self.segment_strs),
            "path": self.path_str,
            "scope": self.scope,
        }


def _collect(base: str, scope: str, rows: Iterable[Sequence[Any]]) -> list[SessionInfo]:
    """The sessions with entries among ``rows`` (the :data:`~.index_schema.LISTED` columns of one
    directory's segments, grouped by stem, the active file first, then .1, .2 ...), in row order.

    Per session: ``bytes`` and ``entries`` are the segments' sums, ``mtime_ns`` the newest; the title is
    the one of the newest segment that sets one; cwd, created and the first message the oldest segment's
    that has them; ``dropped`` the oldest segment's. Each session is built once, without ``__init__``
    (this runs for every session of a listing).
    """
    sessions: list[SessionInfo] = []
    new = SessionInfo.__new__
    info: SessionInfo | None = None
    stem_now = None
    title_found = False
    for stem, _number, name, size, mtime_ns, title, title_set, cwd, created, entries, first, dropped in rows:
        if stem != stem_now:
            stem_now = stem
            info = new(SessionInfo)
            info.id, info.scope, info._dir, info._path, info._names, info._updated = stem, scope, base, None, [name], ""
            info.bytes, info.entries, info.mtime_ns = size, entries, mtime_ns if mtime_ns > 0 else 0
            title_found = bool(title_set)
            info.title = title if title_found else None
            info.cwd, info.created, info.first_message, info.dropped = cwd or None, created or None, first or None, dropped or 0
            sessions.append(info)
            continue
        assert info is not None
        info._names.append(name)
        info.bytes += size
        info.entries += entries
        if mtime_ns > info.mtime_ns:
            info.mtime_ns = mtime_ns
        if title_set and not title_found:
            info.title, title_found = title, True
        info.cwd = cwd or info.cwd
        info.created = created or info.created
        info.first_message = first or info.first_message
        info.dropped = dropped or 0  # the last row of a session is its oldest segment
    return [s for s in sessions if s.entries > 0]


def _rfc3339_ns(ns: int) -> str:
    """``ns`` (nanoseconds since the epoch) as RFC 3339 UTC with milliseconds."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000))
    return f"{seconds}.{ns // 1_000_000 % 1000:03d}Z"


class Catalog:
    """Lists and resolves sessions; ``index_path`` is the SQLite index (None: an in-memory index)."""

    def __init__(self, index_path: Path | None) -> None:
        self.index_path = index_path
        from .index import Index

        self.index: Index = Index(index_path)
        self._lock = threading.RLock()

    def guarded(self, call: Callable[..., _T], *args: Any) -> _T:
        """``call(*args)``, rebuilding a corrupt index (or falling back to memory) and retrying on failure.

        Calls are serialized, so one catalog can serve several threads (a REPL
        completer, the picker); every use of :attr:`index` goes through here.
        """
        from sqlite3 import DatabaseError

        with self._lock:
            for _attempt in range(2):
                try:
                    return call(*args)
                except DatabaseError as exc:
                    if not self.index.recover(exc):
                        raise
            return call(*args)

    # -- the index -----------------------------------------------------
    def remember_dir(self, directory: Path, scope: str) -> None:
        """Record a project sessions directory so ``--all`` listings find it later."""
        self.guarded(self.index.remember_dir, str(directory), scope)

    def known_dirs(self) -> list[tuple[Path, str]]:
        """Project sessions directories seen before that still exist."""
        rows = self.guarded(self.index.known_dirs)
        return [(Path(p), s) for p, s in rows if os.path.isdir(p)]

    def sync(self, directory: Path) -> list[SeenFile]:
        """Bring the index of one sessions directory up to date; its segment files as :data:`SeenFile`."""
        return self.guarded(self.index.sync_dir, str(directory))

    @property
    def warning(self) -> str | None:
        """One line when the index file had to be given up (a full disk): listings then read the files."""
        reason = self.index.degraded
        return f"the session catalog is not saved ({reason}); sessions are read from their files" if reason else None

    def close(self) -> None:
        self.index.close()

    # -- scanning ------------------------------------------------------
    @staticmethod
    def _group(directory: Path) -> dict[str, list[tuple[int, os.DirEntry[str]]]]:
        groups: dict[str, list[tuple[int, os.DirEntry[str]]]] = {}
        try:
            with os.scandir(directory) as it:
                for item in it:
                    parsed = segment_name(item.name)
                    if parsed:
                        groups.setdefault(parsed[0], []).append((parsed[1], item))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return {}
        return groups

    def scan_dir(self, directory: Path, scope: str, rows: Sequence[SeenFile] | None = None) -> list[SessionInfo]:
        """Every session with entries in one sessions directory, newest first (by the newest segment's mtime).

        A session with no entries beyond its header (one just started, or one
        left by a crash before its first entry) is not listed.

        ``rows`` are the directory's :data:`SeenFile` rows when already synced (else :meth:`sync`).
        """
        sessions = _collect(str(directory), scope, self.sync(directory) if rows is None else rows)
        sessions.sort(key=_mtime, reverse=True)
        return sessions

    def sessions(self, dirs: Iterable[tuple[Path, str]]) -> list[SessionInfo]:
        """Sessions of all ``(directory, scope)`` pairs, newest first (one signature query for all)."""
        pairs = list(dirs)
        collecting = gc.isenabled()
        gc.disable()  # a listing makes tens of thousands of small objects and no cycles: nothing to collect
        try:
            synced = self.guarded(self.index.sync_rows, [str(directory) for directory, _ in pairs])
            result: list[SessionInfo] = []
            for (directory, scope), rows in zip(pairs, synced, strict=True):
                result.extend(_collect(str(directory), scope, rows))
        finally:
            if collecting:
                gc.enable()
        result.sort(key=_mtime, reverse=True)  # stable: the same order as sorting each directory's first
        return result

    # -- resolving -----------------------------------------------------
    def latest(self, dirs: Iterable[tuple[Path, str]]) -> Path | None:
        """The active file of the most recently written session that has entries, from file mtimes.

        Sessions are tried newest first; only the newest ones' active files are
        read, to skip a session with no entries beyond its header
        (:func:`~lime_repl.store.empty.has_entries`).
        """
        found: list[tuple[int, Path, int]] = []
        for directory, _scope in dirs:
            for stem, files in self._group(directory).items():
                newest = -1
                for _, item in files:
                    try:
                        newest = max(newest, item.stat().st_mtime_ns)
                    except FileNotFoundError:
                        continue
                if newest >= 0:
                    found.append((newest, directory / f"{stem}.jsonl", len(files)))
        found.sort(key=lambda f: f[0], reverse=True)
        for _mtime_ns, path, nfiles in found:
            if nfiles > 1 or has_entries(path):
                return path
        return None

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
            parsed = segment_name(path.name)
            if parsed:
                path = path.with_name(f"{parsed[0]}.jsonl")
            if path.exists() or any(path.parent.glob(path.name + ".[0-9]*")):
                return path.absolute()
            raise SessionNotFound(f"no session file at {ref}")
        prefix = ref.lower()
        if not prefix or not _HEX.match(prefix):
            raise SessionNotFound(f"'{ref}' is not a session id, prefix, 'latest' or a .jsonl path")
        for dirs in (local, everywhere):
            matches = self._matches(prefix, dirs)
            if len(matches) == 1:
                stem, (directory, _) = next(iter(matches.items()))
                return directory / f"{stem}.jsonl"
            if len(matches) > 1:
                infos: list[SessionInfo] = []
                for stem, (directory, scope) in matches.items():
                    infos.extend(s for s in self.scan_dir(directory, scope) if s.id == stem)
                infos.sort(key=lambda s: s.mtime_ns, reverse=True)
                raise AmbiguousSession(ref, infos)
        raise SessionNotFound(f"no session matches '{ref}'")

    def list(self, dirs: Iterable[tuple[Path, str]]) -> list[SessionInfo]:
        """Deprecated alias of :meth:`sessions` (the name shadowed the builtin)."""
        return self.sessions(dirs)
