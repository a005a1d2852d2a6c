"""Deleting a session's files: every segment, the ``.torn`` file and the lock, or nothing.

Source: DESIGN.md section 3 (a session's files) and the issue "Real input
never breaks a session", item 10 (a ``.torn`` or ``.lock`` that is a
directory gets one line naming the path, not an internal error). Every file is
checked before the first is removed, so a refusal removes nothing. A symlink
in place of a session file is removed as a link: its target is never touched.

This module imports nothing of lime's but errors and the store.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import SessionLockedError, StoreError
from .segments import segment_paths
from .session import is_locked

__all__ = ["remove_session", "session_files"]


def session_files(path: Path) -> list[Path]:
    """The files of the session whose active log is ``path``.

    Its existing segments (oldest first, the active one last), then ``.torn``
    and ``.lock`` whether they exist or not.
    """
    return [*segment_paths(path), Path(f"{path}.torn"), Path(f"{path}.lock")]


def remove_session(path: Path) -> list[Path]:
    """Delete every segment, the ``.torn`` file and the lock of the session at ``path``; the paths removed.

    Raises :class:`~lime_repl.errors.SessionLockedError` (exit 3) when a
    writer holds the session, and :class:`~lime_repl.errors.StoreError`
    (exit 1, one line naming the path) when one of its files is a directory
    or another file that is neither a regular file nor a symlink; nothing is
    removed then.
    """
    pid = is_locked(path)
    if pid is not None:
        raise SessionLockedError(f"session {path.name[:8]} is open in pid {pid}; close it first", pid=pid)
    present: list[Path] = []
    for p in session_files(path):
        try:
            mode = os.lstat(p).st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise StoreError(f"{p}: cannot remove it: {exc.strerror or exc}; nothing was removed") from None
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise StoreError(f"{p}: is {kind}, not a session file; nothing was removed")
        present.append(p)
    removed = []
    for p in present:
        try:
            p.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise StoreError(f"{p}: cannot remove it: {exc.strerror or exc}") from None
        removed.append(p)
    return removed
