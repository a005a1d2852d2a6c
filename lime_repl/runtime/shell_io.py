"""The persistent shell's pipes and processes: spawning bash, the output copy loop, the process group.

The copy loop (:func:`pump`) is the whole per-chunk cost of a ``!`` line's
output: one ``os.read`` of up to :data:`READ_SIZE` bytes, the capping
buffer's ``feed`` and the caller's callback. bash's stdout and stderr pipes
are enlarged to :data:`PIPE_SIZE` (``F_SETPIPE_SZ``, Linux; elsewhere, or
over the user's pipe quota, they keep the system's size), so a command that
streams fast is copied in few, large chunks.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
from collections.abc import Callable, Sequence

from ..outputs.capping import HeadTailBuffer

__all__ = [
    "PIPE_SIZE",
    "READ_SIZE",
    "CallbackError",
    "group_members",
    "kill_group",
    "make_pipes",
    "pump",
    "read_once",
    "write_all",
]

OutputCallback = Callable[[bytes], None]

PIPE_SIZE = 1 << 20
"""Capacity asked for bash's stdout and stderr pipes (1 MiB, Linux's default ``pipe-max-size``)."""

READ_SIZE = PIPE_SIZE
"""Largest chunk read at once (and handed to an output callback)."""


class CallbackError(Exception):
    """Carries (as ``__cause__``) an exception raised by an output callback."""


def make_pipes(count: int, enlarge: Sequence[int] = ()) -> list[tuple[int, int]]:
    """``count`` pipes as ``(read end, write end)``; those at the indexes ``enlarge`` get :data:`PIPE_SIZE`."""
    pipes = [os.pipe() for _ in range(count)]
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if setsize is not None:
        for index in enlarge:
            with contextlib.suppress(OSError):  # EPERM over the quota: keep the default size
                fcntl.fcntl(pipes[index][0], setsize, PIPE_SIZE)
    return pipes


def pump(fd: int, buf: HeadTailBuffer, callback: OutputCallback | None, *, drain: bool) -> bool:
    """Move what the non-blocking *fd* holds into *buf* and *callback*; False at end of file.

    Without *drain*, stop after a short read (the pipe was emptied) and let
    the selector wait; with it, read until the pipe would block. Raises
    :class:`CallbackError` from what *callback* raised.
    """
    read, feed = os.read, buf.feed
    while True:
        try:
            chunk = read(fd, READ_SIZE)
        except BlockingIOError:
            return True
        if not chunk:
            return False
        feed(chunk)
        if callback is not None:
            try:
                callback(chunk)
            except Exception as exc:
                raise CallbackError from exc
        if len(chunk) < READ_SIZE and not drain:
            return True


def read_once(fd: int) -> bytes | None:
    """One read of a non-blocking *fd*: data, b"" at end of file, None if it would block."""
    try:
        return os.read(fd, READ_SIZE)
    except BlockingIOError:
        return None


def write_all(fd: int, data: bytes) -> None:
    """Write all of *data* to the blocking *fd*. Raises OSError (BrokenPipeError when the reader is gone)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL *proc*'s process group (its pid is the group's id) and reap *proc*."""
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def group_members(pgid: int) -> list[int] | None:
    """Pids in process group *pgid* other than *pgid* itself (None without /proc)."""
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) != pgid]
    except OSError:
        return None
    return [pid for pid in pids if _pgid(pid) == pgid]


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None
