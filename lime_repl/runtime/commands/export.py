"""``/export [format] [path]`` and ``/export-md [path]``: export the running session.

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
from typing import TYPE_CHECKING

from ...errors import UsageError
from ...exchange.export import FORMATS, split_export_args
from .registry import REGISTRY, CommandResult

if TYPE_CHECKING:
    from ..session import SessionRuntime

__all__ = ["complete_formats"]

_HINTS = {
    "jsonl": "the log, byte for byte",
    "json": "one JSON document",
    "md": "Markdown",
    "html": "one offline page",
    "zip": "segments, manifest and program log",
    "pi": "a pi session file",
    "claude": "a Claude Code session log",
    "codex": "a Codex rollout",
}
USAGE = f"usage: /export [{'|'.join(FORMATS)}] [PATH]"


def complete_formats(rt: SessionRuntime, prefix: str) -> Iterable[tuple[str, str]]:
    """Tab completion for the first argument of ``/export``."""
    return [(f, _HINTS.get(f, "")) for f in FORMATS if f.startswith(prefix)]


def _export(rt: SessionRuntime, args: str, fmt: str | None) -> CommandResult:
    try:
        words = shlex.split(args)
    except ValueError as exc:
        raise UsageError(f"{USAGE} ({exc})") from None
    fmt, path = split_export_args(words, fmt)  # refuses an unknown format (/export pdf), exit 2
    session = rt.current
    target = rt.export(fmt, path)
    return CommandResult(notices=[f"exported session {session.short_id} to {target}"])


@REGISTRY.register("export", args=f"[{'|'.join(FORMATS)}] [PATH]", complete=complete_formats)
def cmd_export(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Export this session to PATH (default: lime-<id8>-<time>.<ext> here); the format defaults to md."""
    return _export(rt, args, None)


@REGISTRY.register("export-md", args="[PATH]")
def cmd_export_md(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Export this session as Markdown (the same as /export md)."""
    return _export(rt, args, "md")
