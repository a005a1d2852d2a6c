"""Reading a session's rotated JSONL segment files (DESIGN.md section 3).

* the active file is ``<id>.jsonl``; rotated copies are ``<id>.jsonl.N``,
  larger N older (:func:`segment_paths`);
* a segment is read whole (one ``read``) and split at ``\\n``; each line is
  decoded with :func:`~lime_repl.store.records.parse_line`, a bad line is
  skipped with a warning naming file and line number, and the bytes after the
  last ``\\n`` are a torn tail, not parsed;
* a :class:`Line` keeps its raw bytes; its decoded entry is kept only when
  asked for (:func:`read_segment`), else decoded again on access, so a
  replayed session holds its lines and not their dicts
  (:mod:`lime_repl.store.entries`).

Every file is opened with ``O_NOFOLLOW`` and must be a regular file
(:func:`~lime_repl.store.files.open_file`).
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import re
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

from .files import open_file
from .records import BadRecord, Entry, decode_line, parse_line

__all__ = ["Line", "Segment", "SegmentSource", "decode_segment", "open_segment", "read_segment", "read_segments", "segment_paths", "split_segment"]

_ROTATED = re.compile(r"\.(\d+)$")


class Line:
    """One well-formed log line: its raw bytes (with ``\\n``), its 1-based number, and ``entry``.

    ``entry`` is the decoded line: the one kept when the line was read with
    ``keep=True``, else a new dict decoded from ``raw`` on each access.
    """

    __slots__ = ("raw", "lineno", "_entry")

    def __init__(self, raw: bytes, entry: Entry | None, lineno: int) -> None:
        self.raw = raw
        self.lineno = lineno
        self._entry = entry

    @property
    def entry(self) -> Entry:
        return self._entry if self._entry is not None else decode_line(self.raw)

    def __repr__(self) -> str:
        return f"Line({self.lineno}, {len(self.raw)} bytes)"


class Segment:
    """One segment file as read: its whole lines, a torn tail (bytes after the last ``\\n``), warnings, size."""

    __slots__ = ("path", "lines", "torn", "warnings", "size")

    def __init__(self, path: Path, size: int = 0) -> None:
        self.path = path
        self.lines: list[Line] = []
        self.torn = b""
        self.warnings: list[str] = []
        self.size = size

    def __repr__(self) -> str:
        return f"Segment({self.path.name}, {len(self.lines)} lines)"


#: Bytes read back through the mappings after which their pages are handed back (``MADV_DONTNEED``).
RELEASE_EVERY = 8 << 20
_read_since_release = 0
_touched: list[weakref.ref[SegmentSource]] = []  # weak: a session left behind unmaps at once


class SegmentSource:
    """A segment file mapped read-only to read its lines back by offset; unmapped once unreferenced.

    The mapping follows the file through a rotation's rename (and keeps it readable after a
    retention's unlink), so a line is found where the replay saw it for as long as a node needs it.
    Segments only grow (a torn tail is cut before the replay reads it), so the mapped bytes stay.
    Reading a slice of the mapping makes no system call and never releases the GIL: a background
    thread reading thousands of lines (the context keeper) does not hand the GIL back and forth with
    the prompt at every line, as ``os.pread`` did. Pages read count in the process's resident
    memory until handed back: after every :data:`RELEASE_EVERY` bytes read, the pages of the
    mappings read since are released (``madvise(MADV_DONTNEED)``; a later read faults them in
    again from the page cache), so reading a 50 MB log back holds at most about 8 MiB of it.
    """

    __slots__ = ("map", "path", "__weakref__")

    def __init__(self, fd: int, path: Path) -> None:
        self.path = path
        try:
            self.map: mmap.mmap | bytes = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped: it has no lines to read back
            self.map = b""
        finally:
            os.close(fd)

    def read(self, at: int, size: int) -> bytes:
        """The ``size`` bytes at offset ``at``. Raises ``OSError`` (EIO) when fewer are there."""
        global _read_since_release
        data = self.map[at : at + size]
        if len(data) != size:
            raise OSError(errno.EIO, "a log line is no longer where it was read", str(self.path))
        if not _touched or _touched[-1]() is not self:
            _touched.append(weakref.ref(self))
        _read_since_release += size
        if _read_since_release >= RELEASE_EVERY:
            release_pages()
        return data


def release_pages() -> None:
    """Hand back the pages of every mapping read since the last release (their bytes stay readable)."""
    global _read_since_release
    victims = list(dict.fromkeys(ref() for ref in _touched))
    _touched.clear()
    _read_since_release = 0
    for source in victims:
        if source is None:
            continue
        mapped = source.map
        if isinstance(mapped, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            with contextlib.suppress(OSError, ValueError):
                mapped.madvise(mmap.MADV_DONTNEED)


def open_segment(path: Path) -> tuple[bytes, SegmentSource]:
    """The whole segment file at ``path`` and a :class:`SegmentSource` mapping it (the descriptor is closed).

    ``O_NOFOLLOW``, a regular file (:func:`~lime_repl.store.files.open_file`); raises ``OSError``, :class:`UnsafeFile`.
    """
    fd = open_file(path, os.O_RDONLY)
    try:
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read()
    except BaseException:
        os.close(fd)
        raise
    return data, SegmentSource(fd, path)


def segment_paths(active: Path) -> list[Path]:
    """The existing segment files of a session, oldest first, ending with the active file.

    ``active`` is ``<dir>/<id>.jsonl``; rotated copies are ``<id>.jsonl.N``
    with larger N older. The active file is included only if it exists.
    """
    rotated: list[tuple[int, Path]] = []
    prefix = active.name + "."
    try:
        with os.scandir(active.parent) as it:
            for item in it:
                if item.name.startswith(prefix):
                    match = _ROTATED.search(item.name)
                    if match and item.name == prefix + match.group(1):
                        rotated.append((int(match.group(1)), Path(item.path)))
    except FileNotFoundError:
        return []
    paths = [p for _, p in sorted(rotated, reverse=True)]
    if os.path.lexists(active):  # a symlink in its place is listed, and refused when opened
        paths.append(active)
    return paths


def split_segment(data: bytes, segment: Segment, *, keep: bool = True) -> Iterator[tuple[Line, Entry]]:
    """Split ``data`` (a segment file's bytes) into ``segment``: each whole line and its decoded entry.

    Appends each well-formed line to ``segment.lines`` (with its entry when
    ``keep``) and yields it with the entry, a bad line's warning to
    ``segment.warnings``; sets ``segment.torn``.
    """
    end = data.rfind(b"\n") + 1
    segment.torn = data[end:]
    lines = segment.lines
    lineno = 0
    start = 0
    while start < end:
        stop = data.index(b"\n", start) + 1
        lineno += 1
        raw = data[start:stop]
        start = stop
        if raw.isspace():
            continue
        try:
            entry = parse_line(raw)
        except BadRecord as exc:
            segment.warnings.append(f"{segment.path}:{lineno}: skipped bad line: {exc}")
            continue
        line = Line(raw, entry if keep else None, lineno)
        lines.append(line)
        yield line, entry


def decode_segment(
    data: bytes, segment: Segment, starts: list[int] | None = None
) -> tuple[list[Entry], list[bytes]]:
    """:func:`split_segment` of ``data`` into ``segment`` (no entries kept), as two lists: the entries and
    their lines, in order. The replay's form: one loop, no generator.

    With ``starts``, each line's offset in the file is appended to it, and ``segment.lines`` keeps the
    first two lines only (the header and checkpoint a session reads again; the others are read back).
    """
    end = data.rfind(b"\n") + 1
    segment.torn = data[end:]
    lines = segment.lines
    entries: list[Entry] = []
    raws: list[bytes] = []
    keep = 2 if starts is not None else -1
    lineno = 0
    start = 0
    find = data.index
    while start < end:
        stop = find(b"\n", start) + 1
        lineno += 1
        raw = data[start:stop]
        at, start = start, stop
        try:
            entry = parse_line(raw)
        except BadRecord as exc:
            if not raw.isspace():
                segment.warnings.append(f"{segment.path}:{lineno}: skipped bad line: {exc}")
            continue
        if keep:
            lines.append(Line(raw, None, lineno))
            keep -= 1
        entries.append(entry)
        raws.append(raw)
        if starts is not None:
            starts.append(at)
    return entries, raws


def read_bytes(path: Path) -> bytes:
    """The whole file at ``path`` (``O_NOFOLLOW``, a regular file). Raises ``OSError``, :class:`UnsafeFile`."""
    with os.fdopen(open_file(path, os.O_RDONLY), "rb") as fh:
        return fh.read()


def read_segment(path: Path, *, keep: bool = True) -> Segment:
    """Read one segment file. Raises ``FileNotFoundError`` if it is gone, ``OSError`` otherwise.

    Bad lines are skipped with a warning ``<path>:<line>: skipped bad line: <why>``;
    the bytes after the last ``\\n`` are returned as ``torn``, not parsed.
    ``keep=False`` keeps no decoded entries (each :attr:`Line.entry` decodes again).
    Raises :class:`UnsafeFile` for a symlink or a non-regular file.
    """
    data = read_bytes(path)
    segment = Segment(path, size=len(data))
    for _ in split_segment(data, segment, keep=keep):
        pass
    return segment


def retry_pause(attempt: int) -> None:
    """Wait before attempt ``attempt + 1`` of a read that a rotation raced: 1, 2, 4 ... 64 ms."""
    time.sleep(min(0.001 * (1 << attempt), 0.064))


def read_segments(active: Path, attempts: int = 12, *, keep: bool = True) -> list[Segment]:
    """Read all surviving segments of a session, oldest first.

    A rotation by another process between listing and reading (a rotated file
    renamed away before it was opened) is retried, after a growing pause, up
    to ``attempts`` times; raises ``FileNotFoundError`` when no segment exists
    (or the race outlasted every attempt).
    """
    for attempt in range(attempts):
        paths = segment_paths(active)
        if not paths:
            raise FileNotFoundError(errno.ENOENT, "no such session log", str(active))
        try:
            return [read_segment(p, keep=keep) for p in paths]
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
            retry_pause(attempt)
    raise AssertionError("unreachable")
