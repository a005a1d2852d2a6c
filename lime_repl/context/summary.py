"""Summaries of conversation entries: the prompt for a model summary and the extractive fallback.

The sections are fixed (DESIGN.md section 4): goal, constraints and
preferences, progress, key decisions, next steps, files read and modified. A
later compaction *updates* the previous summary (the previous summary is
given to the model as the base to revise), so summaries of summaries never
pile up. When no model is reachable, :func:`extractive_summary` builds the
same sections deterministically from the entries (the user's requests,
commands run with their exit codes, files read and modified, the last
exchange), so compaction never blocks and never loses those facts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..store.records import Entry, text_of, triple_part

__all__ = [
    "SECTIONS",
    "FileSets",
    "extractive_summary",
    "files_touched",
    "summary_prompt",
]

SECTIONS = (
    "Goal",
    "Constraints and preferences",
    "Progress",
    "Key decisions",
    "Next steps",
    "Files read and modified",
)

_MAX_ITEM = 300
_MAX_PREVIOUS = 4000  # characters of an earlier summary kept under Progress (head and tail, the cut marked)

FileSets = dict[str, list[str]]


def _clip(text: str, limit: int = _MAX_ITEM) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def files_touched(entries: Sequence[Entry], previous: FileSets | None = None) -> FileSets:
    """``{"read": [...], "modified": [...]}`` from tool calls (read/edit/write), merged with ``previous``."""
    read: list[str] = list((previous or {}).get("read", []))
    modified: list[str] = list((previous or {}).get("modified", []))
    for entry in entries:
        content = entry.get("content")
        if entry.get("type") != "message" or not isinstance(content, list):
            continue
        for block in content:
            if not isinstance(block, dict) or block.get("type") != "tool_use":
                continue
            arguments: dict[str, Any] = block["input"] if isinstance(block.get("input"), dict) else {}
            path = arguments.get("path")
            if not isinstance(path, str):
                continue
            target = (
                read
                if block.get("name") == "read"
                else modified
                if block.get("name") in ("edit", "write")
                else None
            )
            if target is not None and path not in target:
                target.append(path)
    return {"read": read, "modified": modified}


def _requests_and_commands(entries: Sequence[Entry]) -> tuple[list[str], list[str]]:
    requests: list[str] = []
    commands: list[str] = []
    for entry in entries:
        if entry.get("type") != "message":
            continue
        shell = entry.get("shell")
        text = text_of(entry)
        if isinstance(shell, dict):
            part = triple_part(entry)
            if part is not None and part[0] == "input":
                commands.append(f"`{_clip(part[1], 160)}` → exit {shell.get('exitCode')}")
            continue
        if entry.get("role") == "user" and text.strip():
            requests.append(_clip(text))
        if entry.get("role") == "assistant":
            for block in entry.get("content") or []:
                if (
                    isinstance(block, dict)
                    and block.get("type") == "tool_use"
                    and block.get("name") == "bash"
                ):
                    arguments: dict[str, Any] = block["input"] if isinstance(block.get("input"), dict) else {}
                    commands.append(f"`{_clip(str(arguments.get('command', '')), 160)}` (tool)")
    return requests, commands


def extractive_summary(entries: Sequence[Entry], previous: str | None = None, hint: str | None = None) -> str:
    """A deterministic summary in the fixed sections, built from ``entries`` alone (no model).

    ``previous`` (an earlier summary) is kept as the base under *Progress*, so
    facts of earlier compactions survive; past 4,000 characters its middle is
    cut (marked), so summaries of summaries stay bounded however often
    rotation compacts. ``hint`` is recorded as a constraint.
    """
    requests, commands = _requests_and_commands(entries)
    files = files_touched(entries)
    last = ""
    for entry in reversed(entries):
        if entry.get("type") == "message" and entry.get("role") == "assistant" and text_of(entry).strip():
            last = _clip(text_of(entry), 600)
            break
    goal = requests[0] if requests else "(no request yet)"
    sections: dict[str, list[str]] = {name: [] for name in SECTIONS}
    sections["Goal"].append(goal)
    if hint:
        sections["Constraints and preferences"].append(f"Compaction focus: {_clip(hint)}")
    sections["Constraints and preferences"].extend(f"User asked: {r}" for r in requests[1:][-20:])
    if previous:
        earlier = previous.strip()
        if len(earlier) > _MAX_PREVIOUS:
            head, tail = earlier[: _MAX_PREVIOUS // 4], earlier[-(3 * _MAX_PREVIOUS) // 4 :]
            earlier = f"{head}\n[… {len(earlier) - len(head) - len(tail)} characters of earlier summaries cut …]\n{tail}"
        sections["Progress"].append("Earlier summary:\n" + earlier)
    sections["Progress"].extend(f"Ran {c}" for c in commands[-40:])
    if last:
        sections["Key decisions"].append(f"Last answer: {last}")
    if requests:
        sections["Next steps"].append(f"Continue from the latest request: {requests[-1]}")
    sections["Files read and modified"].append("read: " + (", ".join(files["read"]) or "none"))
    sections["Files read and modified"].append("modified: " + (", ".join(files["modified"]) or "none"))
    parts = []
    for name in SECTIONS:
        body = "\n".join(f"- {item}" for item in sections[name]) or "- (none)"
        parts.append(f"## {name}\n{body}")
    return "\n\n".join(parts)


def _render_for_prompt(entries: Sequence[Entry]) -> str:
    lines: list[str] = []
    for entry in entries:
        if entry.get("type") != "message":
            continue
        role = entry.get("role", "?")
        for block in entry.get("content") or []:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                lines.append(f"[{role}] {block.get('text', '')}")
            elif kind == "tool_use":
                lines.append(
                    f"[tool call {block.get('name')}] {json.dumps(block.get('input'), ensure_ascii=False)}"
                )
            elif kind == "tool_result":
                flag = " (error)" if block.get("is_error") else ""
                lines.append(f"[tool result{flag}] {_clip(str(block.get('content', '')), 2000)}")
    return "\n".join(lines)


def summary_prompt(entries: Sequence[Entry], previous: str | None, hint: str | None) -> list[dict[str, Any]]:
    """The user message asking a model to (re)write the summary, in provider-neutral form."""
    heading = "\n".join(f"## {name}" for name in SECTIONS)
    ask = [
        "Summarize the conversation below so that work can continue from the summary alone.",
        f"Use exactly these Markdown sections, in this order:\n{heading}",
        "Keep every file path, command, error and decision that matters; be concise.",
    ]
    if previous:
        ask.append(
            "An earlier summary exists. Update it with the new conversation: keep what is still true, "
            f"revise what changed, and do not summarize the summary.\n<previous-summary>\n{previous}\n</previous-summary>"
        )
    if hint:
        ask.append(f"The user's instruction for this summary, which you must follow: {hint}")
    ask.append(f"<conversation>\n{_render_for_prompt(entries)}\n</conversation>")
    return [{"role": "user", "content": [{"type": "text", "text": "\n\n".join(ask)}]}]
