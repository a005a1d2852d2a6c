"""Replaying a session's segment files into its state, one segment at a time (DESIGN.md section 3).

Each segment is read whole and its lines decoded once; the entries are
applied (:meth:`~lime_repl.store.state.SessionState._apply`) with the line
each came from, and the decoded dicts of that segment are dropped before the
next one is read, so a replay never holds more than one segment decoded
(:mod:`lime_repl.store.entries` keeps the lines). The header is the first
``session`` line of any segment (a stand-in naming the file when there is
none); an older segment is brought up to date by
:func:`~lime_repl.store.formats.migrate` first, and its migrated entries are
kept decoded. Besides the state, a replay gives the facts the writer needs:
the number in the newest segment's header and the last ``retain``.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from .formats import header_version, migrate
from .reading import (
    Segment,
    SegmentSource,
    decode_segment,
    open_segment,
    read_bytes,
    retry_pause,
    segment_paths,
)
from .records import Entry
from .state import SessionState

__all__ = ["Replayed", "max_open_segments", "replay"]

S = TypeVar("S", bound=SessionState)


@dataclass(slots=True)
class Replayed(Generic[S]):
    """A replay's result: the ``session``, its ``segments`` (lines only), the number in the newest
    segment's opening header (``last_header``, 0 without one) and the last valid ``retain`` of a
    ``session`` header or ``retention`` entry (None when there is none)."""

    session: S
    segments: list[Segment]
    last_header: int
    retain: int | None


def _valid_retain(entry: Entry) -> int | None:
    value = entry.get("retain")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _bytes_after(paths: list[Path]) -> dict[Path, int]:
    """Each path -> the bytes of the paths after it (their sizes by ``lstat``; 0 for one that cannot be)."""
    sizes = []
    for p in paths:
        try:
            sizes.append(os.lstat(p).st_size)
        except OSError:
            sizes.append(0)
    after, total = {}, 0
    for p, size in zip(reversed(paths), reversed(sizes), strict=True):
        after[p] = total
        total += size
    return after


def _replay_paths(
    cls: type[S], path: Path, paths: list[Path], lazy: bool, keep_decoded: int, read_back: bool
) -> Replayed[S]:
    session: S | None = None
    segments: list[Segment] = []
    # Segments read before a header was seen: (segment, entries, lines, source, offsets).
    waiting: list[tuple[Segment, list[Entry], list[bytes | None], SegmentSource | None, list[int] | None]] = []
    last_header, retain = 0, None
    header: Entry | None = None
    read_back = read_back and lazy and len(paths) <= max_open_segments()
    later = _bytes_after(paths) if keep_decoded > 0 and lazy else {}

    def apply(
        seg: Segment,
        entries: list[Entry],
        raws: list[bytes | None],
        source: SegmentSource | None,
        starts: list[int] | None,
    ) -> None:
        assert session is not None
        session.warnings.extend(seg.warnings)
        # Dicts are kept only from the segment on whose later segments hold less than the budget:
        # the older ones would be dropped again before the replay ends.
        session.entries.keep_decoded(keep_decoded if lazy and later.get(seg.path, 0) < keep_decoded else 0)
        session._apply_all(
            entries,
            raws if lazy else [None] * len(raws),
            first_segment=seg is segments[0],
            source=source,
            starts=starts,
        )

    for seg_path in paths:
        source: SegmentSource | None = None
        starts: list[int] | None = None
        if read_back:
            data, source = open_segment(seg_path)
            starts = []
        else:
            data = read_bytes(seg_path)
        seg = Segment(seg_path, size=len(data))
        segments.append(seg)
        entries, lines = decode_segment(data, seg, starts)
        del data
        raws: list[bytes | None] = lines  # type: ignore[assignment]
        for entry in entries:
            kind = entry["type"]
            if kind == "session" or kind == "retention":
                value = _valid_retain(entry)
                retain = value if value is not None else retain
                if header is None and kind == "session":
                    header = entry
        if entries and entries[0].get("type") == "session":
            if isinstance(entries[0].get("segment"), int):
                last_header = int(entries[0]["segment"])
            migrated = migrate(entries, header_version(entries[0]))
            if migrated is not entries:
                raws = [None] * len(migrated)  # a migrated entry is no longer its line: kept decoded
                source, starts = None, None
            entries = migrated
        if session is None and header is not None:
            sid = str(header.get("sessionId") or path.name.split(".jsonl")[0])
            session = cls(path, sid, header)
        if session is None:
            waiting.append((seg, entries, raws, source, starts))
            continue
        for held in waiting:
            apply(*held)
        waiting.clear()
        apply(seg, entries, raws, source, starts)
    if session is None:
        stem = path.name.split(".jsonl")[0]
        session = cls(path, stem, {"type": "session", "sessionId": stem, "cwd": None, "segment": 0})
        for held in waiting:
            apply(*held)
    session.segments = segments
    session._settle_leaf()
    return Replayed(session, segments, last_header, retain)


def max_open_segments() -> int:
    """How many segment files a replay with ``read_back`` may keep open: a quarter of the soft limit on
    open files (at least 16). A session with more segments keeps its lines in memory instead."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, soft // 4) if soft != resource.RLIM_INFINITY else 4096


def replay(
    cls: type[S],
    path: Path,
    attempts: int = 12,
    *,
    lazy: bool = True,
    keep_decoded: int = 0,
    read_back: bool = False,
) -> Replayed[S]:
    """Read and replay every surviving segment of the session ``path`` into a new ``cls``.

    ``lazy`` keeps ``message`` and ``custom`` entries as their lines (:mod:`lime_repl.store.entries`);
    ``lazy=False`` keeps every entry decoded (faster to read again, about three times the memory).
    ``keep_decoded`` (bytes of lines, 0 = none) keeps the newest lazy messages' dicts for their
    first read (:class:`~lime_repl.store.entries.EntryMap`). ``read_back`` keeps each segment
    file open instead of the lazy messages' lines, which are read back by offset when needed (a
    :class:`~lime_repl.store.reading.SegmentSource` per segment; the segments then keep only
    their first two lines); a session with more segments than :func:`max_open_segments` keeps
    its lines.

    Raises ``FileNotFoundError`` when no segment exists; a rotation by another
    process that renames a segment away while it is read restarts the replay
    (up to ``attempts`` times, see :func:`~lime_repl.store.reading.read_segments`).
    ``OSError`` and :class:`~lime_repl.store.files.UnsafeFile` pass through.
    """
    for attempt in range(attempts):
        paths = segment_paths(path)
        if not paths:
            raise FileNotFoundError(errno.ENOENT, "no such session log", str(path))
        try:
            return _replay_paths(cls, path, paths, lazy, keep_decoded, read_back)
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
            retry_pause(attempt)
    raise AssertionError("unreachable")
