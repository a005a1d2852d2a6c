"""What the ``lime`` subcommands share: the workspace of the current directory and session-id completion."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["complete_sessions", "workspace"]


def complete_sessions(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of session ids (8-char prefixes, titles as help) for this directory."""
    from click.shell_completion import CompletionItem

    try:
        sessions = workspace().list_sessions()
    except Exception:  # completion must never fail loudly
        return []
    items = [CompletionItem("latest", help="the most recent session here")] if "latest".startswith(incomplete) else []
    for info in sessions[:200]:
        if info.id.startswith(incomplete):
            items.append(CompletionItem(info.id[:8], help=info.title or (info.first_message or "")[:40]))
    return items


def workspace() -> Any:
    """The :class:`~lime_repl.workspace.Workspace` of the current directory (imported at first use)."""
    from ..workspace import Workspace

    return Workspace()
