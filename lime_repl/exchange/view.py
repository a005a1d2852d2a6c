"""A session arranged for reading: the active branch as turns, overview figures, the whole tree as rows.

The Markdown and HTML exports draw from this one pure view of a
:class:`~lime_repl.store.session.Session`:

* the active branch (root to leaf) becomes :class:`Item` objects: a user
  message, an assistant message, a user message of tool results, a ``!``
  exchange (the bash triple folded into one item), a compaction, a branch
  summary, a model change, and so on;
* a *turn* starts at each user prompt and at each ``!`` exchange; items
  before the first turn form the preamble;
* :class:`Overview` counts messages, tool calls (and failed ones), ``!``
  commands and compactions, lists the models, and names the fork points on
  the branch: entries with more than one child, whose other branches the
  export does not show;
* the whole tree (all branches) is drawn by :func:`lime_repl.views.tree.session_rows`,
  the same rows as the ``/tree`` screen's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..context.transcript import fold_bash
from ..store.records import Entry, is_tree_node, text_of, tool_names
from ..store.session import Session

__all__ = ["Item", "Overview", "Turn", "View", "blocks", "build_view"]


@dataclass(slots=True)
class Item:
    """One thing on the branch. ``kind`` is ``user``, ``assistant``, ``tool_result``, ``shell``,
    ``compaction``, ``branch_summary``, ``model_change``, ``system_prompt``, ``microcompaction``,
    ``custom`` or ``other``; ``shell`` holds the folded ``!`` exchange
    (``command``, ``stdout``, ``stderr``, ``exit_code``, ``cwd``, ``duration_ms``)."""

    kind: str
    entry: Entry
    shell: dict[str, Any] | None = None


@dataclass(slots=True)
class Turn:
    number: int
    items: list[Item] = field(default_factory=list)


@dataclass(slots=True)
class Overview:
    title: str
    session_id: str
    cwd: str | None
    created: str | None
    updated: str | None
    entries: int
    branch_entries: int
    turns: int = 0
    user_messages: int = 0
    assistant_messages: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    shell_commands: int = 0
    compactions: int = 0
    models: list[str] = field(default_factory=list)
    root_id: str | None = None
    leaf_id: str | None = None
    forks: list[tuple[str, int, int]] = field(default_factory=list)  # (entry id, turn number, other branches)
    dropped_entries: int = 0
    imported_from: dict[str, Any] | None = None
    forked_from: dict[str, Any] | None = None


@dataclass(slots=True)
class View:
    overview: Overview
    preamble: list[Item]
    turns: list[Turn]
    tool_names: dict[str, str]


def blocks(entry: Entry) -> list[dict[str, Any]]:
    """The content blocks of a message that are objects; [] when ``content`` is not a list (odd shapes)."""
    content = entry.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _is_tool_results(entry: Entry) -> bool:
    content = entry.get("content")
    return isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content
    )


def _items(branch: list[Entry]) -> list[Item]:
    items: list[Item] = []
    i = 0
    while i < len(branch):
        entry = branch[i]
        kind = entry.get("type")
        shell = entry.get("shell")
        if kind == "message" and isinstance(shell, dict):
            group = [entry]
            while (
                len(group) < 3
                and i + len(group) < len(branch)
                and isinstance(branch[i + len(group)].get("shell"), dict)
                and branch[i + len(group)]["shell"].get("exchange") == shell.get("exchange")
            ):
                group.append(branch[i + len(group)])
            folded = fold_bash(group)
            if folded is not None:
                folded["duration_ms"] = shell.get("durationMs")
                folded["truncated"] = shell.get("truncatedBytes")
                items.append(Item("shell", entry, folded))
                i += len(group)
                continue
        if kind == "message":
            role = entry.get("role")
            if role == "assistant":
                items.append(Item("assistant", entry))
            elif _is_tool_results(entry):
                items.append(Item("tool_result", entry))
            else:
                items.append(Item("user", entry))
        elif kind in (
            "compaction",
            "branch_summary",
            "model_change",
            "system_prompt",
            "microcompaction",
            "custom",
        ):
            items.append(Item(str(kind), entry))
        else:
            items.append(Item("other", entry))
        i += 1
    return items


def build_view(session: Session) -> View:
    """The view of ``session``'s active branch."""
    branch = list(session.branch())  # decoded once: the items index it repeatedly
    items = _items(branch)
    header = session.header
    first_user = next(
        (
            text_of(i.entry) if i.shell is None else f"!{i.shell['command']}"
            for i in items
            if (i.kind == "user" and text_of(i.entry).strip()) or (i.kind == "shell" and i.shell is not None)
        ),
        "",
    )
    title = session.title or " ".join(first_user.split())[:80] or f"session {session.short_id}"
    stamps = [
        str(e["timestamp"])
        for e in session.entries.values()
        if isinstance(e.get("timestamp"), str) and is_tree_node(e)
    ]
    origin: dict[str, Any] = header["importedFrom"] if isinstance(header.get("importedFrom"), dict) else {}
    created = origin.get("created") or header.get("created")
    ov = Overview(
        title=title,
        session_id=session.session_id,
        cwd=session.cwd,
        created=created if isinstance(created, str) else (min(stamps) if stamps else None),
        updated=max(stamps) if stamps else None,
        entries=len(session.entries),
        branch_entries=len(branch),
        root_id=branch[0].get("id") if branch else None,
        leaf_id=session.leaf_id,
        dropped_entries=session.dropped_entries,
        imported_from=header.get("importedFrom") if isinstance(header.get("importedFrom"), dict) else None,
        forked_from=header.get("forkedFrom") if isinstance(header.get("forkedFrom"), dict) else None,
    )
    preamble: list[Item] = []
    turns: list[Turn] = []
    turn_of: dict[str, int] = {}
    for item in items:
        if item.kind in ("user", "shell"):
            turns.append(Turn(len(turns) + 1))
        (turns[-1].items if turns else preamble).append(item)
        turn_of[str(item.entry.get("id"))] = len(turns)
        entry = item.entry
        if item.kind == "user":
            ov.user_messages += 1
        elif item.kind == "assistant":
            ov.assistant_messages += 1
            model = entry.get("model")
            if isinstance(model, str) and model:
                label = (
                    f"{entry.get('provider')}/{model}" if isinstance(entry.get("provider"), str) else model
                )
                if label not in ov.models:
                    ov.models.append(label)
            for block in blocks(entry):
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    ov.tool_calls += 1
        elif item.kind == "tool_result":
            ov.tool_errors += sum(
                1 for b in blocks(entry) if isinstance(b, dict) and b.get("is_error") is True
            )
        elif item.kind == "shell":
            ov.shell_commands += 1
        elif item.kind == "compaction":
            ov.compactions += 1
    ov.turns = len(turns)
    children = session.children()
    for entry in branch:
        kids = children.get(str(entry.get("id")), [])
        if len(kids) > 1:
            ov.forks.append((str(entry.get("id")), turn_of.get(str(entry.get("id")), 0), len(kids) - 1))
    return View(ov, preamble, turns, tool_names(branch))
