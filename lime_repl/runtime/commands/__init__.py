"""The slash commands (DESIGN.md section 5): one registry, handlers that return :class:`CommandResult`.

Importing this package registers every command: the session's own
(:mod:`.session_cmds`), branching (:mod:`.branching`) and export
(:mod:`.export`). Handlers import the runtime only for type checking, so
:mod:`lime_repl.runtime.session` imports this package at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import (
    branching,
    export,
    session_cmds,  # noqa: I001 - the import order is the order /help lists the commands
)
from .registry import REGISTRY, Command, CommandResult, Registry, Table

if TYPE_CHECKING:
    from ..session import SessionRuntime

__all__ = ["REGISTRY", "Command", "CommandResult", "Registry", "Table", "branching", "export", "session_cmds"]


@REGISTRY.register("quit", aliases=("exit",))
def cmd_quit(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Save and leave lime."""
    return CommandResult(quit=True)
