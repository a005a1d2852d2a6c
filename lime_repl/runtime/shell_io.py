"""The persistent shell's pipes and processes: spawning bash, the output copy loop, the process group.

The copy loop (:func:`pump`) is the whole per-chunk cost of a ``!`` line's
output: one ``os.read`` of up to :data:`READ_SIZE` bytes, the capping
buffer's ``feed`` and the caller's callback. bash's stdout and stderr pipes
are enlarged to :data:`PIPE_SIZE` (``F_SETPIPE_SZ``, Linux; elsewhere, or
over the user's pipe quota, they keep the system's size), so a command that
streams fast is copied in few, large chunks.

Bytes lime need not see
    When the callback is a :class:`DirectOutput` (line mode: the bytes go to
    lime's own stdout or stderr unchanged), only the head and the tail of
    the stream pass through Python. Once the capping buffer's head is full,
    :func:`pump` asks the pipe how much it holds (``FIONREAD``) and moves all
    but the last :attr:`HeadTailBuffer.keep` bytes to the output with
    ``os.splice`` (Linux), which copies nothing through user space; the rest
    is read and written as before, so the buffer's tail still ends the
    stream and the log records the same head and tail. An output splice
    cannot write to (a file opened with ``O_APPEND``, a system without
    ``splice``) gets plain reads and writes.

    A command that streams fast writes in small pieces (``head`` writes
    8 KiB at a time), and lime would wake for each and read it. So once a
    stream is longer than a head plus one splice, a wake-up that finds less
    than :data:`SPLICE_MIN` waiting lets :data:`COALESCE_S` pass first (the
    pipe holds 1 MiB): 100 MB then move in a few hundred splices instead
    of twelve thousand reads, and output is late by at most half a
    millisecond. Each stream adapts that wait (:attr:`DirectOutput.nap`,
    from :data:`NAP_START_S`): it halves when the pipe was found three
    quarters full (the writer may have waited on a full pipe, and a
    waiting writer is the cost), and doubles up to :data:`COALESCE_S` when
    less than a splice's worth came. A fixed half millisecond let
    ``head -c 100M /dev/zero`` fill the pipe and wait in every nap: 74 to
    80 ms for its 99 MB against 54 to 64 ms adapted (bash alone into
    ``/dev/null``: 13 to 15 ms).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from ..outputs.capping import HeadTailBuffer

__all__ = [
    "PIPE_SIZE",
    "SPLICE_MIN",
    "READ_SIZE",
    "CallbackError",
    "DirectOutput",
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


SPLICE_MIN = 64 << 10
"""Fewest bytes :func:`pump` splices at once (64 KiB); less is read and written."""

COALESCE_S = 0.0005
"""Longest :func:`pump` lets a long stream's output gather before moving less than :data:`SPLICE_MIN` (seconds)."""

NAP_START_S = 0.0001
"""How long a stream's first gathering lasts (seconds); each stream then adapts its own (:attr:`DirectOutput.nap`)."""

NAP_MIN_S = 0.00002
"""Shortest gathering (seconds): below it, ``time.sleep`` costs more than the wait it asks for."""

_NEARLY_FULL = PIPE_SIZE * 3 // 4  # found after a nap: the writer may have waited on a full pipe

_SPLICE_REFUSED = frozenset({errno.EINVAL, errno.ENOSYS, errno.EBADF})  # O_APPEND output, no splice


class CallbackError(Exception):
    """Carries (as ``__cause__``) an exception raised by an output callback."""


class DirectOutput:
    """An output callback that writes each chunk unchanged to the blocking file descriptor *fd*.

    :func:`pump` may also move bytes from bash's pipe to *fd* with ``os.splice``
    (see the module docstring). *prepare* (e.g. flushing a text stream on the
    same descriptor) is called once, before the first byte goes out. Raises
    OSError from the write (BrokenPipeError when the reader is gone).
    """

    __slots__ = ("_prepare", "fd", "nap", "splicing")

    def __init__(self, fd: int, prepare: Callable[[], object] | None = None) -> None:
        self.fd = fd
        self._prepare = prepare
        #: Splicing is still worth trying (False once the output refused it, or without ``os.splice``).
        self.splicing = hasattr(os, "splice")
        #: How long :func:`pump` lets the stream gather before a splice (seconds; adapted per stream).
        self.nap = NAP_START_S

    def __call__(self, data: bytes) -> None:
        self.ready()
        write_all(self.fd, data)

    def ready(self) -> None:
        """Run *prepare* if it has not run yet."""
        prepare, self._prepare = self._prepare, None
        if prepare is not None:
            prepare()

    def splice_from(self, fd: int, count: int) -> int:
        """Move up to *count* bytes from the non-blocking pipe *fd* to the output; the number moved.

        A full output (a pipe to a slow reader) is waited for, as a write
        would wait: the kernel splices without waiting because *fd* is
        non-blocking. 0 when the output refused the splice (then no more are
        tried). Raises OSError from the output as a write would.
        """
        self.ready()
        while True:
            try:
                return os.splice(fd, self.fd, count)
            except BlockingIOError:
                waiter = select.poll()
                waiter.register(self.fd, select.POLLOUT)
                waiter.poll()  # writable, or an error the next splice raises
            except OSError as exc:
                if exc.errno not in _SPLICE_REFUSED:
                    raise
                self.splicing = False
                return 0


def _waiting(fd: int) -> int:
    """Bytes the pipe *fd* holds (``FIONREAD``); 0 when it cannot say."""
    from termios import FIONREAD  # imported by the first long stream only

    try:
        return int.from_bytes(fcntl.ioctl(fd, FIONREAD, bytes(4)), sys.byteorder)
    except OSError:
        return 0


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
    the selector wait; with it, read until the pipe would block. A
    :class:`DirectOutput` *callback* gets the middle of a long stream by
    ``os.splice`` (the module docstring). Raises :class:`CallbackError` from
    what *callback* raised (or its output refused).
    """
    read, feed = os.read, buf.feed
    direct = callback if isinstance(callback, DirectOutput) else None
    while True:
        if direct is not None and direct.splicing and buf.head_full:
            extra = _waiting(fd) - buf.keep
            if extra < SPLICE_MIN and buf.total >= buf.keep + SPLICE_MIN:
                time.sleep(direct.nap)  # a long stream: let a splice's worth gather
                extra = _waiting(fd) - buf.keep
                if extra >= _NEARLY_FULL:  # the writer may have waited on a full pipe: nap less
                    direct.nap = max(direct.nap / 2, NAP_MIN_S)
                elif extra < SPLICE_MIN:  # a slow writer: nap longer
                    direct.nap = min(direct.nap * 2, COALESCE_S)
            if extra >= SPLICE_MIN:
                try:
                    moved = direct.splice_from(fd, extra)
                except OSError as exc:
                    raise CallbackError from exc
                if moved:
                    buf.skip(moved)
                    continue
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
