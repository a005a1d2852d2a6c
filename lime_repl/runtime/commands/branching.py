"""Branching commands: ``/tree ID``, ``/fork [N|ID]``, ``/clone`` and ``/label`` (DESIGN.md section 5).

* ``/tree`` lists the session tree; ``/tree ID`` selects an entry (id or
  unique id prefix). Selecting follows :func:`lime_repl.store.tree.plan_jump`:
  a user prompt is offered for editing (the prefill) and the leaf moves to its
  parent (a ``leaf`` entry), so sending it starts a new branch; any other
  entry becomes the leaf. The interactive REPL's full-screen view
  (``needs_terminal``) may add a ``branch_summary`` of the branch being left
  (:func:`jump_to` with ``summary``).
* ``/fork [N|ID]`` copies the active branch up to the parent of an earlier
  user prompt into a new session (its ``forkedFrom`` names the source
  session and entry), continues there and prefills that prompt; without an
  argument it lists the prompts (the REPL shows a selector instead).
* ``/clone`` copies the active branch up to the leaf into a new session.
* ``/label [TEXT]`` labels the leaf; no text clears its label.

The source session of a fork or clone is only read, never written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ...errors import UsageError
from ...store.records import Entry, text_of
from ...store.session import Session
from ...store.tree import build_tree, entry_kind, plan_jump
from ...views.tree import flatten, preview
from .registry import REGISTRY, CommandResult

if TYPE_CHECKING:
    from ..session import SessionRuntime

__all__ = ["fork_to", "jump_to", "resolve_entry", "user_prompts"]


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


def _entry_ids(rt: SessionRuntime, prefix: str) -> Iterable[tuple[str, str]]:
    if rt.session is not None:
        for entry in rt.session.branch():
            yield entry["id"], preview(entry)[:60]


# -- /tree --------------------------------------------------------------------
@REGISTRY.register("tree", args="[ID]", complete=_entry_ids, needs_terminal=True)
def cmd_tree(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Navigate the session tree: move the leaf, edit an earlier message, label, fold, filter."""
    session = rt.current
    if args:
        return jump_to(rt, resolve_entry(session, args), can_prefill=can_prefill)
    result = CommandResult()
    rows = flatten(build_tree(session.entries, session.leaf_id, session.labels))
    if not rows:
        result.out("the session has no entries yet")
        return result
    for row in rows:
        mark = "*" if row.is_leaf else " "
        label = f"[{row.label}] " if row.label else ""
        result.out(f"{mark} {row.id}  {row.prefix}{label}{row.text}")
    result.notice("* marks the leaf; /tree ID moves there (a user message: the next line branches)")
    return result


def jump_to(rt: SessionRuntime, target_id: str, *, can_prefill: bool, summary: str | None = None) -> CommandResult:
    """Select ``target_id`` as ``/tree`` does (see the module docstring), writing ``summary`` as a
    ``branch_summary`` of the branch left when given."""
    session = rt.current
    plan = plan_jump(session.entries, session.leaf_id, target_id)
    result = CommandResult()
    if summary is not None:
        entry = rt.branch_summary(plan.from_id, summary, plan.new_leaf)
        result.notice(f"branch summary {entry['id']} written; the conversation continues from it")
    elif plan.moves:
        rt.set_leaf(plan.new_leaf)
        result.notice(f"leaf moved to {plan.new_leaf or 'the start of the session'}")
    if plan.prefill is not None:
        if can_prefill:
            result.prefill = plan.prefill
            result.notice("edit the message and press Enter to send it on a new branch")
        else:
            result.notice("the next message starts a new branch here")
    elif not plan.moves:
        result.notice("already at that entry")
    return result


# -- /fork and /clone -----------------------------------------------------------
def _pick_prompt(session: Session, prompts: list[Entry], args: str) -> Entry:
    if args.isdigit() and 1 <= int(args) <= len(prompts) and len(args) < 8:
        return prompts[int(args) - 1]
    entry_id = resolve_entry(session, args)
    for entry in prompts:
        if entry["id"] == entry_id:
            return entry
    raise UsageError(f"entry {entry_id} is not a user message on the active branch")


def fork_to(rt: SessionRuntime, chosen: Entry, *, can_prefill: bool) -> CommandResult:
    """Fork the active session just before the user prompt ``chosen`` and continue in the new session."""
    source = rt.current
    parent = chosen.get("parentId")
    session = rt.copy_branch(parent if isinstance(parent, str) and parent in source.entries else None)
    old = source.short_id
    rt.adopt(session)
    result = CommandResult(notices=[f"forked session {old} into new session {session.short_id}"])
    if can_prefill:
        result.prefill = text_of(chosen)
        result.notice("edit the message and press Enter to send it")
    return result


@REGISTRY.register("fork", args="[N|ID]", needs_terminal=True)
def cmd_fork(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Start a new session from before an earlier user message of this branch."""
    source = rt.current
    prompts = user_prompts(source)
    if not prompts:
        raise UsageError("no user message on this branch to fork from")
    if args:
        return fork_to(rt, _pick_prompt(source, prompts, args), can_prefill=can_prefill)
    result = CommandResult()
    for number, entry in enumerate(prompts, 1):
        result.out(f"{number:>3}  {entry['id']}  {preview(entry)[6:]}")
    result.notice("fork from one with /fork N or /fork ID")
    return result


@REGISTRY.register("clone")
def cmd_clone(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Copy the active branch into a new session and continue there."""
    old = rt.current.short_id
    session = rt.clone()
    return CommandResult(
        notices=[f"cloned session {old} into new session {session.short_id} ({len(session.entries)} entries)"]
    )


# -- /label -----------------------------------------------------------------------
@REGISTRY.register("label", args="[text]")
def cmd_label(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Label the leaf (a bookmark for /tree); no text clears the label."""
    session = rt.current
    if session.leaf_id is None:
        raise UsageError("nothing to label yet: the session has no entries")
    leaf, text = session.leaf_id, args.strip()
    rt.label(leaf, text or None)
    return CommandResult(notices=[f"labeled {leaf} {text!r}" if text else f"cleared the label of {leaf}"])
