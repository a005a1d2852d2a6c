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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .catalog import Catalog
from .encoding import find_bad_utf8, repair_utf8
from .files import UnsafeFile
from .records import Entry, is_tree_node
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


@dataclass(slots=True)
class Finding:
    """One result of a check.

    ``session`` is the session id (the file stem; '' for a directory-wide
    finding), ``path`` the file concerned, ``message`` one line of text.
    ``problem`` is False for a note that needs no action; ``repaired`` holds
    what ``--repair`` did about it (None when nothing was done).
    """

    session: str
    path: Path
    message: str
    problem: bool = True
    repaired: str | None = None

    @property
    def open(self) -> bool:
        """A problem that is still there (not repaired)."""
        return self.problem and self.repaired is None


def format_finding(finding: Finding) -> str:
    """``<id8>  problem|note|repaired  <message>`` (one line)."""
    label = "repaired" if finding.repaired else ("problem" if finding.problem else "note")
    text = f"{finding.message}; {finding.repaired}" if finding.repaired else finding.message
    return f"{(finding.session[:8] or '-'):<8}  {label:<8}  {text}"


# -- one session ------------------------------------------------------------------
def _check_segments(sid: str, segments: list[Segment], out: list[Finding]) -> None:
    previous: int | None = None
    for index, seg in enumerate(segments):
        if seg.size == 0:
            out.append(
                Finding(sid, seg.path, f"{seg.path}: empty segment (the next resume writes its header)")
            )
            continue
        for warning in seg.warnings:
            out.append(Finding(sid, seg.path, f"{warning} (readers skip it)"))
        first = seg.lines[0] if seg.lines else None
        header = first.entry if first is not None and first.lineno == 1 else None
        if header is None or header.get("type") != "session":
            out.append(
                Finding(sid, seg.path, f"{seg.path}:1: the segment does not open with a session header")
            )
            continue
        if header.get("sessionId") != sid:
            out.append(
                Finding(sid, seg.path, f"{seg.path}:1: header names session {header.get('sessionId')!r}")
            )
        number = header.get("segment")
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            out.append(Finding(sid, seg.path, f"{seg.path}:1: header has no segment number"))
            continue
        if previous is not None and number <= previous:
            out.append(
                Finding(
                    sid, seg.path, f"{seg.path}:1: segment number {number} after {previous} (out of order)"
                )
            )
        previous = number
        if number > 0:
            second = seg.lines[1].entry if len(seg.lines) > 1 else None
            if second is None or second.get("type") != "checkpoint":
                out.append(Finding(sid, seg.path, f"{seg.path}:2: segment {number} has no checkpoint line"))
            elif "droppedEntries" in second:
                dropped = second["droppedEntries"]
                if not isinstance(dropped, int) or isinstance(dropped, bool) or dropped < 0:
                    out.append(
                        Finding(
                            sid,
                            seg.path,
                            f"{seg.path}:2: droppedEntries {dropped!r} is not a count of entries",
                        )
                    )
        if index < len(segments) - 1 and seg.torn:
            out.append(Finding(sid, seg.path, f"{seg.path}: rotated segment ends in a torn line"))


def _check_tree(sid: str, active: Path, segments: list[Segment], out: list[Finding]) -> None:
    nodes: dict[str, Entry] = {}
    leaf: str | None = None
    dropped = False
    for seg_index, seg in enumerate(segments):
        for line in seg.lines:
            entry = line.entry
            kind = entry.get("type")
            if kind == "session":
                if seg_index == 0 and isinstance(entry.get("segment"), int) and entry["segment"] > 0:
                    dropped = True
                continue
            if kind == "checkpoint":
                if seg_index == 0 and isinstance(entry.get("leafId"), str):
                    leaf = entry["leafId"]
                continue
            entry_id = entry.get("id")
            where = f"{seg.path}:{line.lineno}"
            if not isinstance(entry_id, str):
                out.append(Finding(sid, seg.path, f"{where}: a {kind!r} entry without a string id"))
                continue
            if entry_id in nodes:
                out.append(Finding(sid, seg.path, f"{where}: duplicate entry id {entry_id}"))
                continue
            nodes[entry_id] = entry
            if kind == "leaf":
                target = entry.get("targetId")
                leaf = target if isinstance(target, str) else None
            elif is_tree_node(entry):
                leaf = entry_id
    missing: dict[str, int] = {}
    for entry_id, entry in nodes.items():
        parent = entry.get("parentId")
        if parent is None:
            continue
        if not isinstance(parent, str):
            out.append(Finding(sid, active, f"entry {entry_id} has a parentId that is not a string"))
        elif parent not in nodes:
            missing[parent] = missing.get(parent, 0) + 1
    for parent, count in missing.items():
        if dropped:
            out.append(
                Finding(
                    sid, active, f"{count} entries continue from {parent}, dropped by rotation", problem=False
                )
            )
        else:
            out.append(Finding(sid, active, f"{count} entries name a missing parent {parent}"))
    for entry_id in _cycle_members(nodes):
        out.append(Finding(sid, active, f"entry {entry_id} is in a parentId cycle"))
    if leaf is not None and leaf not in nodes and not dropped:
        out.append(Finding(sid, active, f"the leaf {leaf} names no entry"))


def _cycle_members(nodes: dict[str, Entry]) -> list[str]:
    """Ids of the entries on a parentId cycle (each cycle reported once, by its smallest id)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    found: list[str] = []
    for start in nodes:
        path: list[str] = []
        current: object = start
        while isinstance(current, str) and current in nodes and state.get(current) is None:
            state[current] = 1
            path.append(current)
            current = nodes[current].get("parentId")
        if isinstance(current, str) and state.get(current) == 1:
            found.append(min(path[path.index(current) :]))
        for entry_id in path:
            state[entry_id] = 2
    return found


def _repair_tail(finding: Finding, active: Path) -> None:
    lock = SessionLock(active)
    try:
        lock.acquire()
    except LockHeld as held:
        finding.message += f" (not repaired: the session is open in pid {held.pid}; close it and run again)"
        return
    except OSError as exc:
        finding.message += f" (not repaired: {exc.strerror or exc})"
        return
    try:
        moved = repair_torn_tail(finding.path)
    except OSError as exc:
        finding.message += f" (not repaired: {exc.strerror or exc})"
        return
    finally:
        lock.release()
    finding.repaired = f"moved {moved} bytes to {active.name}.torn" if moved else "already whole"


def _repair_encoding(finding: Finding, active: Path) -> None:
    lock = SessionLock(active)
    try:
        lock.acquire()
    except LockHeld as held:
        finding.message += f" (not repaired: the session is open in pid {held.pid}; close it and run again)"
        return
    except OSError as exc:
        finding.message += f" (not repaired: {exc.strerror or exc})"
        return
    try:
        fixed = repair_utf8(finding.path)
    except OSError as exc:
        finding.message += f" (not repaired: {exc.strerror or exc})"
        return
    finally:
        lock.release()
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
    _check_segments(sid, segments, out)
    _check_tree(sid, active, segments, out)
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
