r"""Token accounting: provider usage is the truth, text added since is estimated (DESIGN.md section 4).

The estimate is a regular-expression count of word pieces and symbols: a
run of letters, digits or ``_`` counts one token per started 4 characters
(BPE vocabularies split long words), and each other non-space character
counts one. It is one C-level ``subn`` of ``\w{1,4}|[^\s\w]`` (a run of
n word characters yields ceil(n / 4) matches), with no Python work per
match. :class:`TokenCounter` estimates each entry once and keeps the count
by entry id (entries never change), and calibrates it with the ratio of
reported to estimated input tokens of the last request, clamped to [0.5, 2.0].
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from ..store.records import Entry

__all__ = [
    "TokenCounter",
    "calibrate_from_usage",
    "context_basis",
    "context_tokens",
    "estimate_text",
    "raw_estimate",
]

# Unicode ``\w`` is letters, digits and ``_`` (``str.isalnum()`` or ``_``); ``{1,4}`` makes one match per token.
_PIECES = re.compile(r"\w{1,4}|[^\s\w]")


def estimate_text(text: str) -> int:
    """Estimated tokens of ``text`` (an uncalibrated count, >= 0)."""
    return _PIECES.subn("", text)[1] if text else 0  # counts matches without a list of them


def _entry_text(entry: Entry) -> str:
    content = entry.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return str(entry.get("summary", ""))
    parts: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            parts.append(f"{block.get('name')} {json.dumps(block.get('input'), ensure_ascii=False)}")
        elif kind == "tool_result":
            value = block.get("content")
            parts.append(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        elif kind == "reasoning":
            parts.append(str(block.get("summary", "")))
    return "\n".join(parts)


class TokenCounter:
    """Cached, calibrated estimates of entries and transcripts."""

    def __init__(self) -> None:
        self._cache: dict[str, int] = {}
        self.calibration = 1.0
        #: The id of the assistant message whose reported usage set ``calibration`` (None: not yet).
        self.calibrated_at: Any = None

    def entry(self, entry: Entry) -> int:
        """Estimated tokens of one log entry (its message text, tool calls and results)."""
        key = entry.get("id")
        if isinstance(key, str) and key in self._cache:
            return self._cache[key]
        value = estimate_text(_entry_text(entry)) + 4
        if isinstance(key, str):
            self._cache[key] = value
        return value

    def messages(self, system: str, messages: Sequence[dict[str, Any]]) -> int:
        """Calibrated estimate of a request built by the transcript builder."""
        raw = estimate_text(system)
        for message in messages:
            raw += 4 + estimate_text(_entry_text(message))
            for block in message.get("content", []):
                if isinstance(block, dict) and block.get("type") == "local_shell":
                    raw += estimate_text(
                        f"{block.get('command')}\n{block.get('stdout')}\n{block.get('stderr')}"
                    )
        return int(raw * self.calibration)

    def calibrate(self, reported_input: int, estimated_input: int) -> None:
        """Learn the ratio of reported to estimated input tokens (clamped to [0.5, 2.0])."""
        if reported_input > 0 and estimated_input > 0:
            self.calibration = min(2.0, max(0.5, reported_input / estimated_input))


def context_tokens(branch: Sequence[Entry], counter: TokenCounter) -> int:
    """Context tokens of the active ``branch``: the last reported usage plus estimates since.

    The usage of the newest assistant message after the latest compaction is
    the truth for everything up to it (``input_tokens + output_tokens``);
    entries after it are estimated; ``microcompaction`` entries after it
    subtract their ``tokensSaved``. Without such usage, the compaction summary
    and the kept entries are estimated.
    """
    from .transcript import live_start

    start, found = live_start(branch)
    after = found + 1 if found is not None else 0
    total, anchor = 0, None
    for index in range(len(branch) - 1, after - 1, -1):
        entry = branch[index]
        usage = entry.get("usage")
        if entry.get("type") == "message" and entry.get("role") == "assistant" and isinstance(usage, dict):
            reported, output = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
            if isinstance(reported, int) and isinstance(output, int) and reported > 0:
                total, anchor = reported + output, index + 1
                break
    if anchor is None:
        anchor = start
        if found is not None:
            total = estimate_text(str(branch[found].get("summary", "")))
    for entry in branch[anchor:]:
        kind = entry.get("type")
        if kind == "microcompaction":
            saved = entry.get("tokensSaved")
            total -= saved if isinstance(saved, int) else 0
        elif kind in ("message", "branch_summary"):
            total += int(counter.entry(entry) * counter.calibration)
    return max(total, 0)


def raw_estimate(branch: Sequence[Entry], counter: TokenCounter) -> int:
    """Uncalibrated estimate of what the transcript builder sends for ``branch`` (system prompt excluded).

    The latest compaction's summary plus the live entries, with microcompacted
    outputs counted as cleared (10 tokens) or trimmed (at most 800 tokens).
    """
    from .transcript import live_start, micro_state

    start, found = live_start(branch)
    state = micro_state(branch)
    total = estimate_text(str(branch[found].get("summary", ""))) if found is not None else 0
    for entry in branch[start:]:
        if entry.get("type") not in ("message", "branch_summary"):
            continue
        tokens = counter.entry(entry)
        how = state.get(str(entry.get("id")))
        total += 10 if how == "pruned" else min(tokens, 800) if how == "trimmed" else tokens
    return total


_MIN_DELTA = 64
"""Estimated tokens the entries between two requests must reach before their ratio is trusted."""


def _usage_at(entry: Entry) -> tuple[int, int] | None:
    """``(input_tokens, output_tokens)`` of an assistant message with reported usage, else None."""
    usage = entry.get("usage")
    if entry.get("type") != "message" or entry.get("role") != "assistant" or not isinstance(usage, dict):
        return None
    reported, output = usage.get("input_tokens"), usage.get("output_tokens", 0)
    if not isinstance(reported, int) or reported <= 0:
        return None
    return reported, output if isinstance(output, int) else 0


def calibrate_from_usage(branch: Sequence[Entry], counter: TokenCounter) -> None:
    """Calibrate ``counter`` with the newest assistant message's reported input tokens.

    The ratio is taken over what was added between the last two requests, so
    a turn estimates only the entries since the previous one, never the whole
    branch: the newest report's input minus the previous report's input and
    output, against the estimates of the entries between them (less the
    ``tokensSaved`` of microcompactions there). Deltas under 64 estimated
    tokens keep the current calibration. Without a previous report after the
    latest compaction (the first request of a session or after a compaction,
    when the live part is small) the ratio is taken over the whole request
    (:func:`raw_estimate`). A report already used is not used again.
    """
    newest = previous = None
    for index in range(len(branch) - 1, -1, -1):
        entry = branch[index]
        if entry.get("type") == "compaction":
            break
        if _usage_at(entry) is not None:
            if newest is None:
                newest = index
                if counter.calibrated_at == entry.get("id"):
                    return
            else:
                previous = index
                break
    if newest is None:
        for index in range(len(branch) - 1, -1, -1):  # a report before the latest compaction
            if _usage_at(branch[index]) is not None:
                newest = index
                break
        if newest is None:
            return
    reported, _ = _usage_at(branch[newest]) or (0, 0)
    if previous is None:
        counter.calibrate(reported, raw_estimate(branch[:newest], counter))
    else:
        before, output = _usage_at(branch[previous]) or (0, 0)
        estimated = 0
        for entry in branch[previous + 1 : newest]:
            kind = entry.get("type")
            if kind in ("message", "branch_summary"):
                estimated += counter.entry(entry)
            elif kind == "microcompaction" and isinstance(entry.get("tokensSaved"), int):
                estimated -= entry["tokensSaved"]
        if estimated >= _MIN_DELTA:
            counter.calibrate(reported - before - output, estimated)
    counter.calibrated_at = branch[newest].get("id")


def context_basis(branch: Sequence[Entry]) -> str:
    """How :func:`context_tokens` measures ``branch``, in words for ``/status``.

    ``reported by the provider`` when the newest assistant usage after the latest compaction
    covers the whole branch, ``reported by the provider + estimate since`` when messages follow it,
    ``estimated`` when no request has reported usage since the latest compaction.
    """
    from .transcript import live_start

    _, found = live_start(branch)
    after = found + 1 if found is not None else 0
    for index in range(len(branch) - 1, after - 1, -1):
        if _usage_at(branch[index]) is not None:
            later = (e.get("type") in ("message", "branch_summary", "microcompaction") for e in branch[index + 1 :])
            return "reported by the provider + estimate since" if any(later) else "reported by the provider"
    return "estimated"
