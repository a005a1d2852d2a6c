"""Branching from the REPL: what ``/tree``, ``/fork``, ``/clone`` and ``/label`` do.

The slash commands in :mod:`lime_repl.repl.commands` call these functions.
In the interactive REPL they open prompt-toolkit views (:mod:`.tree_view`,
:mod:`.selector`); in line mode (no terminal) they print what a view would
show and take their choice as an argument instead:

* ``/tree`` shows the session tree; ``/tree ID`` selects an entry (id or
  unique id prefix) without the view. Selecting follows
  :func:`lime_repl.store.tree.plan_jump`: a user prompt is put in the next
  input line for editing and the leaf moves to its parent (a ``leaf``
  entry), so sending it starts a new branch; any other entry becomes the
  leaf. Leaving a branch in the view offers no summary, a summary, or a
  summary with a focus prompt; a summary is written as a ``branch_summary``
  entry {``fromId``, ``summary``} under the new position (the model writes
  it when one is configured, else the extractive summary), and the leaf
  moves to it.
* ``/fork [N|ID]`` copies the active branch up to the parent of an earlier
  user prompt into a new session (its ``forkedFrom`` names the source
  session and entry), continues there and puts that prompt in the input line.
* ``/clone`` copies the active branch up to the leaf into a new session.
* ``/label [TEXT]`` labels the leaf; no text clears its label.

The source session of a fork or clone is only read, never written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import StoreError, UsageError
from ..store.records import Entry, text_of
from ..store.segments import WriteFailed
from ..store.session import Session
from ..store.tree import build_tree, entry_kind, plan_jump
from ..views.tree import flatten, preview

if TYPE_CHECKING:
    from .controller import Controller

__all__ = [
    "clone_command",
    "fork_command",
    "jump_to",
    "label_command",
    "resolve_entry",
    "tree_command",
    "user_prompts",
]

_SUMMARY_CHOICES = [
    ("none", "No summary"),
    ("summary", "Summarize the branch being left"),
    ("focus", "Summarize it with a focus prompt"),
]


def _session(ctl: Controller) -> Session:
    if ctl.session is None:
        raise UsageError("no session is open")
    return ctl.session


def resolve_entry(session: Session, ref: str) -> str:
    """The id of the entry ``ref`` names (an id or unique id prefix). Raises :class:`UsageError`."""
    ref = ref.strip().lower()
    if ref in session.entries:
        return ref
    found = [entry_id for entry_id in session.entries if entry_id.startswith(ref)] if ref else []
    if len(found) == 1:
        return found[0]
    if found:
        raise UsageError(f"entry prefix '{ref}' is ambiguous: {', '.join(found[:10])}")
    raise UsageError(f"no entry '{ref}' in session {session.short_id}; /tree lists the entries")


def user_prompts(session: Session) -> list[Entry]:
    """The user's prompts on the active branch, root first (no tool results, no ``!`` commands)."""
    return [e for e in session.branch() if entry_kind(e) == "user"]


def _write(action: str, write):  # type: ignore[no-untyped-def]
    try:
        return write()
    except WriteFailed as exc:
        raise StoreError(f"{exc.strerror or exc}; {action} was not recorded") from None


# -- /tree --------------------------------------------------------------------
def tree_command(ctl: Controller, args: str) -> int:
    """``/tree [ID]``: the tree view, the printed tree in line mode, or a direct jump."""
    session = _session(ctl)
    if args:
        return jump_to(ctl, resolve_entry(session, args), offer_summary=False)
    if not ctl.console.interactive:
        rows = flatten(build_tree(session.entries, session.leaf_id, session.labels))
        if not rows:
            ctl.console.out("the session has no entries yet")
            return 0
        for row in rows:
            mark = "*" if row.is_leaf else " "
            label = f"[{row.label}] " if row.label else ""
            ctl.console.out(f"{mark} {row.id}  {row.prefix}{label}{row.text}")
        ctl.console.notice("* marks the leaf; /tree ID moves there (a user message: the next line branches)")
        return 0
    from .tree_view import run_tree_view

    ctl.sync()
    target = run_tree_view(session)
    if target is None:
        return 0
    return jump_to(ctl, target, offer_summary=True)


def jump_to(ctl: Controller, target_id: str, *, offer_summary: bool) -> int:
    """Select ``target_id`` as ``/tree`` does (see the module docstring); returns a status."""
    session = _session(ctl)
    plan = plan_jump(session.entries, session.leaf_id, target_id)
    left = [e for e in plan.abandoned if e.get("type") in ("message", "compaction", "branch_summary")]
    summary: str | None = None
    if offer_summary and plan.moves and left:
        from .selector import ask_line, select

        choice = select(f"Leaving a branch of {len(left)} entries. Summarize it?", _SUMMARY_CHOICES)
        if choice is None:
            ctl.console.notice("stayed where you were")
            return 0
        focus = None
        if choice == "focus":
            focus = ask_line("Focus of the summary: ")
            if focus is None:
                ctl.console.notice("stayed where you were")
                return 0
        if choice != "none":
            ctl.console.notice("summarizing the branch you are leaving…")
            summary, _by_model = ctl.summarize_entries(plan.abandoned, focus or None)
    if summary is not None:
        entry = _write(
            "the branch summary",
            lambda: session.append(
                {"type": "branch_summary", "fromId": plan.from_id, "summary": summary},
                parent_id=plan.new_leaf,
            ),
        )
        ctl.console.notice(f"branch summary {entry['id']} written; the conversation continues from it")
    elif plan.moves:
        _write("the move", lambda: session.set_leaf(plan.new_leaf))
        where = plan.new_leaf or "the start of the session"
        ctl.console.notice(f"leaf moved to {where}")
    if plan.prefill is not None:
        if ctl.console.interactive:
            ctl.next_input = plan.prefill
            ctl.console.notice("edit the message and press Enter to send it on a new branch")
        else:
            ctl.console.notice("the next message starts a new branch here")
    elif not plan.moves:
        ctl.console.notice("already at that entry")
    return 0


# -- /fork and /clone -----------------------------------------------------------
def _copy(ctl: Controller, upto: str | None) -> Session:
    """A new session holding the active session's branch up to ``upto`` (None: nothing)."""
    source = _session(ctl)
    ctl.sync()
    forked_from = {"sessionId": source.session_id, "entryId": upto or ""}
    if source.path is None:  # --no-session: the copy lives in memory too
        copy = Session.ephemeral(str(ctl.workspace.cwd), source.system_prompt, guard=source.output_guard)
        copy.header["forkedFrom"] = forked_from
        for entry in source.branch(upto) if upto else []:
            copy.append_copy(entry)
        return copy
    if upto is None:
        return ctl.workspace.create_session(system_prompt=source.system_prompt, forked_from=forked_from)
    return ctl.workspace.fork_session(source.path, upto)


def _pick_prompt(ctl: Controller, prompts: list[Entry], args: str) -> Entry | None:
    if args:
        if args.isdigit() and 1 <= int(args) <= len(prompts) and len(args) < 8:
            return prompts[int(args) - 1]
        entry_id = resolve_entry(_session(ctl), args)
        for entry in prompts:
            if entry["id"] == entry_id:
                return entry
        raise UsageError(f"entry {entry_id} is not a user message on the active branch")
    if ctl.console.interactive:
        from .selector import select

        options = [(e, f"{e['id']}  {preview(e)[6:]}") for e in prompts]
        return select(
            "Fork from which message? (the new session ends just before it)",
            options,
            default=len(options) - 1,
        )
    for number, entry in enumerate(prompts, 1):
        ctl.console.out(f"{number:>3}  {entry['id']}  {preview(entry)[6:]}")
    ctl.console.notice("fork from one with /fork N or /fork ID")
    return None


def fork_command(ctl: Controller, args: str) -> int:
    """``/fork [N|ID]``: a new session from before an earlier user message, that message in the input line."""
    source = _session(ctl)
    prompts = user_prompts(source)
    if not prompts:
        raise UsageError("no user message on this branch to fork from")
    chosen = _pick_prompt(ctl, prompts, args)
    if chosen is None:
        return 0
    parent = chosen.get("parentId")
    session = _copy(ctl, parent if isinstance(parent, str) and parent in source.entries else None)
    old = source.short_id
    ctl.adopt(session)
    ctl.console.notice(f"forked session {old} into new session {session.short_id}")
    if ctl.console.interactive:
        ctl.next_input = text_of(chosen)
        ctl.console.notice("edit the message and press Enter to send it")
    return 0


def clone_command(ctl: Controller, args: str) -> int:
    """``/clone``: a new session with the active branch up to the leaf, continued there."""
    source = _session(ctl)
    session = _copy(ctl, source.leaf_id)
    old = source.short_id
    ctl.adopt(session)
    ctl.console.notice(
        f"cloned session {old} into new session {session.short_id} ({len(session.entries)} entries)"
    )
    return 0


# -- /label -----------------------------------------------------------------------
def label_command(ctl: Controller, args: str) -> int:
    """``/label [TEXT]``: label the leaf (a bookmark in /tree); no text clears the label."""
    session = _session(ctl)
    if session.leaf_id is None:
        raise UsageError("nothing to label yet: the session has no entries")
    leaf = session.leaf_id
    _write("the label", lambda: session.label(leaf, args.strip() or None))
    if args.strip():
        ctl.console.notice(f"labeled {leaf} {args.strip()!r}")
    else:
        ctl.console.notice(f"cleared the label of {leaf}")
    return 0
