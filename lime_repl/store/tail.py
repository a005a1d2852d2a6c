"""Reading a session's log as it grows, across rotations: every whole line once, in order.

A session's segments are ``<id>.jsonl.N`` ... ``<id>.jsonl.1`` and the active
``<id>.jsonl`` (DESIGN.md section 3); each starts with a ``session`` header
whose ``segment`` field numbers it (0 first, +1 at each rollover). The writer
rotates by renaming the active file and opening a new one, so a reader that
keeps its file open still reads the lines written just before the rename.

:func:`follow_lines` reads one segment at a time through an open file. When
the active path no longer names the file it is reading, that file is
complete: it is read to its end, and the next file is the one whose header
carries the smallest segment number above the current one. Several rotations
between two polls are therefore followed file by file. Only whole lines
(ending in ``\\n``) are yielded; a torn tail is never yielded.

Every segment is opened with :func:`~lime_repl.store.files.open_file`
(``O_NOFOLLOW``, regular files only): a segment replaced by a symlink, a
directory or a FIFO is never followed or read, and reading stops with
:class:`~lime_repl.store.files.UnsafeFile`, whose message is one line naming
the path (DESIGN.md section 3, "Bytes and symlinks").
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from threading import Event
from typing import BinaryIO

from .files import open_file
from .segments import segment_paths

__all__ = ["follow_lines", "log_bytes"]

_HEADER_MAX = 1 << 20


def _segment_number(fh: BinaryIO) -> int | None:
    """The ``segment`` number in the header line of an open file (0 if absent); None while the line is incomplete."""
    head = os.pread(fh.fileno(), _HEADER_MAX, 0)
    end = head.find(b"\n")
    if end < 0:
        return None
    try:
        header = json.loads(head[:end])
    except ValueError:
        return 0
    number = header.get("segment") if isinstance(header, dict) else None
    return number if isinstance(number, int) and not isinstance(number, bool) else 0


def _open_segment(path: Path) -> BinaryIO:
    """``path`` opened for reading without following a symlink. Raises UnsafeFile, FileNotFoundError."""
    return os.fdopen(open_file(path, os.O_RDONLY), "rb")


def log_bytes(active: Path) -> Iterator[bytes]:
    """The whole lines of every surviving segment of ``active``, oldest first, one ``bytes`` per segment.

    A torn last line is left out. Raises
    :class:`~lime_repl.store.files.UnsafeFile` when a segment is a symlink or
    not a regular file (it is not read); a segment that vanished is skipped.
    """
    for path in segment_paths(active):
        try:
            fh = _open_segment(path)
        except FileNotFoundError:
            continue
        with fh:
            data = fh.read()
        yield data[: data.rfind(b"\n") + 1]


def _open_next(active: Path, after: int | None) -> tuple[BinaryIO, int] | None:
    """The segment with the smallest number above ``after`` (any when None), opened; None if none is ready.

    Files are opened by name, so a rotation while they are being opened can
    hide one segment behind another's name; when the number found is not
    ``after + 1`` the directory is looked at again (segments are numbered
    without gaps unless rotation deleted one).
    """
    for attempt in range(4):
        best: tuple[int, BinaryIO] | None = None
        for path in segment_paths(active):
            try:
                fh = _open_segment(path)
            except FileNotFoundError:
                continue
            number = _segment_number(fh)
            if number is None or (after is not None and number <= after) or (best and number >= best[0]):
                fh.close()
                continue
            if best is not None:
                best[1].close()
            best = (number, fh)
        if best is None or after is None or best[0] == after + 1 or attempt == 3:
            return (best[1], best[0]) if best else None
        best[1].close()
        time.sleep(0.002 * (attempt + 1))
    return None


def _whole_lines(data: bytes) -> list[bytes]:
    """``data`` (ending in ``\\n``) cut after each ``\\n`` only (a ``\\r`` inside a line stays in it)."""
    return [part + b"\n" for part in data.split(b"\n")[:-1]]


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def follow_lines(
    active: Path,
    *,
    follow: bool = True,
    poll: float = 0.1,
    stop: Event | None = None,
    on_idle: Callable[[], None] | None = None,
) -> Iterator[bytes]:
    """Yield every whole line (with its ``\\n``) of the session whose active file is ``active``.

    Starts with the oldest surviving segment. Without ``follow`` it stops at
    the end of the active file; with it, it waits ``poll`` seconds between
    looks until ``stop`` is set (or forever). Lines in segments that rotation
    deleted before they could be opened are lost, as they are on disk.
    ``on_idle`` is called before each wait (a caller flushes its output there).
    """

    def wait() -> bool:
        """Sleep one poll; False when following is over."""
        if not follow or (stop is not None and stop.is_set()):
            return False
        if on_idle is not None:
            on_idle()
        time.sleep(poll)
        return True

    current: BinaryIO | None = None
    number = -1
    pending = b""
    try:
        while True:
            if current is None:
                opened = _open_next(active, None if number < 0 else number)
                if opened is None:
                    if not wait():
                        return
                    continue
                current, number = opened
                pending = b""
            pending += current.read()
            end = pending.rfind(b"\n") + 1
            if end:
                yield from _whole_lines(pending[:end])
                pending = pending[end:]
            if _inode(active) == os.fstat(current.fileno()).st_ino:
                if not wait():
                    return
                continue
            # ``current`` is no longer the active file: it is complete once read to its end.
            pending += current.read()
            end = pending.rfind(b"\n") + 1
            if end:
                yield from _whole_lines(pending[:end])
                pending = pending[end:]
            opened = _open_next(active, number)
            if opened is None:
                if not wait():  # the next segment's header is not written yet, or the file vanished
                    return
                continue
            current.close()
            current, number = opened
            pending = b""
    finally:
        if current is not None:
            current.close()
