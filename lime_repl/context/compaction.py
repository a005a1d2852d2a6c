"""Compaction policy: when to compact, where to cut, and the ``compaction`` entry (DESIGN.md section 4).

Pure functions. The threshold is the model's ``auto_compact_threshold`` from
the catalog (default window − ``reserved_tokens``), overridden for every model
by ``LIME_CODE_AUTO_COMPACT_INPUT_TOKENS``; ``LIME_DISABLE_AUTOCOMPACT=1`` or
``compaction.auto = false`` turns it off. The cut keeps the last
``keep_recent_tokens`` (capped at half the threshold so a small threshold
still frees room) and never falls on a tool result or inside a bash triple:
the first kept entry is moved back to the message that opened the exchange
(the cut-point rule of Pi's compaction). The summary covers the entries
between the previous compaction's first kept entry and the cut, and updates
the previous summary rather than summarizing it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..store.records import Entry, triple_role
from .summary import files_touched
from .tokens import TokenCounter
from .transcript import live_start

if TYPE_CHECKING:
    from ..store.record_types import CompactionEntry

__all__ = [
    "CompactionPlan",
    "CompactionSettings",
    "compaction_entry",
    "find_cut",
    "load_settings",
    "plan_compaction",
]


@dataclass(frozen=True, slots=True)
class CompactionSettings:
    """The ``[compaction]`` settings in tokens and ratios, plus the idle rule in minutes."""

    auto: bool = True
    prune: bool = True
    reserved_tokens: int = 16_384
    keep_recent_tokens: int = 20_000
    soft_trim_ratio: float = 0.5
    hard_clear_ratio: float = 0.7
    idle_minutes: float = 60.0
    threshold_override: int | None = None

    def threshold(self, window: int, catalog_threshold: int | None) -> int:
        """Context tokens at which auto-compaction starts for a model with ``window``."""
        if self.threshold_override:
            return self.threshold_override
        if catalog_threshold:
            return catalog_threshold
        return max(1, window - self.reserved_tokens)

    def keep_tokens(self, threshold: int) -> int:
        """``keep_recent_tokens`` capped at half of ``threshold``."""
        return max(1, min(self.keep_recent_tokens, threshold // 2))


def load_settings(config: Mapping[str, Any], env: Mapping[str, str]) -> CompactionSettings:
    """Settings from the ``[compaction]`` table and the ``LIME_*`` variables. Bad values raise ``ValueError``."""
    table = config.get("compaction") if isinstance(config.get("compaction"), Mapping) else {}
    assert isinstance(table, Mapping)
    auto = bool(table.get("auto", True)) and env.get("LIME_DISABLE_AUTOCOMPACT", "") not in (
        "1",
        "true",
        "yes",
    )
    override = env.get("LIME_CODE_AUTO_COMPACT_INPUT_TOKENS")
    idle = env.get("LIME_TIME_BASED_MICROCOMPACT_MIN")
    return CompactionSettings(
        auto=auto,
        prune=bool(table.get("prune", True)),
        reserved_tokens=int(table.get("reserved_tokens", 16_384)),
        keep_recent_tokens=int(table.get("keep_recent_tokens", 20_000)),
        soft_trim_ratio=float(table.get("soft_trim_ratio", 0.5)),
        hard_clear_ratio=float(table.get("hard_clear_ratio", 0.7)),
        idle_minutes=float(idle) if idle not in (None, "") else float(table.get("idle_minutes", 60)),
        threshold_override=int(override) if override else None,
    )


@dataclass(frozen=True, slots=True)
class CompactionPlan:
    """Entries to summarize, the first kept entry id, the previous summary and the token count before."""

    to_summarize: tuple[Entry, ...]
    first_kept_id: str
    previous_summary: str | None
    previous_files: dict[str, list[str]] | None
    tokens_before: int
    leaf_id: str | None


def _is_tool_result(entry: Entry) -> bool:
    content = entry.get("content")
    return (
        entry.get("type") == "message"
        and isinstance(content, list)
        and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
    )


def _is_triple_tail(entry: Entry) -> bool:
    shell = entry.get("shell")
    content = entry.get("content")
    if not isinstance(shell, dict) or not isinstance(content, list) or not content:
        return False
    return triple_role(entry) != "input"


def find_cut(messages: Sequence[Entry], keep_tokens: int, counter: TokenCounter) -> int | None:
    """Index of the first kept entry in ``messages`` (conversation entries, oldest first), or None.

    Keeps at least ``keep_tokens`` of the newest entries, then moves the cut
    back while it sits on a tool result or inside a bash triple. None when
    nothing before the cut would be summarized.
    """
    total = 0
    cut = len(messages)
    while cut > 0 and total < keep_tokens:
        cut -= 1
        total += counter.entry(messages[cut])
    while 0 < cut < len(messages) and (_is_tool_result(messages[cut]) or _is_triple_tail(messages[cut])):
        cut -= 1
    return cut if cut > 0 else None


def plan_compaction(
    branch: Sequence[Entry], tokens: int, keep_tokens: int, counter: TokenCounter
) -> CompactionPlan | None:
    """What to compact on ``branch`` (root first), or None when there is nothing to summarize."""
    start, found = live_start(branch)
    previous = branch[found] if found is not None else None
    messages = [e for e in branch[start:] if e.get("type") in ("message", "branch_summary")]
    cut = find_cut(messages, keep_tokens, counter)
    if cut is None:
        return None
    files = (
        previous.get("files") if previous is not None and isinstance(previous.get("files"), dict) else None
    )
    return CompactionPlan(
        to_summarize=tuple(messages[:cut]),
        first_kept_id=str(messages[cut]["id"]),
        previous_summary=str(previous.get("summary")) if previous is not None else None,
        previous_files=files,
        tokens_before=tokens,
        leaf_id=str(branch[-1].get("id")) if branch else None,
    )


def compaction_entry(
    plan: CompactionPlan, summary: str, *, trigger: str, hint: str | None, tokens_after: int
) -> Entry:
    """The ``compaction`` entry (without id, parent and timestamp)."""
    entry: CompactionEntry = {
        "type": "compaction",
        "summary": summary,
        "firstKeptEntryId": plan.first_kept_id,
        "tokensBefore": plan.tokens_before,
        "tokensAfter": tokens_after,
        "trigger": trigger,
        "hint": hint,
        "files": files_touched(plan.to_summarize, plan.previous_files),
    }
    return dict(entry)
