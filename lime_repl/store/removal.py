"""Deleting a session's files (``lime session rm``, the picker's delete)."""

from __future__ import annotations

from pathlib import Path

from ..errors import SessionLockedError
from .segments import segment_paths
from .session import is_locked

__all__ = ["remove_session"]


def remove_session(path: Path) -> list[Path]:
    """Delete every segment, the lock and ``.torn`` file of the session whose active file is ``path``.

    Returns the paths removed. Raises :class:`SessionLockedError` (exit 3)
    when a live process holds the session's lock; nothing is deleted then.
    """
    pid = is_locked(path)
    if pid is not None:
        raise SessionLockedError(f"session {path.name[:8]} is open in pid {pid}; close it first", pid=pid)
    removed = []
    for p in [*segment_paths(path), Path(f"{path}.torn"), Path(f"{path}.lock")]:
        try:
            p.unlink()
            removed.append(p)
        except FileNotFoundError:
            continue
    return removed
