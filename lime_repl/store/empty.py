"""Sessions with no entries: telling them apart, and removing one that ends that way.

A session's header is written when it starts, for durability (DESIGN.md
section 3), so a ``lime`` opened and left with Ctrl-D leaves a file of one
line. Such a session has no entries beyond its header: listings, the picker
and ``latest`` (``lime -c``) skip it, and the session that made it removes it
when it closes (:meth:`lime_repl.store.session.Session.close`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["has_entries", "remove_session_files"]

_PREAMBLE = (b'{"type":"session"', b'{"type":"checkpoint"')


def has_entries(active: Path) -> bool:
    """Whether the active file ``active`` holds a line other than its ``session`` header and ``checkpoint``.

    Reads the file (``O_NOFOLLOW``: a symlink counts as having entries, so it is
    never taken for empty and removed). A torn last line counts as an entry. A
    missing file has none. A session with rotated copies always has entries:
    a segment is started only for the entry that follows its preamble.
    """
    try:
        fd = os.open(active, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        with os.fdopen(fd, "rb") as fh:
            data = fh.read()
    except OSError:
        return True
    return any(line.strip() and not line.startswith(_PREAMBLE) for line in data.split(b"\n"))


def remove_session_files(active: Path) -> bool:
    """Delete the session ``active`` (``<id>.jsonl``) and its ``.lock`` when it has no entries; True if deleted.

    Only regular files are deleted (a symlink is left alone), only when
    :func:`has_entries` is False and no rotated copy (``<id>.jsonl.N``) exists.
    Errors are swallowed: a session that cannot be removed stays, listed as empty.
    """
    if has_entries(active) or Path(f"{active}.1").exists():
        return False
    removed = False
    for path in (active, Path(f"{active}.lock")):
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.unlink(path)
                removed = removed or path == active
        except OSError:
            pass
    return removed
