"""The catalog index's view of one sessions directory: its files' signature, and reconciling its rows.

Used by :mod:`lime_repl.store.index` under its write lock. A directory's
signature is the exact bytes of each segment's name, inode, size and mtime
(one ``stat`` per segment, no digest, so it cannot collide); reconciling
reads the listing facts (:func:`~.extract.read_facts`) of the files whose
row no longer matches, keeps the rows (and texts) of renamed files, resets
rewritten ones and drops vanished ones.
"""

from __future__ import annotations

import os
import sqlite3
from array import array
from operator import itemgetter

from .extract import FileRow, read_facts, read_head, segment_name

__all__ = ["reconcile", "scan"]

#: A descriptor of a sessions directory, for ``stat`` calls relative to it.
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def _is_segment_like(name: str) -> bool:
    """A fast filter on names (``<x>.jsonl`` or ``<x>.jsonl.N``); :func:`reconcile` checks names fully."""
    return name.endswith(".jsonl") or (".jsonl." in name and name[-1].isdigit())


def scan(directory: str) -> tuple[list[tuple[str, os.stat_result]], bytes]:
    """The segment files of ``directory`` with their ``stat``, and the directory's signature.

    The signature is the exact bytes of every segment's name, inode, size
    and mtime (not a digest, so it cannot collide): equal to the stored
    one means nothing to re-read. Empty when the directory does not exist.
    One ``stat`` per segment, each relative to a descriptor of the
    directory (``os.stat(name, dir_fd=...)``: the kernel looks up one name,
    not the whole path), over the names of ``os.listdir`` (no ``DirEntry``
    objects); the rest is done by list comprehensions and ``array``
    constructors rather than per-file appends. This is the whole freshness
    check of a warm search: an append by any program changes a file's size
    or mtime but not its directory, so no check that skips a file's ``stat``
    can be trusted (docs/decisions.md).
    """
    try:
        fd = os.open(directory, _DIR_FLAGS)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return [], b""
    try:
        names = [name for name in os.listdir(fd) if _is_segment_like(name)]
        on_disk = []
        for name in names:
            try:
                on_disk.append((name, os.stat(name, dir_fd=fd)))
            except FileNotFoundError:
                continue
    except PermissionError:
        return [], b""
    finally:
        os.close(fd)
    text = "/".join([name for name, _ in on_disk]).encode("utf-8", "surrogateescape")
    inodes = array("Q", [st.st_ino for _, st in on_disk])  # unsigned: inode numbers may use all 64 bits
    # signed: an mtime may be before 1970
    numbers = array("q", [n for _, st in on_disk for n in (st.st_size, st.st_mtime_ns)])
    return on_disk, text + b"\0" + inodes.tobytes() + numbers.tobytes()


def reconcile(
    db: sqlite3.Connection, directory: str, on_disk: list[tuple[str, os.stat_result]], budget: int, full: int
) -> tuple[bool, int, list[tuple[object, ...]] | None]:
    """Re-read the directory's rows (under the write lock) and reconcile them with ``on_disk``.

    Reads at most about ``budget`` bytes (what is left of the transaction's
    ``full`` budget: a file larger than what is left is read only when
    nothing was read yet); returns False when files were left for another
    round, and the budget left. A file left over keeps its old row (renamed
    if it moved, with its old size so that it still reads as changed) or,
    when new, gets none yet; the rows stay consistent between rounds.

    The third value is the directory's rows as written, in the
    :data:`~.index_schema.LISTED` columns and order (by stem, then number),
    so that a listing need not read back what was just written; None when
    the directory is not complete or a file could not be read (then the rows
    are read back from the table).
    """
    cached: dict[str, FileRow] = {}
    count = 0
    for values in db.execute(
        "SELECT name, ino, size, mtime_ns, offset, head, session_id, cwd, created, title, title_set,"
        " entries, first_message, id, dropped, texted FROM files WHERE dir = ?",
        (directory,),
    ):
        fresh = FileRow(*values)
        fresh.head = bytes(fresh.head or b"")
        cached[fresh.name] = fresh
        count += 1
    claimed: set[int] = set()
    changed: list[tuple[str, os.stat_result]] = []
    for name, st in on_disk:
        known = cached.get(name)
        if known is not None and (known.ino, known.size, known.mtime_ns) == (
            st.st_ino,
            st.st_size,
            st.st_mtime_ns,
        ):
            assert known.id is not None
            claimed.add(known.id)
        else:
            changed.append((name, st))
    by_ino: dict[int, list[FileRow]] = {}
    for cached_row in cached.values():
        by_ino.setdefault(cached_row.ino, []).append(cached_row)
    dirty: list[FileRow] = []
    complete, exact = True, count == len(cached)  # (two rows of one name would be a damaged table)
    parsed: dict[str, tuple[str, int]] = {}
    for name, st in changed:
        stem_number = segment_name(name)
        if stem_number is None:
            continue
        parsed[name] = stem_number
        path = f"{directory}/{name}"
        candidates = by_ino.get(st.st_ino)
        row = _reuse(path, st, candidates, claimed) if candidates else None
        needs_parse = (
            row is None or (row.size, row.mtime_ns) != (st.st_size, st.st_mtime_ns) or row.offset == 0
        )
        cost = st.st_size - (row.offset if row is not None else 0)
        if needs_parse and cost > budget and budget < full:
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
                read_facts(path, row, st.st_size)
            except OSError:
                exact = False  # the row in memory (renamed) is not the one in the table
                continue
        dirty.append(row)
    dropped = [(row.id,) for row in cached.values() if row.id not in claimed]
    if dropped:
        db.executemany("DELETE FROM texts WHERE file = ?", dropped)
        db.executemany("DELETE FROM files WHERE id = ?", dropped)
    inserts, updates = [], []
    listed: list[tuple[object, ...]] | None = [] if complete and exact else None
    for row in dirty:
        stem, number = parsed.get(row.name) or segment_name(row.name) or (row.name, 0)
        if listed is not None:
            listed.append(_listed(row, stem, number))
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
            row.texted,
        )
        if row.id is None:
            inserts.append((directory, *values))
        else:
            updates.append((*values, row.id))
    db.executemany(
        "INSERT INTO files (dir, name, stem, number, ino, size, mtime_ns, offset, head, session_id, cwd,"
        " created, title, title_set, entries, first_message, dropped, texted)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        inserts,
    )
    db.executemany(
        "UPDATE files SET name = ?, stem = ?, number = ?, ino = ?, size = ?, mtime_ns = ?, offset = ?,"
        " head = ?,"
        " session_id = ?, cwd = ?, created = ?, title = ?, title_set = ?, entries = ?,"
        " first_message = ?, dropped = ?, texted = ? WHERE id = ?",
        updates,
    )
    if listed is not None:
        written = {row.id for row in dirty}
        for row in cached.values():  # the unchanged rows, claimed as they are
            if row.id in claimed and row.id not in written:
                stem, number = segment_name(row.name) or (row.name, 0)
                listed.append(_listed(row, stem, number))
        listed.sort(key=itemgetter(0, 1))  # by stem, then number
    return complete, budget, listed


def _listed(row: FileRow, stem: str, number: int) -> tuple[object, ...]:
    """``row`` in the :data:`~.index_schema.LISTED` columns, as the table gives them back."""
    return (
        stem, number, row.name, row.size, row.mtime_ns, row.title, int(row.title_set), row.cwd, row.created,
        row.entries, row.first_message, row.dropped,
    )  # fmt: skip



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
