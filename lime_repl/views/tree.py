"""The session tree as display rows: drawn connectors and one-line previews (DESIGN.md section 3).

:func:`flatten` draws the placements of :func:`lime_repl.store.tree.place`: each
:class:`Row` gets its ``prefix`` (``├─``/``└─`` connectors where the tree forks,
``│`` gutters below siblings that follow) and its ``text`` (:func:`preview`).
The ``/tree`` screen, the bridge's ``session.tree``, line mode's lists and the
HTML export's tree (:func:`session_rows`) all use these rows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from ..store.records import Entry, text_of, triple_part, triple_role
from ..store.state import SessionState
from ..store.tree import NODES_MODE, Placement, SessionTree, build_tree, entry_kind, place

__all__ = ["Row", "flatten", "prefix_of", "preview", "session_rows"]

_PREVIEW_CHARS = 200


@dataclass(frozen=True, slots=True)
class Row:
    """One display line of the tree.

    ``prefix`` is the drawn indentation (connectors and gutters), ``text`` the
    one-line preview, ``label_time`` the RFC 3339 time the label was set,
    ``children`` the number of visible children and ``hidden`` the number of
    visible descendants a fold hides (0 when not folded); ``depth`` the fork
    levels above the entry and ``entry`` the entry itself.
    """

    id: str
    prefix: str
    text: str
    kind: str
    label: str | None
    label_time: str | None
    on_path: bool
    is_leaf: bool
    children: int
    hidden: int
    depth: int = 0
    entry: Entry | None = None


def prefix_of(placement: Placement) -> str:
    """The drawn indentation of a placement: a gutter per enclosing fork, then its connector."""
    gutters = "".join("   " if last else "│  " for last in placement.guides)
    if placement.branch is None:
        return gutters
    return gutters + ("└─ " if placement.branch else "├─ ")


def flatten(tree: SessionTree, mode: str = "default", folded: Collection[str] = ()) -> list[Row]:
    """The visible rows of ``tree`` under filter ``mode``, top to bottom (see :func:`lime_repl.store.tree.place`).

    Raises ``ValueError`` for an unknown mode.
    """
    return [
        Row(
            id=p.id,
            prefix=prefix_of(p),
            text=preview(p.entry, tree.tool_names),
            kind=p.kind,
            label=p.label,
            label_time=p.label_time,
            on_path=p.on_path,
            is_leaf=p.is_leaf,
            children=p.children,
            hidden=p.hidden,
            depth=p.depth,
            entry=p.entry,
        )
        for p in place(tree, mode, folded)
    ]


def session_rows(session: SessionState) -> list[Row]:
    """Every conversation node of ``session`` (all branches), a ``!`` exchange as its command row."""
    return flatten(build_tree(session.entries, session.leaf_id, session.labels), NODES_MODE)


def _one_line(text: str, limit: int = _PREVIEW_CHARS) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _body(entry: Entry) -> str:
    part = triple_part(entry)
    return part[1] if part else text_of(entry)


def preview(entry: Entry, tool_names: Mapping[str, str] | None = None) -> str:
    """The one-line text of an entry's row (at most 200 characters).

    ``tool_names`` maps ``tool_use`` ids to tool names (:func:`~lime_repl.store.records.tool_names`),
    so a tool result row names its tool.
    """
    kind = entry_kind(entry)
    if kind == "user":
        return "user: " + _one_line(text_of(entry))
    if kind == "assistant":
        text = text_of(entry)
        stop = entry.get("stopReason")
        suffix = f" [{stop}]" if stop in ("cancelled", "error", "max_tokens") else ""
        return "assistant: " + _one_line(text) + suffix
    if kind == "tool_call":
        calls = [b for b in entry.get("content", []) if isinstance(b, dict) and b.get("type") == "tool_use"]
        shown = ", ".join(f"{b.get('name')}({_one_line(str(b.get('input', '')), 60)})" for b in calls)
        return "assistant → " + shown
    if kind == "tool_result":
        parts = []
        for block in entry.get("content", []):
            name = (tool_names or {}).get(str(block.get("tool_use_id")), "tool")
            body = block.get("content")
            body = body if isinstance(body, str) else text_of({"content": body})
            mark = " ✗" if block.get("is_error") else ""
            parts.append(f"{name}{mark}: {_one_line(body, 80)}")
        return "result " + "; ".join(parts)
    if kind == "bash":
        shell = entry.get("shell") or {}
        code = shell.get("exitCode")
        status = f"  [exit {code}]" if code else ""
        return "$ " + _one_line(_body(entry)) + status
    if kind == "bash_output":
        stream = "stderr" if triple_role(entry) == "stderr" else "stdout"
        return f"{stream}: " + _one_line(_body(entry))
    if kind == "compaction":
        return f"[compaction] {entry.get('tokensBefore', '?')} → {entry.get('tokensAfter', '?')} tokens"
    if kind == "branch_summary":
        return "[branch summary] " + _one_line(str(entry.get("summary", "")))
    if kind == "model_change":
        return f"[model] {entry.get('provider')}/{entry.get('model')}"
    if kind == "system_prompt":
        return "[system prompt rebuilt]"
    if kind == "microcompaction":
        return f"[microcompaction] {len(entry.get('pruned') or [])} cleared, {len(entry.get('trimmed') or [])} trimmed"
    if kind == "leaf":
        return f"[leaf → {entry.get('targetId') or 'start'}]"
    if kind == "title":
        return f"[title] {entry.get('title') or '(cleared)'}"
    if kind == "label":
        return f"[label] {entry.get('label') or '(cleared)'} → {entry.get('targetId')}"
    return f"[{kind}]"
