"""What resuming a session brings back besides its log: where its shell was, and a recap of its last exchanges.

A resumed (or forked) session continues where its shell last was: the
``shell.cwd`` of the last bash triple in its log, else the header's ``cwd``
(:func:`shell_dir`). The runtime starts its persistent shell there, or ``cd``
s a running one there, and the model's tools run there too; when that is not
the directory lime was started in, one notice says so (:func:`start_dir`). A
new session (``/new``) starts in lime's launch directory.

The recap (:func:`recap_event`) is the session's last ``resume.show``
exchanges (config, default 3; 0 turns it off), the way ``claude --resume``
and ``pi -r`` redraw the conversation (:mod:`lime_repl.views.exchanges`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ..config import Config
from ..errors import UsageError
from ..store.records import Entry, shell_fields
from ..store.state import SessionState
from .events import Notice, Recap

__all__ = ["DEFAULT_SHOW", "recap_event", "same_dir", "shell_dir", "show_count", "start_dir"]

#: Exchanges a resume shows when ``resume.show`` is not set.
DEFAULT_SHOW = 3


def shell_dir(session: SessionState) -> str | None:
    """Where ``session``'s shell last was: the ``shell.cwd`` of the last bash triple in the log
    (log order, so after the last ``!`` command whatever branch it is on), else the header's ``cwd``;
    None when neither is recorded (DESIGN.md section 3, "bash triple")."""
    for node in reversed(session.entries.nodes.values()):
        if not node.shell:  # a fact of each entry taken at replay: nothing is decoded to skip it
            continue
        entry = node.entry
        shell = entry.get("shell")
        if shell is not None and shell_fields(entry) is not None:
            cwd = shell.get("cwd")
            if isinstance(cwd, str) and cwd:
                return cwd
    return session.cwd or None


def same_dir(a: str | Path, b: str | Path) -> bool:
    """True when ``a`` and ``b`` are the same directory (the same file, else the same real path)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def start_dir(session: SessionState, launch: Path) -> tuple[Path, Notice | None]:
    """``(directory, notice)``: where a resumed ``session``'s shell and tools start, and the one notice
    that says so when that is not ``launch`` (lime's launch directory; None when it is).

    A recorded directory that no longer exists (or is not a directory) gives
    ``launch`` and a warning that names both.
    """
    recorded = shell_dir(session)
    if recorded is None:
        return launch, None
    where = Path(recorded)
    if not where.is_dir():
        return launch, Notice(
            "warning", f"this session's shell was last in {recorded}, which is gone; the shell starts in {launch}"
        )
    if same_dir(where, launch):
        return launch, None
    return where, Notice("info", f"the shell starts in {recorded}, where this session's shell last was "
                         f"(lime was started in {launch})")


def show_count(config: Config) -> int:
    """The ``resume.show`` setting: exchanges a resume redraws (default :data:`DEFAULT_SHOW`, 0 = none).

    Raises :class:`UsageError` (exit 2) when it is not a whole number of at least 0.
    """
    try:
        count = config.get_int("resume.show", DEFAULT_SHOW)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if count < 0:
        raise UsageError(f"setting resume.show must be 0 or more, not {count}")
    return count


def _back_from_leaf(session: SessionState) -> Iterator[Entry]:
    """The active branch from its leaf back to its root (what :meth:`SessionState.branch` lists, reversed),
    read lazily; stops at a missing parent or a cycle as that does."""
    current, seen = session.leaf_id, set()
    while isinstance(current, str) and current in session.entries and current not in seen:
        seen.add(current)
        entry = session.entries[current]
        yield entry
        current = entry.get("parentId")


def recap_event(session: SessionState, config: Config) -> Recap | None:
    """The :class:`Recap` of ``session``'s active branch for ``resume.show``, or None (0, or nothing to show)."""
    from ..views.exchanges import recap  # a resume's work: a new session's `!` line never loads the views

    lines, shown, earlier = recap(_back_from_leaf(session), show_count(config))
    return Recap(tuple(lines), shown, earlier) if lines else None
