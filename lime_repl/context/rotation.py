"""Rotation and the model's context: compact what a rollover is about to delete (DESIGN.md section 3).

Before rotation prunes a session's oldest segment, the entries in it that
are on the active branch and not yet covered by a compaction are compacted:
a ``compaction`` entry (trigger ``rotation``) is appended, so it lands in a
segment that survives, and its ``firstKeptEntryId`` is the first
conversation entry of the branch that is *not* in the doomed segment. The
running session then sends the summary plus the surviving entries, which is
exactly what a resumed session rebuilds from the files.

The summary is the extractive one of :mod:`lime_repl.context.summary`
(requests, commands with their exit codes, files touched), updating the
previous summary: the hook runs inside the store's write path, where a
blocking model call could stall or re-enter a turn, so no model is asked.

:func:`compact_before_prune` is the body of the store's
``Session.on_prune`` callback (wired by :class:`~lime_repl.runtime.session.SessionRuntime`);
the store itself never imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..logsetup import get_logger
from ..store.records import Entry, triple_role
from ..store.segments import read_segment
from .compaction import CompactionPlan, compaction_entry
from .summary import extractive_summary
from .tokens import TokenCounter, context_tokens
from .transcript import live_start

if TYPE_CHECKING:
    from ..store.session import Session

__all__ = ["TRIGGER", "compact_before_prune", "plan_prune_compaction", "segment_entry_ids"]

log = get_logger("lime.context")

TRIGGER = "rotation"


def segment_entry_ids(path: Path) -> set[str]:
    """The ids of the entries in the segment file ``path`` (whole lines only); empty if it cannot be read."""
    try:
        segment = read_segment(path)
    except OSError:
        return set()
    return {str(line.entry["id"]) for line in segment.lines if isinstance(line.entry.get("id"), str)}


def _opens_exchange(entry: Entry) -> bool:
    """True for an entry the kept part may start at: not a tool result, not the tail of a bash triple."""
    content = entry.get("content")
    if not isinstance(content, list):
        return True
    if any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
        return False
    if isinstance(entry.get("shell"), dict) and content and isinstance(content[0], dict):
        return triple_role(entry) == "input"
    return True


def plan_prune_compaction(
    branch: Sequence[Entry], doomed: set[str], tokens: int = 0
) -> CompactionPlan | None:
    """What to compact before the entries ``doomed`` (ids) are deleted, or None when none of them is live.

    The live part of ``branch`` (root first) starts at the latest
    compaction's first kept entry. Everything up to the last doomed live
    conversation entry is summarized; the first kept entry is moved *forward*
    past tool results and bash-triple tails (unlike :func:`~lime_repl.context.compaction.find_cut`,
    which moves back: a kept entry must survive the rotation). With nothing
    left to keep, ``first_kept_id`` is the empty string and the transcript
    starts right after the compaction.
    """
    start, found = live_start(branch)
    messages = [e for e in branch[start:] if e.get("type") in ("message", "branch_summary")]
    last = max((i for i, e in enumerate(messages) if str(e.get("id")) in doomed), default=None)
    if last is None:
        return None
    cut = last + 1
    while cut < len(messages) and not _opens_exchange(messages[cut]):
        cut += 1
    previous = branch[found] if found is not None else None
    files = previous.get("files") if previous is not None and isinstance(previous.get("files"), dict) else None
    return CompactionPlan(
        to_summarize=tuple(messages[:cut]),
        first_kept_id=str(messages[cut]["id"]) if cut < len(messages) else "",
        previous_summary=str(previous.get("summary")) if previous is not None else None,
        previous_files=files,
        tokens_before=tokens,
        leaf_id=str(branch[-1].get("id")) if branch else None,
    )


def compact_before_prune(session: Session, doomed_path: Path, counter: TokenCounter | None = None) -> Entry | None:
    """Append the ``compaction`` that covers the live entries of ``doomed_path``; returns it, or None.

    Called by the store just before it deletes ``doomed_path``. Raises the
    store's ``WriteFailed`` when the disk refuses the entry (the rotation then
    does not happen either).
    """
    doomed = segment_entry_ids(doomed_path)
    if not doomed:
        return None
    counter = counter or TokenCounter()
    branch = session.branch()
    plan = plan_prune_compaction(branch, doomed, context_tokens(branch, counter))
    if plan is None:
        return None
    summary = extractive_summary(list(plan.to_summarize), plan.previous_summary)
    probe = dict(compaction_entry(plan, summary, trigger=TRIGGER, hint=None, tokens_after=0), id="probe")
    after = context_tokens([*branch, probe], counter)
    entry = session.append(compaction_entry(plan, summary, trigger=TRIGGER, hint=None, tokens_after=after))
    log.info(
        "compacted %d entries of %s before rotation deletes it", len(plan.to_summarize), doomed_path.name
    )
    return entry
