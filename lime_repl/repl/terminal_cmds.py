"""The full-screen forms of the commands registered with ``needs_terminal`` (interactive REPL only).

* ``/tree`` without an argument: the tree view (:mod:`.tree_view`); leaving
  a branch offers no summary, a summary, or a summary with a focus prompt
  (:mod:`.selector`); the summary is written by the model when one is
  configured, else the extractive one.
* ``/resume`` without an argument: the session picker (:mod:`.picker`).
* ``/fork`` without an argument: a selector of the branch's user prompts.
* ``/logs``: the registry's listing, then the log in ``$PAGER``.

Each form returns a :class:`~lime_repl.runtime.commands.CommandResult`, or
None to let the registry's handler run (an argument was given). The writes
go through the runtime and :mod:`lime_repl.runtime.commands.branching`.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..runtime.commands import REGISTRY, CommandResult
from ..runtime.commands.branching import fork_to, jump_to, user_prompts
from ..store.tree import plan_jump
from ..views.tree import preview
from .picker import pick_session
from .selector import ask_line, select
from .tree_view import run_tree_view

if TYPE_CHECKING:
    from .controller import Controller

__all__ = ["TERMINAL_FORMS"]

_SUMMARY_CHOICES = [
    ("none", "No summary"),
    ("summary", "Summarize the branch being left"),
    ("focus", "Summarize it with a focus prompt"),
]


def _tree(ctl: Controller, args: str) -> CommandResult | None:
    if args:
        return None
    rt = ctl.runtime
    session = rt.current
    rt.sync()
    target = run_tree_view(session)
    if target is None:
        return CommandResult()
    plan = plan_jump(session.entries, session.leaf_id, target)
    left = [e for e in plan.abandoned if e.get("type") in ("message", "compaction", "branch_summary")]
    summary: str | None = None
    if plan.moves and left:
        choice = select(f"Leaving a branch of {len(left)} entries. Summarize it?", _SUMMARY_CHOICES)
        focus = None
        if choice == "focus":
            focus = ask_line("Focus of the summary: ")
        if choice is None or (choice == "focus" and focus is None):
            return CommandResult(notices=["stayed where you were"])
        if choice != "none":
            ctl.console.notice("summarizing the branch you are leaving…")
            summary, _by_model = rt.summarize_entries(plan.abandoned, focus or None)
    return jump_to(rt, target, can_prefill=True, summary=summary)


def _resume(ctl: Controller, args: str) -> CommandResult | None:
    if args not in ("", "--fork"):
        return None
    picked = pick_session(ctl.runtime.workspace, current=ctl.runtime.session)
    if picked is None:
        return CommandResult()
    return REGISTRY.dispatch(ctl.runtime, f"/resume {picked} {args}", can_prefill=True)


def _fork(ctl: Controller, args: str) -> CommandResult | None:
    prompts = user_prompts(ctl.runtime.current)
    if args or not prompts:
        return None  # the handler forks, or says there is nothing to fork from
    options = [(e, f"{e['id']}  {preview(e)[6:]}") for e in prompts]
    chosen = select(
        "Fork from which message? (the new session ends just before it)", options, default=len(options) - 1
    )
    if chosen is None:
        return CommandResult()
    return fork_to(ctl.runtime, chosen, can_prefill=True)


def _logs(ctl: Controller, args: str) -> CommandResult | None:
    result = REGISTRY.dispatch(ctl.runtime, "/logs", can_prefill=True)
    files = ctl.runtime.current.segment_files()
    if not files or not ctl.console.stdout.isatty():
        return result
    ctl.render(result)
    ctl.runtime.sync()
    pager = shlex.split(ctl.runtime.workspace.env.get("PAGER") or "less -R")
    try:
        subprocess.run([*pager, str(files[0])], check=False)
    except OSError as exc:
        ctl.console.error(f"cannot run the pager {pager[0]}: {exc.strerror}")
        return CommandResult(command="logs", status=1)
    return CommandResult(command="logs")


#: The full-screen form of each ``needs_terminal`` command, by name.
TERMINAL_FORMS: dict[str, Callable[[Controller, str], CommandResult | None]] = {
    "tree": _tree,
    "resume": _resume,
    "fork": _fork,
    "logs": _logs,
}
