"""A session as Markdown: YAML front matter, an overview, then one ``## Turn N`` section per turn.

The front matter holds the title, ids, directory, times, counts and models;
its values are written as JSON scalars and flow collections, which YAML
reads as they are. The overview shows the counts and the branch path (root
and leaf ids, and the fork points whose other branches are not shown).
Message text is Markdown already and is copied as it is; tool calls, tool
results and ``!`` exchanges go into fenced blocks whose fence is longer than
any run of backticks inside, so no content can close them early.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..context.clean import clean_output
from ..plural import plural
from ..store.records import now_rfc3339, text_of
from ..store.session import Session
from ..textsafe import safe_text
from .view import Item, View, blocks, build_view

__all__ = ["fence", "pretty_json", "render_markdown"]

_TICKS = re.compile(r"`+")


def fence(text: str, lang: str = "") -> str:
    """``text`` in a fenced code block whose fence outlasts every backtick run inside it."""
    longest = max((len(m.group()) for m in _TICKS.finditer(text)), default=0)
    bar = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{bar}{lang}\n{body}{bar}"


def _yaml(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def pretty_json(value: Any) -> str:
    """``value`` as indented JSON; compact when it is nested too deeply to indent."""
    try:
        return json.dumps(value, ensure_ascii=False, indent=2)
    except (RecursionError, ValueError, TypeError):
        return json.dumps(value, ensure_ascii=False, default=str)


def _when(stamp: Any) -> str:
    return str(stamp)[:19].replace("T", " ") if isinstance(stamp, str) else ""


def _front_matter(view: View) -> list[str]:
    ov = view.overview
    fields: list[tuple[str, Any]] = [
        ("title", ov.title),
        ("session", ov.session_id),
        ("cwd", ov.cwd),
        ("created", ov.created),
        ("updated", ov.updated),
        ("exported", now_rfc3339()),
        ("entries", ov.entries),
        ("turns", ov.turns),
        ("models", ov.models),
        ("leaf", ov.leaf_id),
    ]
    if ov.imported_from:
        fields.append(("importedFrom", ov.imported_from))
    if ov.forked_from:
        fields.append(("forkedFrom", ov.forked_from))
    return ["---", *(f"{key}: {_yaml(value)}" for key, value in fields), "---", ""]


def _overview(view: View) -> list[str]:
    ov = view.overview
    lines = [f"# {' '.join(ov.title.split())}", ""]
    lines.append(
        f"- **Session** `{ov.session_id}` in `{ov.cwd or '?'}`, created {_when(ov.created)}, "
        f"last entry {_when(ov.updated)}"
    )
    lines.append(
        f"- **Turns** {ov.turns}: {ov.user_messages} user and {ov.assistant_messages} assistant messages, "
        f"{plural(ov.tool_calls, 'tool call')} ({ov.tool_errors} failed), {plural(ov.shell_commands, '`!` command')}, "
        f"{plural(ov.compactions, 'compaction')}"
    )
    if ov.models:
        lines.append("- **Models** " + ", ".join(f"`{m}`" for m in ov.models))
    if ov.root_id:
        lines.append(
            f"- **Branch** root `{ov.root_id}` → leaf `{ov.leaf_id}` ({ov.branch_entries} of "
            f"{ov.entries} entries; this export shows the active branch)"
        )
    for entry_id, turn, others in ov.forks:
        where = f"turn {turn}" if turn else "the start"
        lines.append(
            f"  - fork at `{entry_id}` ({where}): {others} other branch{'es' if others > 1 else ''} not shown"
        )
    if ov.dropped_entries:
        lines.append(f"- **Rotation** dropped the {ov.dropped_entries} earliest entries")
    if ov.imported_from:
        lines.append(
            f"- **Imported** from {ov.imported_from.get('tool')} session `{ov.imported_from.get('id')}`"
        )
    lines.append("")
    return lines


def _assistant(item: Item) -> list[str]:
    entry = item.entry
    model = f" · `{entry['model']}`" if isinstance(entry.get("model"), str) else ""
    out = [f"**Assistant**{model} · {_when(entry.get('timestamp'))}", ""]
    for block in blocks(entry):
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and str(block.get("text", "")).strip():
            out += [str(block["text"]).rstrip(), ""]
        elif kind == "reasoning" and str(block.get("summary") or "").strip():
            out += ["> *Reasoning:* " + " ".join(str(block["summary"]).split()), ""]
        elif kind == "tool_use":
            arguments = pretty_json(block.get("input"))
            out += [
                f"**Tool call** `{block.get('name')}` (`{block.get('id')}`)",
                "",
                fence(arguments, "json"),
                "",
            ]
    if entry.get("stopReason") == "cancelled":
        out += ["*(cancelled)*", ""]
    return out


def _item(item: Item, names: dict[str, str]) -> list[str]:
    entry = item.entry
    when = _when(entry.get("timestamp"))
    if item.kind == "user":
        return [f"**User** · {when}", "", text_of(entry).rstrip(), ""]
    if item.kind == "assistant":
        return _assistant(item)
    if item.kind == "tool_result":
        out: list[str] = []
        for block in blocks(entry):
            if isinstance(block, dict) and block.get("type") == "tool_result":
                status = " — error" if block.get("is_error") is True else ""
                name = names.get(str(block.get("tool_use_id")), "tool")
                content = block.get("content")
                text = clean_output(content) if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
                out += [
                    f"**Tool result** `{name}` (`{block.get('tool_use_id')}`){status}",
                    "",
                    fence(text, "text"),
                    "",
                ]
            elif isinstance(block, dict) and block.get("type") == "text":
                out += [str(block.get("text", "")).rstrip(), ""]
        return out
    if item.kind == "shell" and item.shell is not None:
        shell = item.shell
        body = f"$ {shell['command']}\n{shell['stdout']}"
        if shell["stderr"]:
            body += ("" if body.endswith("\n") else "\n") + shell["stderr"]
        status = f"exit {shell['exit_code']}"
        return [f"**Shell** `!` · {when} · {status}", "", fence(body, "console"), ""]
    if item.kind in ("compaction", "branch_summary"):
        name = "Compaction" if item.kind == "compaction" else "Branch summary"
        detail = ""
        if item.kind == "compaction":
            before, after = entry.get("tokensBefore"), entry.get("tokensAfter")
            detail = f" ({entry.get('trigger') or 'manual'}"
            detail += (
                f", {before:,} → {after:,} tokens)"
                if isinstance(before, int) and isinstance(after, int)
                else ")"
            )
        quoted = [f"> {line}" if line else ">" for line in str(entry.get("summary", "")).splitlines()]
        return [f"> **{name}**{detail} · {when}", ">", *quoted, ""]
    if item.kind == "model_change":
        return [f"*Model changed to `{entry.get('provider')}/{entry.get('model')}` · {when}*", ""]
    if item.kind == "system_prompt":
        return [f"*System prompt rebuilt · {when}*", ""]
    return []


def render_markdown(session: Session) -> str:
    """The Markdown export of ``session``'s active branch.

    Outputs are shown cleaned (:func:`lime_repl.context.clean.clean_output`) and
    the whole text passes :func:`lime_repl.textsafe.safe_text`, so printing the
    export (``-o -``) cannot drive a terminal.
    """
    view = build_view(session)
    lines = _front_matter(view) + _overview(view)
    for item in view.preamble:
        lines += _item(item, view.tool_names)
    for turn in view.turns:
        lines += [f"## Turn {turn.number}", ""]
        for item in turn.items:
            lines += _item(item, view.tool_names)
    return safe_text("\n".join(lines).rstrip()) + "\n"
