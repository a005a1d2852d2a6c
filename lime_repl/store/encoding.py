"""Finding and fixing log lines that are not valid UTF-8 (DESIGN.md section 3, "Bytes and symlinks").

Every line lime writes is UTF-8. Older versions could write a command's
undecodable bytes as lone surrogates encoded like UTF-8 (``\\udce9`` as the
bytes ``ED B3 A9``), which no strict UTF-8 reader accepts. :func:`repair_utf8`
re-encodes such lines the way they are written now: each encoded surrogate
(``ED A0..BF xx``) and every other undecodable byte becomes U+FFFD, as
Python's ``errors="replace"`` decodes. It rewrites the file through a
temporary file and a rename, and only a regular file (never through a
symlink) that opens with a lime ``session`` header.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from .files import FILE_MODE, open_file, require_header

__all__ = ["find_bad_utf8", "fix_line", "repair_utf8"]

_SURROGATE = re.compile(rb"\xed[\xa0-\xbf][\x80-\xbf]")
_REPLACEMENT = "\ufffd".encode()


def _read(path: Path) -> bytes:
    with os.fdopen(open_file(path, os.O_RDONLY), "rb") as fh:
        return fh.read()


def _bad_lines(data: bytes) -> list[int]:
    try:
        data.decode("utf-8")
        return []
    except UnicodeDecodeError:
        pass
    bad = []
    for number, line in enumerate(data.split(b"\n"), 1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(number)
    return bad


def find_bad_utf8(path: Path) -> list[int]:
    """The 1-based numbers of the lines of ``path`` that are not valid UTF-8 (empty when all are).

    Raises ``OSError`` (:class:`~lime_repl.store.files.UnsafeFile` for a symlink) when it cannot be read.
    """
    return _bad_lines(_read(path))


def fix_line(raw: bytes) -> bytes:
    """``raw`` as valid UTF-8: encoded lone surrogates and undecodable bytes become U+FFFD."""
    return _SURROGATE.sub(_REPLACEMENT, raw).decode("utf-8", "replace").encode("utf-8")


def repair_utf8(path: Path) -> int:
    """Re-encode the lines of ``path`` that are not valid UTF-8; returns how many were changed.

    The new content is written to a temporary file in the same directory,
    synced and renamed over ``path``. Call only while holding the session
    lock. Raises :class:`~lime_repl.store.files.UnsafeFile` (nothing changed)
    for a symlink or a file without a ``session`` header, ``OSError`` when the
    disk refuses the copy (``path`` is then unchanged).
    """
    fd = open_file(path, os.O_RDONLY)
    try:
        require_header(fd, path)
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read()
    finally:
        os.close(fd)
    bad = set(_bad_lines(data))
    if not bad:
        return 0
    lines = data.split(b"\n")
    fixed = b"\n".join(fix_line(line) if number in bad else line for number, line in enumerate(lines, 1))
    tmp_fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".utf8", dir=path.parent)
    try:
        os.fchmod(tmp_fd, FILE_MODE)
        with os.fdopen(tmp_fd, "wb") as out:
            out.write(fixed)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return len(bad)
