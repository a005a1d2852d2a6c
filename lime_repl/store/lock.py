"""The single-writer lock of a session (DESIGN.md section 3, "Durability").

An OS lock (``flock``) on ``<id>.jsonl.lock``, which also holds the holder's
pid for the error message. The lock file is opened with ``O_NOFOLLOW`` and
must be a regular file, so taking a lock never truncates or writes a file a
symlink points to.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from .files import open_file

__all__ = ["LockHeld", "SessionLock"]


class LockHeld(Exception):
    """Another process holds the session lock. ``pid`` is the holder's, when known."""

    def __init__(self, path: Path, pid: int | None) -> None:
        super().__init__(f"{path} is locked by pid {pid}")
        self.path = path
        self.pid = pid


class SessionLock:
    """The single-writer lock of one session: an OS lock on ``<id>.jsonl.lock``.

    ``acquire()`` raises :class:`LockHeld` at once (no waiting) when another
    process, or another ``SessionLock`` in this process, holds it, and
    :class:`~lime_repl.store.files.UnsafeFile` when the lock path is a
    symlink or a directory.
    """

    def __init__(self, active: Path) -> None:
        self.path = Path(str(active) + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = open_file(self.path, os.O_RDWR | os.O_CREAT, what="lock file")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockHeld(self.path, self._live_holder_pid()) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        try:
            pid = f"{os.getpid()}\n".encode()
            # Written over the last holder's pid; cut only when that was longer (a truncate to 0
            # first costs a metadata update on every acquire).
            before = os.fstat(fd).st_size
            os.pwrite(fd, pid, 0)
            if before > len(pid):
                os.ftruncate(fd, len(pid))
        except OSError:
            pass  # the pid is only for the message; a full disk must not stop the lock

    def _live_holder_pid(self, tries: int = 20) -> int | None:
        """The holder's pid, waiting up to ~0.2 s for it: a holder that has just won a race writes it
        right after taking the lock, and until then the file is empty or names an earlier, dead holder."""
        pid = None
        for _ in range(tries):
            pid = self.holder_pid()
            if pid is not None and pid > 0:
                try:
                    os.kill(pid, 0)
                    return pid
                except PermissionError:
                    return pid
                except OSError:
                    pass
            time.sleep(0.01)
        return pid

    def holder_pid(self) -> int | None:
        """The pid written by the current holder, or None when unreadable."""
        try:
            fd = open_file(self.path, os.O_RDONLY, what="lock file")
        except OSError:
            return None
        try:
            return int(os.read(fd, 64).decode("ascii", "replace").strip() or "x")
        except (OSError, ValueError):
            return None
        finally:
            os.close(fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None
