"""Starting lime without a subcommand: pick the session and the mode (interactive, line, print)."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

from ..errors import UsageError
from ..runtime.model import NO_PROVIDER_HINT
from ..workspace import Workspace
from .console import Console

__all__ = ["start"]


def _pick(workspace: Workspace) -> str | None:
    """The full-screen session picker (:mod:`.picker`); the chosen session's path, or None if cancelled."""
    if not sys.stdin.isatty():
        raise UsageError("choosing a session needs a terminal: pass an id, e.g. lime -r latest")
    from .picker import pick_session

    path = pick_session(workspace)
    return None if path is None else str(path)


def _resolve(workspace: Workspace, console: Console, ref: str) -> Path:
    """The session ``ref`` names; another tool's log (or a lime export) is imported first and never written."""
    from ..exchange.reimport import import_or_update, is_foreign_file

    if not is_foreign_file(ref):
        return workspace.resolve(ref)
    outcome = import_or_update(workspace, ref)
    result = outcome.result
    done = {
        "new": "imported",
        "updated": f"added {outcome.added} entries to the import",
        "unchanged": "already imported",
    }
    console.notice(
        f"{done[outcome.status]}: {result.tool} session {Path(ref).name} is lime session {result.session_id[:8]}"
    )
    return result.path


def _print_prompt(prompt: str) -> str:
    """The prompt for ``-p``: ``-`` means all of stdin; else piped stdin follows after a blank line.

    Stdin is read as UTF-8 (bad bytes replaced) only when it is not a terminal; trailing
    newlines are dropped. Raises UsageError when ``-p -`` finds no text on stdin.
    """
    piped = "" if sys.stdin.isatty() else sys.stdin.buffer.read().decode("utf-8", "replace").rstrip("\r\n")
    if prompt == "-":
        if not piped.strip():
            raise UsageError("-p - reads the prompt from stdin, but stdin is empty")
        return piped
    return f"{prompt}\n\n{piped}" if piped.strip() else prompt


def start(
    *,
    continue_: bool = False,
    resume: str | None = None,
    fork: bool = False,
    no_session: bool = False,
    prompt: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    yolo: bool = False,
    pick: bool = False,
) -> int:
    """Run lime; returns the exit status. Raises a LimeError for bad input.

    ``resume`` is ``None`` (not asked) or a non-empty reference; ``""`` is a UsageError.
    In print mode (``prompt`` given), ``prompt == "-"`` reads the whole prompt from stdin,
    and piped stdin after any other prompt is appended as ``PROMPT + "\\n\\n" + STDIN``
    (the convention of ``claude -p`` and ``llm``).
    """
    if resume is not None and not resume.strip():
        raise UsageError("--resume needs a session id, 'latest' or a .jsonl path; no value opens the picker")
    if prompt is not None:
        prompt = _print_prompt(prompt)
    interactive = sys.stdin.isatty() and prompt is None
    workspace = Workspace()
    console = Console(interactive=interactive, env=workspace.env)
    if continue_ and resume:
        raise UsageError("use either --continue or --resume, not both")
    if fork and not (continue_ or resume):
        raise UsageError("--fork needs --continue or --resume")
    if no_session and (continue_ or resume):
        raise UsageError("--no-session cannot resume a session")
    picked = _pick(workspace) if pick else None  # before the controller: the picker opens at once
    if pick and picked is None:
        return 0
    from .controller import Controller  # after the picker: `lime -r` lists before the runtime is imported

    controller = Controller.start(
        workspace,
        console,
        can_ask=interactive,  # -p and line mode ask nobody: tools that need approval need --yolo
        ephemeral=no_session,
        provider=provider,
        model=model,
        yolo=yolo,
    )
    runtime = controller.runtime
    runtime.titles_auto &= interactive  # print and line mode would wait for the title at exit
    if prompt is not None and runtime.agent is None:
        raise UsageError(NO_PROVIDER_HINT)
    try:
        if continue_ or resume:
            ref = "latest" if continue_ else resume
            if pick:
                ref = picked
            path = workspace.latest() if ref in ("latest", None) else _resolve(workspace, console, ref)
            if path is None:
                console.notice("no earlier session in this directory; starting a new one")
                runtime.new_session()
            elif fork:
                forked = runtime.fork(path).short_id
                console.notice(f"forked {path.name[:8]} into new session {forked}")
            else:  # no local name for the session: after /new or /resume it must be freed (its files close)
                resumed = runtime.resume(path)
                if interactive:
                    console.notice(f"resumed session {resumed.short_id} ({len(resumed.entries)} entries)")
                del resumed
        else:
            runtime.new_session()
        gc.freeze()  # what start-up built lives as long as the process: later collections skip it
        gc.enable()
        if prompt is not None:
            status = controller.send_text(prompt)
        elif interactive:
            from .app import run_interactive

            status = run_interactive(controller)
        else:
            from .line_mode import run_line_mode

            status = run_line_mode(controller, sys.stdin.buffer)
    finally:
        notice = runtime.closing_notice()
        runtime.close()
    if notice:
        console.notice(notice)
    return status
