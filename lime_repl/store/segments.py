"""Rotated JSONL segment files: reading, the single-writer lock, appends, rotation, repair.

The rules are those of DESIGN.md section 3:

* the active file is ``<id>.jsonl``; before a write would take it past
  ``max_bytes`` (262,144 bytes) it rolls over: ``<id>.jsonl`` -> ``.1`` ->
  ``.2`` -> ``.3`` and the oldest beyond ``backups`` is deleted (the naming of
  ``logging.handlers.RotatingFileHandler``; ``backups = 0`` keeps every
  segment). A new segment starts with the lines the ``preamble`` callback
  gives (the ``session`` header and a ``checkpoint``) and is never left empty:
  the entry that caused the rollover follows at once;
* a session that keeps every segment renames all of them at each rollover
  (``.N`` -> ``.N+1``), which costs an import of many segments a number of
  renames quadratic in their count; between :meth:`SegmentWriter.begin_batch`
  and ``end_batch`` (an import) the older segments move once to numbers
  above :data:`GAP`, each rollover renames only the active file (to ``.GAP``, then ``.GAP-1`` …), and
  the end of the batch renumbers them ``.1`` … ``.N``. Every rename keeps the
  naming's order (a larger number is older), so a reader, or a process killed
  mid-batch, sees the segments in the right order, at worst with a gap in
  their numbers;
* each entry is one ``os.write`` of a whole line on an ``O_APPEND`` descriptor,
  so a concurrent reader sees whole lines or none; a short write (disk full)
  is cut back so that no half line stays in the file;
* a torn last line (no ``\\n``) is moved to ``<id>.jsonl.torn`` and the file
  truncated to its last whole line; a bad line in the middle is skipped with a
  warning naming file and line number;
* one writer per session, held by an OS lock on ``<id>.jsonl.lock``
  (:mod:`lime_repl.store.lock`);
* every session file is opened with ``O_NOFOLLOW`` and must be a regular file,
  and a segment is written, repaired or truncated only when it opens with a
  lime ``session`` header (:mod:`lime_repl.store.files`); an empty segment (a
  header write the disk refused) gets its header and checkpoint before the
  next entry.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

from .files import FILE_MODE, UnsafeFile, WriteFailed, open_file, require_header
from .lock import LockHeld, SessionLock
from .reading import _ROTATED, Line, Segment, read_segment, read_segments, segment_paths

__all__ = [
    "DEFAULT_BACKUPS",
    "DEFAULT_MAX_BYTES",
    "FILE_MODE",
    "GAP",
    "Line",
    "LockHeld",
    "Segment",
    "SegmentWriter",
    "SessionLock",
    "UnsafeFile",
    "WriteFailed",
    "read_segment",
    "read_segments",
    "repair_torn_tail",
    "segment_paths",
]

DEFAULT_MAX_BYTES = 262_144
DEFAULT_BACKUPS = 3
#: In a batch (:meth:`SegmentWriter.begin_batch`), the number the first rotated segment takes; later ones count down.
GAP = 1_000_000


def repair_torn_tail(path: Path) -> int:
    """Move a torn last line of ``path`` to ``<path>.torn`` and truncate to the last whole line.

    Returns the number of bytes moved (0 when the file ends with ``\\n``). The
    torn bytes are appended to ``.torn`` and synced before the truncation, so
    nothing is lost. Call only while holding the session lock. Raises
    :class:`UnsafeFile` when ``path`` or ``.torn`` is a symlink or not a
    regular file, or ``path`` does not open with a ``session`` header; the
    file is then unchanged.
    """
    with os.fdopen(open_file(path, os.O_RDWR), "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        require_header(fh.fileno(), path)
        if os.pread(fh.fileno(), 1, size - 1) == b"\n":
            return 0  # ends with a whole line: nothing torn
        # Scan back in blocks for the last newline.
        pos = size
        block = 65536
        cut = 0
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            chunk = fh.read(pos - start)
            idx = chunk.rfind(b"\n")
            if idx >= 0:
                cut = start + idx + 1
                break
            pos = start
        if cut == size:
            return 0
        fh.seek(cut)
        torn = fh.read()
        fd = open_file(str(path) + ".torn", os.O_WRONLY | os.O_CREAT | os.O_APPEND, what="torn-line file")
        try:
            os.write(fd, torn if torn.endswith(b"\n") else torn + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        fh.truncate(cut)
        fh.flush()
        os.fsync(fh.fileno())
        return len(torn)


class SegmentWriter:
    """Appends whole lines to a session's active file, rotating by size.

    ``preamble(segment_number)`` returns the lines (bytes) that open a new
    segment: the ``session`` header, plus a ``checkpoint`` for segments after
    the first. ``segment`` is the number of the current segment (0 first).
    All methods raise :class:`WriteFailed` when the disk refuses a write.
    """

    def __init__(
        self,
        active: Path,
        preamble: Callable[[int], list[bytes]],
        *,
        segment: int,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
    ) -> None:
        self.active = active
        self.preamble = preamble
        self.segment = segment
        self.max_bytes = max_bytes
        self.backups = backups
        self._fd: int | None = None
        self._unsynced = False  # bytes written (or a file opened) since the last fsync
        self._size = 0
        self._preamble_size = 0
        self.on_recreate: Callable[[str], None] | None = None
        self.sync_rotations = True  # fsync a segment as it is rotated (off for an import: Session.append_copies)
        self._batch = False  # in a batch of rotations (see the module doc and :meth:`begin_batch`)
        self._next_rotated: int | None = None  # in a batch, once the gap is open: the next rotated number

    # -- file handling -------------------------------------------------
    def open(self) -> None:
        """Open the active file for appending, writing the preamble if it is new or empty.

        Raises :class:`UnsafeFile` (and writes nothing) when the active path is
        a symlink, not a regular file, or a file that does not open with a
        ``session`` header; :class:`WriteFailed` when the preamble cannot be
        written (the file is then empty, and the next append writes it).
        """
        fd = open_file(self.active, os.O_RDWR | os.O_CREAT | os.O_APPEND)  # read: the header check
        try:
            require_header(fd, self.active)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._unsynced = False  # the file as it was; the preamble of a new one is a write
        self._size = os.fstat(fd).st_size
        self._preamble_size = 0
        if self._size == 0:
            self._write_preamble()

    def _write_preamble(self) -> None:
        data = b"".join(self.preamble(self.segment))
        self._write_raw(data)
        self._preamble_size = len(data)

    def _write_raw(self, data: bytes) -> None:
        assert self._fd is not None
        fd = self._fd
        written = 0
        self._unsynced = True
        try:
            while written < len(data):
                n = os.write(fd, data[written:])
                if n <= 0:
                    raise OSError(errno.EIO, "short write")
                written += n
        except OSError as exc:
            if written:
                try:
                    os.ftruncate(fd, self._size)
                except OSError:
                    pass
            raise WriteFailed(
                exc.errno or errno.EIO, f"cannot write {self.active}: {exc.strerror or exc}"
            ) from None
        self._size += len(data)

    def _file_vanished(self) -> bool:
        """True when the active path no longer names the open file (deleted, renamed away).

        Raises :class:`UnsafeFile` when a symlink, a directory or another
        non-regular file has taken its place: that is never written.
        """
        assert self._fd is not None
        try:
            on_disk = os.lstat(self.active)
        except FileNotFoundError:
            return True
        if stat.S_ISLNK(on_disk.st_mode):
            raise UnsafeFile(
                self.active, "was replaced by a symbolic link; lime does not follow it", errno.ELOOP
            )
        if not stat.S_ISREG(on_disk.st_mode):
            kind = "a directory" if stat.S_ISDIR(on_disk.st_mode) else "a file that is not a regular file"
            raise UnsafeFile(self.active, f"was replaced by {kind}; nothing was written there", errno.EISDIR)
        mine = os.fstat(self._fd)
        return (on_disk.st_ino, on_disk.st_dev) != (mine.st_ino, mine.st_dev)

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _rotate(self) -> None:
        if self.sync_rotations:
            self.sync()
        self._close_fd()
        base = str(self.active)
        if self.backups > 0:
            oldest = Path(f"{base}.{self.backups}")
            if oldest.exists():
                oldest.unlink()
            for n in range(self.backups - 1, 0, -1):
                src = Path(f"{base}.{n}")
                if src.exists():
                    os.replace(src, f"{base}.{n + 1}")
            os.replace(base, f"{base}.1")
        elif self._batch:
            if self._next_rotated is None or self._next_rotated < 1:
                self._close_gap()
                self._shift(GAP)
                self._next_rotated = GAP
            os.replace(base, f"{base}.{self._next_rotated}")
            self._next_rotated -= 1
        else:
            self._shift(1)
            os.replace(base, f"{base}.1")
        self.segment += 1
        self.open()

    def _rotated_numbers(self) -> list[int]:
        return [int(m.group(1)) for p in segment_paths(self.active) if (m := _ROTATED.search(p.name))]

    def _shift(self, by: int) -> None:
        """Rename every rotated segment ``.N`` to ``.N+by``, the oldest first, so no name is taken twice."""
        base = str(self.active)
        for n in sorted(self._rotated_numbers(), reverse=True):
            os.replace(f"{base}.{n}", f"{base}.{n + by}")

    def _close_gap(self) -> None:
        """Renumber the rotated segments ``.1`` … ``.N`` in their order, the newest first (a batch's end)."""
        if self._next_rotated is None:
            return
        self._next_rotated = None
        base = str(self.active)
        for k, n in enumerate(sorted(self._rotated_numbers()), 1):
            if n != k:  # k < n, and every number below n is already final: the name is free
                os.replace(f"{base}.{n}", f"{base}.{k}")

    def begin_batch(self) -> None:
        """Until :meth:`end_batch`, each rotation renames one file (see the module doc).

        Only a writer that keeps every segment (``backups == 0``) batches; one that
        prunes has at most ``backups`` segments to rename each time.
        """
        self._batch = self.backups == 0

    def end_batch(self) -> None:
        """Renumber the segments a batch rotated ``.1`` … ``.N``; raises :class:`WriteFailed` when a rename fails
        (the segments are then in order, with a gap in their numbers)."""
        self._batch = False
        try:
            self._close_gap()
        except OSError as exc:
            raise WriteFailed(
                exc.errno or errno.EIO, f"cannot rename the segments of {self.active}: {exc.strerror or exc}"
            ) from None

    # -- public --------------------------------------------------------
    def _ready(self) -> None:
        """Open (or re-create) the active file and give an empty segment its header and checkpoint."""
        if self._fd is None:
            self.open()
        elif self._file_vanished():
            self._close_fd()
            self.segment += 1
            self.open()
            if self.on_recreate is not None:
                self.on_recreate(f"{self.active} vanished; started segment {self.segment} with a new header")
        if self._size == 0:  # a rollover whose header the disk refused: the header comes first
            self._write_preamble()

    def _rotate_if_full(self, size: int) -> None:
        """Roll over before ``size`` more bytes would take the segment past ``max_bytes``.

        Never right after the preamble: a segment holds at least one entry,
        so rotation never leaves a header-only segment behind.
        """
        if self._size + size > self.max_bytes and self._size > self._preamble_size:
            self._rotate()

    def append(self, line: bytes) -> None:
        """Append one whole line (must end with ``\\n``), rotating first if it would not fit."""
        try:
            self._ready()
            self._rotate_if_full(len(line))
            self._write_raw(line)
        except WriteFailed:
            raise
        except OSError as exc:  # opening, renaming: the disk refused it
            raise WriteFailed(
                exc.errno or errno.EIO, f"cannot write {self.active}: {exc.strerror or exc}"
            ) from None

    def append_group(self, lines: list[bytes]) -> None:
        """Append ``lines`` all or nothing (a bash triple): when one fails, the earlier ones are cut off again.

        The group starts a new segment when it would not fit in this one, and
        is then one write; a group larger than a whole segment is split over
        segments, and then only the lines in the active segment are cut back.
        """
        size = sum(len(line) for line in lines)
        try:
            self._ready()
            self._rotate_if_full(size)
        except WriteFailed:
            raise
        except OSError as exc:
            raise WriteFailed(
                exc.errno or errno.EIO, f"cannot write {self.active}: {exc.strerror or exc}"
            ) from None
        mark = (self._fd, self.segment, self._size)
        if self._size + size <= self.max_bytes:
            self._write_raw(b"".join(lines))  # it fits: one write, cut back whole if the disk refuses it
            return
        try:
            for line in lines:
                self.append(line)
        except WriteFailed:
            if (self._fd, self.segment) == mark[:2] and self._fd is not None and self._size > mark[2]:
                try:
                    self._unsynced = True
                    os.ftruncate(self._fd, mark[2])
                    self._size = mark[2]
                except OSError:
                    pass
            raise

    def doomed_by(self, size: int) -> Path | None:
        """The rotated segment that appending ``size`` bytes now would delete, or None."""
        rotates = self._fd is not None and self._size + size > self.max_bytes and self._size > self._preamble_size
        if not rotates or self.backups <= 0:
            return None
        oldest = Path(f"{self.active}.{self.backups}")
        return oldest if oldest.exists() else None

    def append_many(self, lines: list[bytes]) -> None:
        """Append whole lines as :meth:`append` does, one write for each run of them that fits the segment."""
        i = 0
        while i < len(lines):
            self.append(lines[i])  # the checks and the rotation, for the first line of a run
            i += 1
            run, size = [], self._size
            while i < len(lines) and size + len(lines[i]) <= self.max_bytes:
                run.append(lines[i])
                size += len(lines[i])
                i += 1
            if run:
                self._write_raw(b"".join(run))

    def sync(self) -> None:
        """fsync the active file (end of a turn, exit), when anything was written to it since the last
        sync. Raises :class:`WriteFailed` on I/O error."""
        if self._fd is None or not self._unsynced:
            return
        try:
            os.fsync(self._fd)
            self._unsynced = False
        except OSError as exc:
            raise WriteFailed(exc.errno or errno.EIO, f"cannot sync {self.active}: {exc.strerror}") from None

    def close(self) -> None:
        """Sync and close the active file (a batch's gap closed); idempotent."""
        try:
            self.sync()
        finally:
            self._close_fd()
            try:
                self._close_gap()
            except OSError:
                pass  # the segments stay in order, with a gap in their numbers
