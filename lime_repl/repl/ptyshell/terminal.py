"""The real terminal's side of a ``!`` command: its size, raw mode, and taking it back.

While a command runs, lime's own terminal is in raw mode (``tty.setraw``:
no echo, no line editing, no signals from keys), so every key (Ctrl-C,
Ctrl-Z, Ctrl-D included) is copied to the command's pseudo terminal and its
line discipline acts on it, as the terminal's would under bash. On the way
back the saved termios settings are restored (``TCSADRAIN``: after the
output written so far has been transmitted) and the caller writes
:func:`lime_repl.repl.ptyshell.record.restore_sequence`.

Sources: termios(3), tty(4) ``TIOCGWINSZ``/``TIOCSWINSZ``, POSIX ``tcsetattr``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import struct
import termios
import tty
from collections.abc import Iterator

__all__ = ["DEFAULT_SIZE", "raw_mode", "set_size", "terminal_size", "write_all"]

DEFAULT_SIZE = (24, 80)
"""``(rows, columns)`` given to the pseudo terminal when lime's output is not a terminal."""


def terminal_size(fd: int) -> tuple[int, int] | None:
    """``(rows, columns)`` of the terminal on *fd*, or None when *fd* is not a terminal (or reports 0 x 0)."""
    try:
        rows, columns, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    return (rows, columns) if rows and columns else None


def set_size(fd: int, rows: int, columns: int) -> None:
    """Set the window size of the pseudo terminal on *fd* (the kernel sends SIGWINCH to its foreground group)."""
    with contextlib.suppress(OSError):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


@contextlib.contextmanager
def raw_mode(fd: int | None) -> Iterator[list | None]:
    """Put the terminal on *fd* in raw mode for the ``with`` block; restore its settings after.

    Yields the saved settings (``termios.tcgetattr`` list), or None when *fd*
    is None or not a terminal (then nothing is changed).
    """
    saved = None
    if fd is not None and os.isatty(fd):
        with contextlib.suppress(termios.error):
            saved = termios.tcgetattr(fd)
            tty.setraw(fd, termios.TCSANOW)
    try:
        yield saved
    finally:
        if saved is not None and fd is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write all of *data* to *fd*, waiting when a non-blocking *fd* is full."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            select.select([], [fd], [])
