"""``/export [format] [path]`` and ``/export-md [path]``: export the running session from the REPL.

The session's files are synced first, so the export holds every entry
written so far. A path is taken relative to the ``!`` shell's working
directory (where the user is), the default name is
``lime-<id8>-<YYYYmmdd-HHMMSS>.<ext>`` there, and without a format the
path's extension decides, else Markdown. A ``--no-session`` session can be
exported as md, html or json from memory; jsonl and zip need its files.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from .controller import Controller

__all__ = ["complete_formats", "export_command"]

USAGE = "usage: /export [jsonl|json|md|html|zip|pi|claude|codex] [PATH]"


def complete_formats(ctl: Controller, prefix: str) -> Iterable[tuple[str, str]]:
    """Tab completion for the first argument of ``/export``."""
    from ..exchange.export import FORMATS

    hints = {
        "jsonl": "the log, byte for byte",
        "json": "one JSON document",
        "md": "Markdown",
        "html": "one offline page",
        "zip": "segments, manifest and program log",
        "pi": "a pi session file",
        "claude": "a Claude Code session log",
        "codex": "a Codex rollout",
    }
    return [(f, hints[f]) for f in FORMATS if f.startswith(prefix)]


def export_command(ctl: Controller, args: str, fmt: str | None) -> int:
    """Run ``/export`` (``fmt`` None) or ``/export-md`` (``fmt`` "md"); returns 0, or raises UsageError."""
    from ..exchange.export import export_session, split_export_args

    try:
        words = shlex.split(args)
    except ValueError as exc:
        raise UsageError(f"{USAGE} ({exc})") from None
    fmt, path = split_export_args(words, fmt)
    session = ctl.session
    if session is None:
        raise UsageError("no session to export")
    ctl.sync()
    saved = session.path is not None and session.path.exists()
    cwd = (
        Path(ctl.shell.cwd)
        if ctl.shell is not None and getattr(ctl.shell, "cwd", None)
        else ctl.workspace.cwd
    )
    target = export_session(
        session.path if saved else None,
        fmt,
        path,
        cwd=cwd,
        env=ctl.workspace.env,
        session=None if saved else session,
    )
    ctl.console.notice(f"exported session {session.short_id} to {target}")
    return 0
