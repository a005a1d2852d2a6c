"""``lime doctor``: check session logs without changing them, and repair what is safe to repair.

What is checked, per session (all surviving segment files, oldest first), with
the rule of DESIGN.md section 3 each check comes from:

* every segment opens with a ``session`` header whose ``sessionId`` is the
  file's id and whose ``segment`` numbers rise from the oldest file to the
  active one; every segment after the first has a ``checkpoint`` second line;
  no segment is empty;
* every line is a JSON object with a string ``type`` (a bad line is reported
  with file and line number; readers skip it);
* no segment ends in a torn line (bytes after the last ``\\n``);
* every line is valid UTF-8 (DESIGN.md section 3, "Bytes and symlinks"); a
  checkpoint's ``droppedEntries`` is a count (an integer >= 0);
* the entry tree: string ids, no duplicate ids, no ``parentId`` that names no
  entry (unless rotation dropped the earlier segments), no cycle, and a leaf
  that names an entry;
* ``<id>.jsonl.torn`` files (kept from an earlier repair; *orphaned* when no
  segment of their session is left) and ``.lock`` files without a session;
* per sessions directory, whether the catalog index (``index.sqlite``) is stale:
  files it does not know, files changed since it summarized them, files gone.

:func:`examine_directory` returns :class:`Finding` objects; with
``repair=True`` it also fixes what can be fixed safely and says so in
``Finding.repaired``: a torn tail is moved to ``<id>.jsonl.torn`` under the
session lock (never while another lime writes the session), a line that is
not valid UTF-8 is re-encoded (undecodable bytes and lone surrogates written
as ``ED B3 XX`` become U+FFFD) under the lock, a lock file without a session is
deleted when nobody holds it, and a stale catalog is refreshed. A file that is
a symlink or does not open with a ``session`` header is never changed.
Nothing else is ever changed. This module prints nothing.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from .catalog import Catalog
from .encoding import find_bad_utf8, repair_utf8
from .files import UnsafeFile
from .formats import NewerFormat, refuse_newer
from .log_checks import Finding, check_segments, check_tree, format_finding
from .segments import LockHeld, Segment, SessionLock, read_segment, repair_torn_tail, segment_paths

__all__ = [
    "Finding",
    "examine_catalog",
    "examine_directory",
    "examine_session",
    "format_finding",
    "session_stems",
]

_FILE = re.compile(r"^([0-9A-Za-z_-]+)\.jsonl(?:\.(\d+|torn|lock))?$")


def _under_lock(finding: Finding, active: Path, repair: Callable[[Path], int]) -> int | None:
    """``repair(finding.path)`` while holding the session's lock; None (the reason added) when it cannot run."""
    lock = SessionLock(active)
    try:
        lock.acquire()
    except LockHeld as held:
        finding.message += f" (not repaired: the session is open in pid {held.pid}; close it and run again)"
        return None
    except OSError as exc:
        finding.message += f" (not repaired: {exc.strerror or exc})"
        return None
    try:
        return repair(finding.path)
    except OSError as exc:
        finding.message += f" (not repaired: {exc.strerror or exc})"
        return None
    finally:
        lock.release()


def _repair_tail(finding: Finding, active: Path) -> None:
    moved = _under_lock(finding, active, repair_torn_tail)
    if moved is not None:
        finding.repaired = f"moved {moved} bytes to {active.name}.torn" if moved else "already whole"


def _repair_encoding(finding: Finding, active: Path) -> None:
    fixed = _under_lock(finding, active, repair_utf8)
    if fixed is not None:
        finding.repaired = f"re-encoded {fixed} lines with U+FFFD for the undecodable bytes"


def _check_encoding(sid: str, active: Path, paths: list[Path], out: list[Finding], *, repair: bool) -> None:
    for path in paths:
        try:
            bad = find_bad_utf8(path)
        except OSError:
            continue  # reported by the reading below, or rotated away
        if bad:
            finding = Finding(sid, path, f"{path}:{bad[0]}: not valid UTF-8 ({len(bad)} lines in this file)")
            if repair:
                _repair_encoding(finding, active)
            out.append(finding)


def examine_session(active: Path, *, repair: bool = False) -> list[Finding]:
    """Check one session (``<dir>/<id>.jsonl`` and its rotated copies); see the module docstring.

    Returns the findings, with torn tails repaired when ``repair`` is true.
    Raises nothing for damaged files; an unreadable file becomes a finding.
    """
    sid = active.name.split(".jsonl")[0]
    out: list[Finding] = []
    paths = segment_paths(active)
    torn_file = Path(f"{active}.torn")
    lock_file = Path(f"{active}.lock")
    if not paths:
        if torn_file.exists():
            out.append(
                Finding(
                    sid, torn_file, f"{torn_file}: orphaned .torn file (no segment of its session is left)"
                )
            )
        if lock_file.exists():
            finding = Finding(sid, lock_file, f"{lock_file}: lock file without a session")
            if repair:
                _remove_orphan_lock(finding, active)
            out.append(finding)
        return out
    try:
        refuse_newer(paths, active)
    except NewerFormat:
        return out  # a newer lime's log: not ours to judge or repair
    _check_encoding(sid, active, paths, out, repair=repair)  # first: a repaired line is read as whole below
    segments: list[Segment] = []
    for path in paths:
        try:
            segments.append(read_segment(path))
        except FileNotFoundError:
            continue  # rotated away while we looked
        except UnsafeFile as exc:
            out.append(Finding(sid, path, f"{exc.strerror} (left alone)"))
        except OSError as exc:
            out.append(Finding(sid, path, f"{path}: cannot read: {exc.strerror or exc}"))
    check_segments(sid, segments, out)
    check_tree(sid, active, segments, out)
    if segments and segments[-1].torn:
        seg = segments[-1]
        finding = Finding(sid, seg.path, f"{seg.path}: torn last line of {len(seg.torn)} bytes")
        if repair:
            _repair_tail(finding, active)
        out.append(finding)
    for extra, role in ((torn_file, "torn-line file"), (lock_file, "lock file")):
        try:
            st = os.lstat(extra)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            kind = (
                "a symbolic link"
                if stat.S_ISLNK(st.st_mode)
                else "a directory"
                if stat.S_ISDIR(st.st_mode)
                else "not a regular file"
            )
            out.append(Finding(sid, extra, f"{extra}: is {kind}, not a {role} (remove it by hand)"))
        elif extra == torn_file:
            out.append(
                Finding(
                    sid,
                    torn_file,
                    f"{torn_file}: {st.st_size} bytes kept from an earlier repair",
                    problem=False,
                )
            )
    return out


def _remove_orphan_lock(finding: Finding, active: Path) -> None:
    lock = SessionLock(active)
    try:
        lock.acquire()
    except LockHeld as held:
        finding.message += f" (held by pid {held.pid}; left alone)"
        finding.problem = False
        return
    except OSError as exc:
        finding.message += f" (not repaired: {exc.strerror or exc})"
        return
    try:
        if not segment_paths(active):
            os.unlink(lock.path)
            finding.repaired = "deleted it"
    finally:
        lock.release()


# -- the catalog --------------------------------------------------------------------
def _indexed_files(index: Path, directory: Path) -> dict[str, tuple[int, int, int]]:
    """``{file name: (ino, size, mtime_ns)}`` of ``directory`` as the index last saw it (read-only query).

    Raises ``sqlite3.Error`` when the index cannot be read or has another layout.
    """
    db = sqlite3.connect(f"{index.as_uri()}?mode=ro", uri=True, timeout=2.0)
    try:
        rows = db.execute("SELECT name, ino, size, mtime_ns FROM files WHERE dir = ?", (str(directory),))
        return {name: (ino, size, mtime_ns) for name, ino, size, mtime_ns in rows}
    finally:
        db.close()


def examine_catalog(catalog: Catalog, directory: Path, scope: str, *, repair: bool = False) -> list[Finding]:
    """Whether the catalog's summaries of ``directory`` match the files; refresh them when ``repair``.

    A stale catalog is a note, not a problem: it is derived data that the
    next listing refreshes by itself.
    """
    index = catalog.index_path
    if index is None or not index.exists():
        return [
            Finding("", directory, f"{directory}: no catalog index yet (built by the next listing)", False)
        ]
    try:
        cached = _indexed_files(index, directory)
    except sqlite3.Error as exc:  # a damaged or older index is rebuilt by the next listing
        return [Finding("", directory, f"{directory}: the catalog cannot be checked ({exc})", False)]
    on_disk: dict[str, os.stat_result] = {}
    try:
        with os.scandir(directory) as it:
            for item in it:
                match = _FILE.match(item.name)
                if match and (match.group(2) is None or match.group(2).isdigit()):
                    try:
                        on_disk[item.path] = item.stat()
                    except FileNotFoundError:
                        continue
    except OSError:
        return []
    changed = sum(
        1
        for path, st in on_disk.items()
        if cached.get(os.path.basename(path)) != (st.st_ino, st.st_size, st.st_mtime_ns)
    )
    names = {os.path.basename(path) for path in on_disk}
    gone = sum(1 for name in cached if name not in names)
    if not changed and not gone:
        return []
    finding = Finding(
        "",
        directory,
        f"{directory}: the catalog is stale ({changed} files new or changed, {gone} gone since the last listing)",
        problem=False,
    )
    if repair:
        catalog.scan_dir(directory, scope)
        finding.repaired = "refreshed it"
    return [finding]


# -- a directory ----------------------------------------------------------------------
def session_stems(directory: Path) -> list[str]:
    """Ids of every session with any file in ``directory`` (segments, ``.torn``, ``.lock``), sorted."""
    stems: set[str] = set()
    try:
        with os.scandir(directory) as it:
            for item in it:
                match = _FILE.match(item.name)
                if match:
                    stems.add(match.group(1))
    except OSError:
        return []
    return sorted(stems)


def examine_directory(
    directory: Path,
    scope: str,
    catalog: Catalog | None,
    *,
    only: Iterable[str] | None = None,
    repair: bool = False,
) -> tuple[int, list[Finding]]:
    """Check every session of ``directory`` (or the ids in ``only``), then the catalog.

    Returns ``(sessions checked, findings)``.
    """
    stems = session_stems(directory) if only is None else list(only)
    findings: list[Finding] = []
    for stem in stems:
        findings.extend(examine_session(directory / f"{stem}.jsonl", repair=repair))
    if catalog is not None and stems:
        findings.extend(examine_catalog(catalog, directory, scope, repair=repair))
    return len(stems), findings
