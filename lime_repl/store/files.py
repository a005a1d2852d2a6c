"""Opening session files safely (DESIGN.md section 3, "Bytes and symlinks").

Every session file (segments, ``.torn``, ``.lock``) is opened with
``O_NOFOLLOW`` and must be a regular file, so lime never writes through a
symlink someone put in place of its log. A segment that lime writes to,
repairs or truncates must also open with a lime ``session`` header: a file of
any other content is refused, not changed.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

from ..errors import StoreError

__all__ = ["FILE_MODE", "UnsafeFile", "WriteFailed", "has_header", "open_file", "require_header"]

FILE_MODE = 0o600
ENTRY_PREFIX = b'{"type":"'
_HEADER_MAX = 1 << 20


class WriteFailed(OSError, StoreError):
    """An append could not be written whole (disk full, file too large, I/O error).

    The file was cut back to its last whole line, so the log stays valid. It
    is both an ``OSError`` (``errno``, ``strerror``) and the store's one
    :class:`~lime_repl.errors.StoreError` (exit code 1): a refused write that
    no caller words differently reaches the user as ``lime: <strerror>``.
    """

    def __init__(self, *args: object) -> None:
        OSError.__init__(self, *args)
        #: The one line for the user: ``strerror`` (which names the file), else the OS error text.
        self.message = str(self.strerror or OSError.__str__(self))


class UnsafeFile(WriteFailed):
    """A session file lime refuses to open, write or repair.

    It is a symbolic link, a directory or another non-regular file, or it does
    not open with a lime ``session`` header. ``strerror`` is one line naming
    the path and the problem; ``path`` is the file.
    """

    def __init__(self, path: Path | str, problem: str, err: int = errno.EINVAL) -> None:
        super().__init__(err, f"{path}: {problem}")
        self.path = Path(path)


def open_file(path: Path | str, flags: int, mode: int = FILE_MODE, *, what: str = "session log") -> int:
    """``os.open`` with ``O_NOFOLLOW``; returns the descriptor of a regular file.

    ``what`` names the file's role in the error. Raises :class:`UnsafeFile`
    for a symlink, a directory or another non-regular file, ``OSError``
    (e.g. ``FileNotFoundError``, ``ENOSPC``) otherwise.
    """
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFile(
                path, f"is a symbolic link, not a {what}; lime does not follow it", errno.ELOOP
            ) from None
        if exc.errno == errno.EISDIR:
            raise UnsafeFile(path, f"is a directory, not a {what}", errno.EISDIR) from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise UnsafeFile(
            path, f"is {kind}, not a {what}", errno.EISDIR if stat.S_ISDIR(st.st_mode) else errno.EINVAL
        )
    return fd


def has_header(fd: int) -> bool:
    """True when the open file is empty or starts with a lime ``session`` header line.

    A file that is one incomplete line (no ``\\n`` yet) counts when it begins
    the way lime serializes an entry, ``{"type":"``: a torn header, or an entry
    torn by a crash or power cut right after a rollover whose header never
    reached the disk. Repair moves such a line to ``.torn``, so no byte is lost.
    """
    head = os.pread(fd, 4096, 0)  # a header is rarely longer; the whole limit only when it is
    if b"\n" not in head and len(head) == 4096:
        head = os.pread(fd, _HEADER_MAX, 0)
    end = head.find(b"\n")
    if end < 0:
        return head.startswith(ENTRY_PREFIX) or ENTRY_PREFIX.startswith(head)
    try:
        value = json.loads(head[:end])
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
        return False
    return isinstance(value, dict) and value.get("type") == "session"


def require_header(fd: int, path: Path | str) -> None:
    """Raise :class:`UnsafeFile` unless the open file is empty or opens with a ``session`` header."""
    if not has_header(fd):
        raise UnsafeFile(
            path, "does not start with a lime session header; lime does not write, repair or truncate it"
        )
