"""Microcompaction policy: which old outputs the model no longer needs in full (DESIGN.md section 4).

Pure functions of their inputs. Pressure is context tokens divided by the
usable window (window − reserved, or the auto-compaction threshold when that
is lower, so that pruning always starts before compaction):

* below ``soft_trim_ratio`` (0.5) nothing happens;
* from it, tool and ``!`` outputs over 4,096 characters outside the protected
  tail are *trimmed* to their first and last 1,536 characters;
* a ``!`` exchange counts as one result (its stdout and stderr entries);
* from ``hard_clear_ratio`` (0.7) they are *cleared* to the placeholder;
* the protected tail is the last ``keep_recent_tokens`` of the branch and
  always the last 3 tool results;
* time-based: after an idle gap of ``idle_minutes`` since the last assistant
  message the provider's prompt cache is cold, so every tool result but the
  last 5 is cleared, at any pressure (the rule of Claude Code's time-based
  microcompaction, ``LIME_TIME_BASED_MICROCOMPACT_MIN``).

The log keeps the full outputs; a ``microcompaction`` entry lists the entry
ids whose outputs the transcript builder shrinks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..store.entries import Branch
from ..store.records import Entry, output_facts
from .tokens import TokenCounter
from .transcript import TRIM_KEEP, live_start, micro_state

__all__ = ["MicroPlan", "MicroSettings", "output_entries", "plan_microcompaction"]

MIN_OUTPUT_CHARS = 4096
PROTECTED_RESULTS = 3
IDLE_KEEP = 5


@dataclass(frozen=True, slots=True)
class MicroSettings:
    """Policy settings (tokens, ratios, minutes); ``idle_minutes = 0`` disables the idle rule."""

    window: int
    reserved: int = 16_384
    keep_recent_tokens: int = 20_000
    soft_trim_ratio: float = 0.5
    hard_clear_ratio: float = 0.7
    idle_minutes: float = 60.0
    enabled: bool = True
    threshold: int | None = None


@dataclass(frozen=True, slots=True)
class MicroPlan:
    """What to shrink: entry ids to ``pruned`` (cleared) and ``trimmed``, why, and tokens saved."""

    pruned: tuple[str, ...]
    trimmed: tuple[str, ...]
    trigger: str
    tokens_saved: int

    def entry(self) -> Entry:
        """The ``microcompaction`` entry to append (without id, parent and timestamp)."""
        return {
            "type": "microcompaction",
            "pruned": list(self.pruned),
            "trimmed": list(self.trimmed),
            "trigger": self.trigger,
            "tokensSaved": self.tokens_saved,
        }


@dataclass(frozen=True, slots=True)
class _Output:
    """One output entry of the branch: its id, ``index`` in the branch, ``size`` in characters, ``group``."""

    id: str
    index: int
    size: int
    group: str


def _outputs(branch: Sequence[Entry]) -> list[_Output]:
    """The output entries of ``branch`` (:func:`~lime_repl.store.records.output_facts`), in order.

    From the facts the store took when each entry was read (a :class:`~lime_repl.store.entries.Branch`),
    so planning decodes no entry; a plain list of entries is looked at entry by entry.
    """
    found = []
    if isinstance(branch, Branch):
        for index, node in enumerate(branch.nodes):
            if node.output is not None:
                found.append(_Output(node.id, index, node.output[0], node.output[1]))
        return found
    for index, entry in enumerate(branch):
        facts = output_facts(entry)
        if facts is not None:
            found.append(_Output(str(entry.get("id")), index, facts[0], facts[1]))
    return found


def output_entries(branch: Sequence[Entry]) -> list[Entry]:
    """Entries that carry outputs: user messages with ``tool_result`` blocks and ``!`` stdout/stderr."""
    return [branch[o.index] for o in _outputs(branch)]


def _last_groups(outputs: list[_Output], count: int) -> set[str]:
    """Ids of the output entries of the last ``count`` non-empty results (a ``!`` exchange is one result)."""
    groups: list[str] = []
    for output in reversed(outputs):
        if len(groups) == count:
            break
        if output.group not in groups and output.size > 0:
            groups.append(output.group)
    chosen = set(groups)
    return {o.id for o in outputs if o.group in chosen}


def _protected(
    branch: Sequence[Entry], outputs: list[_Output], keep_tokens: int, counter: TokenCounter
) -> set[str]:
    protected = _last_groups(outputs, PROTECTED_RESULTS)
    total = 0
    for entry in reversed(branch):
        if total >= keep_tokens:
            break
        total += counter.entry(entry)
        protected.add(str(entry.get("id")))
    return protected


def _parse_time(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def idle_seconds(branch: Sequence[Entry], now: float) -> float | None:
    """Seconds since the last assistant message on the branch (None if there is none)."""
    for entry in reversed(branch):
        if entry.get("type") == "message" and entry.get("role") == "assistant":
            stamp = _parse_time(entry.get("timestamp"))
            return None if stamp is None else max(0.0, now - stamp)
    return None


def plan_microcompaction(
    branch: Sequence[Entry],
    context_tokens: int,
    settings: MicroSettings,
    *,
    now: float,
    counter: TokenCounter | None = None,
) -> MicroPlan | None:
    """The microcompaction to apply now, or None. ``now`` is a Unix time (seconds), injectable for tests."""
    if not settings.enabled:
        return None
    counter = counter or TokenCounter()
    start, _ = live_start(branch)
    live = branch[start:]
    outputs = _outputs(live)
    if not outputs:
        return None
    state = micro_state(branch)
    idle = idle_seconds(branch, now)
    if settings.idle_minutes > 0 and idle is not None and idle >= settings.idle_minutes * 60:
        keep = _last_groups(outputs, IDLE_KEEP)
        targets = [o for o in outputs if o.id not in keep and state.get(o.id) != "pruned" and o.size]
        if targets:
            saved = sum(counter.entry(live[o.index]) for o in targets)
            return MicroPlan(tuple(o.id for o in targets), (), "idle", saved)
    usable = max(1, settings.window - settings.reserved)
    if settings.threshold:
        # A threshold below the window (catalog or LIME_CODE_AUTO_COMPACT_INPUT_TOKENS) is the real budget.
        usable = min(usable, settings.threshold)
    pressure = context_tokens / usable
    if pressure < settings.soft_trim_ratio:
        return None
    protected = _protected(live, outputs, settings.keep_recent_tokens, counter)
    hard = pressure >= settings.hard_clear_ratio
    pruned: list[str] = []
    trimmed: list[str] = []
    saved = 0
    for output in outputs:
        entry_id, size = output.id, output.size
        if entry_id in protected or size <= MIN_OUTPUT_CHARS or state.get(entry_id) == "pruned":
            continue
        tokens = counter.entry(live[output.index])
        if hard:
            pruned.append(entry_id)
            kept = (2 * TRIM_KEEP) if state.get(entry_id) == "trimmed" else size
            saved += max(0, int(tokens * kept / max(size, 1)))
        elif state.get(entry_id) != "trimmed":
            trimmed.append(entry_id)
            saved += max(0, int(tokens * (1 - (2 * TRIM_KEEP) / size)))
    if not pruned and not trimmed:
        return None
    return MicroPlan(tuple(pruned), tuple(trimmed), "threshold", saved)
