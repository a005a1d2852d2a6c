"""A session as one self-contained HTML page that works offline.

* Nothing is loaded from anywhere: the styles (lime's and pygments') are
  inline, there is no script at all, and a Content-Security-Policy
  (``default-src 'none'``) forbids any request or script the page might
  otherwise make, so even a mistake in escaping could not run code.
* Every piece of session text goes through :func:`html.escape` (quotes
  included) or through pygments, which escapes what it highlights; a
  ``<script>`` or ``</textarea>`` in a message is shown as text.
* Fenced code blocks in messages, tool-call inputs (JSON) and ``!`` commands
  (bash) are highlighted with pygments; other text keeps its line breaks.
* Tool results and ``!`` outputs are collapsible ``<details>`` (failed ones
  start open); compactions and branch summaries are marked boxes; the whole
  session tree (every branch, indented at forks, the exported branch in bold
  with links to its entries) sits in a collapsible block under the overview.
"""

from __future__ import annotations

import html
import re
from functools import cache
from typing import Any

from ..context.clean import clean_output
from ..plural import plural
from ..store.records import now_rfc3339, text_of
from ..store.session import Session
from ..textsafe import safe_text
from ..views.tree import session_rows
from .markdown import pretty_json
from .view import Item, View, blocks, build_view

__all__ = ["render_html"]

_FENCE = re.compile(r"^(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^\1[ \t]*$", re.M | re.S)
_MAX_HIGHLIGHT = 200_000

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;border-bottom:1px solid #ddd;margin-top:2rem}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;font-size:.9rem}dl.meta dt{color:#666}
article{border-left:4px solid #ccc;padding:.3rem .8rem;margin:.8rem 0;background:#fafafa}
article.user{border-color:#3a7bd5;background:#f3f7fd}article.assistant{border-color:#2e9e5b}
article.shell{border-color:#555;background:#f4f4f4}article.tool_result{border-color:#b08d1f}
.who{font-size:.8rem;color:#666}.text{white-space:pre-wrap;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f0f0f0;padding:.5rem;margin:.3rem 0;font-size:.85rem}
pre.stderr{background:#fbeaea}.error>summary{color:#b3261e;font-weight:600}
details>summary{cursor:pointer}aside{border:1px dashed #999;padding:.4rem .8rem;margin:.8rem 0;background:#fffbea}
ul.tree{list-style:none;padding-left:0;font:12px/1.4 ui-monospace,monospace}ul.tree li.on{font-weight:600}
ul.tree li.off{color:#888}code{font:.9em ui-monospace,monospace}.reasoning{color:#555;font-style:italic}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _when(stamp: Any) -> str:
    return _e(str(stamp)[:19].replace("T", " ")) if isinstance(stamp, str) else ""


@cache
def _formatter() -> Any:
    """pygments' HTML formatter for ``.hl`` blocks, built once (building it computes its stylesheet)."""
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(cssclass="hl", wrapcode=True)


class _Highlighter:
    """pygments, imported once per page; falls back to escaped text for unknown languages."""

    def __init__(self) -> None:
        self.formatter = _formatter()

    def css(self) -> str:
        return str(self.formatter.get_style_defs(".hl"))

    def code(self, text: str, lang: str) -> str:
        if len(text) > _MAX_HIGHLIGHT:
            return f"<pre>{_e(text)}</pre>"
        from pygments import highlight
        from pygments.lexers import get_lexer_by_name
        from pygments.util import ClassNotFound

        try:
            lexer = get_lexer_by_name(lang or "text", stripnl=False)
        except ClassNotFound:
            lexer = get_lexer_by_name("text", stripnl=False)
        return highlight(text, lexer, self.formatter)

    def prose(self, text: str) -> str:
        """Message text: escaped, line breaks kept, fenced code blocks highlighted."""
        out: list[str] = []
        pos = 0
        for match in _FENCE.finditer(text):
            if match.start() > pos:
                out.append(f'<div class="text">{_e(text[pos : match.start()].strip(chr(10)))}</div>')
            out.append(self.code(match.group(3), match.group(2)))
            pos = match.end()
        if pos < len(text) and text[pos:].strip():
            out.append(f'<div class="text">{_e(text[pos:].strip(chr(10)))}</div>')
        return "".join(out)


def _overview(view: View, hl: _Highlighter) -> str:
    ov = view.overview
    rows = [
        ("Session", f"<code>{_e(ov.session_id)}</code>"),
        ("Directory", f"<code>{_e(ov.cwd or '?')}</code>"),
        ("Created", _when(ov.created)),
        ("Last entry", _when(ov.updated)),
        (
            "Turns",
            _e(
                f"{ov.turns}: {ov.user_messages} user and {ov.assistant_messages} assistant messages, "
                f"{plural(ov.tool_calls, 'tool call')} ({ov.tool_errors} failed), {plural(ov.shell_commands, '! command')}, "
                f"{plural(ov.compactions, 'compaction')}"
            ),
        ),
    ]
    if ov.models:
        rows.append(("Models", ", ".join(f"<code>{_e(m)}</code>" for m in ov.models)))
    if ov.root_id:
        rows.append(
            (
                "Branch",
                f"root <code>{_e(ov.root_id)}</code> → leaf <code>{_e(ov.leaf_id)}</code> "
                f"({ov.branch_entries} of {ov.entries} entries; the active branch is shown)",
            )
        )
    for entry_id, turn, others in ov.forks:
        rows.append(
            ("Fork", f"at <code>{_e(entry_id)}</code> (turn {turn}): {others} other branch(es) not shown")
        )
    if ov.dropped_entries:
        rows.append(("Rotation", f"dropped the {ov.dropped_entries} earliest entries"))
    if ov.imported_from:
        rows.append(
            (
                "Imported",
                f"from {_e(ov.imported_from.get('tool'))} session "
                f"<code>{_e(ov.imported_from.get('id'))}</code>",
            )
        )
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<h1>{_e(ov.title)}</h1><dl class="meta">{body}</dl>'


def _tree(session: Session) -> str:
    rows = session_rows(session)
    items = []
    for row in rows:
        eid = _e(row.id)
        text = _e(row.text)
        label = f" <em>[{_e(row.label)}]</em>" if row.label else ""
        inner = f'<a href="#e-{eid}">{eid}</a>' if row.on_path else eid
        style = f' style="margin-left:{min(row.depth, 30) * 1.2:.1f}em"' if row.depth else ""
        items.append(f'<li class="{"on" if row.on_path else "off"}"{style}>{inner} {text}{label}</li>')
    return (
        f"<details><summary>Session tree ({len(rows)} entries, every branch)</summary>"
        f'<ul class="tree">{"".join(items)}</ul></details>'
    )


def _assistant(entry: dict[str, Any], hl: _Highlighter) -> str:
    parts = []
    for block in blocks(entry):
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(hl.prose(str(block.get("text", ""))))
        elif kind == "reasoning" and str(block.get("summary") or "").strip():
            parts.append(
                f'<details class="reasoning"><summary>Reasoning</summary>'
                f'<div class="text">{_e(block["summary"])}</div></details>'
            )
        elif kind == "tool_use":
            parts.append(
                f"<details open><summary>Tool call <code>{_e(block.get('name'))}</code> "
                f'<span class="who">{_e(block.get("id"))}</span></summary>'
                f"{hl.code(pretty_json(block.get('input')), 'json')}</details>"
            )
    if entry.get("stopReason") == "cancelled":
        parts.append('<p class="who">(cancelled)</p>')
    return "".join(parts)


def _item(item: Item, view: View, hl: _Highlighter) -> str:
    entry = item.entry
    eid = _e(entry.get("id"))
    when = _when(entry.get("timestamp"))
    if item.kind == "user":
        return f'<article class="user" id="e-{eid}"><div class="who">User · {when}</div>{hl.prose(text_of(entry))}</article>'
    if item.kind == "assistant":
        model = f" · {_e(entry['model'])}" if isinstance(entry.get("model"), str) else ""
        return (
            f'<article class="assistant" id="e-{eid}"><div class="who">Assistant{model} · {when}</div>'
            f"{_assistant(entry, hl)}</article>"
        )
    if item.kind == "tool_result":
        parts = []
        for block in blocks(entry):
            if isinstance(block, dict) and block.get("type") == "tool_result":
                failed = block.get("is_error") is True
                name = view.tool_names.get(str(block.get("tool_use_id")), "tool")
                content = block.get("content")
                text = clean_output(content) if isinstance(content, str) else pretty_json(content)
                parts.append(
                    f'<details{" open" if failed else ""} class="{"error" if failed else "result"}">'
                    f"<summary>Tool result <code>{_e(name)}</code>{' — error' if failed else ''} "
                    f'<span class="who">{len(text):,} characters</span></summary><pre>{_e(text)}</pre></details>'
                )
            elif isinstance(block, dict) and block.get("type") == "text":
                parts.append(hl.prose(str(block.get("text", ""))))
        return f'<article class="tool_result" id="e-{eid}">{"".join(parts)}</article>'
    if item.kind == "shell" and item.shell is not None:
        sh = item.shell
        failed = sh.get("exit_code") not in (0, None)
        outputs = f"<pre>{_e(sh['stdout'])}</pre>" if sh["stdout"] else ""
        outputs += f'<pre class="stderr">{_e(sh["stderr"])}</pre>' if sh["stderr"] else ""
        return (
            f'<article class="shell" id="e-{eid}"><div class="who">! command · {when} · exit {_e(sh["exit_code"])}</div>'
            f"{hl.code(str(sh['command']), 'bash')}"
            f'<details{" open" if failed else ""} class="{"error" if failed else "result"}"><summary>output '
            f'<span class="who">{len(sh["stdout"]) + len(sh["stderr"]):,} characters</span></summary>'
            f"{outputs or '<pre></pre>'}</details></article>"
        )
    if item.kind in ("compaction", "branch_summary"):
        name = "Compaction" if item.kind == "compaction" else "Branch summary"
        before, after = entry.get("tokensBefore"), entry.get("tokensAfter")
        detail = f" ({_e(entry.get('trigger') or 'manual')}" if item.kind == "compaction" else ""
        if detail:
            detail += (
                f", {before:,} → {after:,} tokens)"
                if isinstance(before, int) and isinstance(after, int)
                else ")"
            )
        return (
            f'<aside id="e-{eid}"><details><summary><strong>{name}</strong>{detail} · {when}</summary>'
            f"{hl.prose(str(entry.get('summary', '')))}</details></aside>"
        )
    if item.kind == "model_change":
        return f'<p class="who" id="e-{eid}">Model changed to {_e(entry.get("provider"))}/{_e(entry.get("model"))} · {when}</p>'
    return ""


def render_html(session: Session) -> str:
    """The HTML export of ``session``: one page, no external requests, no scripts.

    Outputs are shown cleaned (:func:`lime_repl.context.clean.clean_output`);
    control characters anywhere are made visible (:func:`lime_repl.textsafe.safe_text`).
    """
    hl = _Highlighter()
    view = build_view(session)
    body = [_overview(view, hl), _tree(session)]
    body += [_item(item, view, hl) for item in view.preamble]
    for turn in view.turns:
        body.append(f'<section id="turn-{turn.number}"><h2>Turn {turn.number}</h2>')
        body += [_item(item, view, hl) for item in turn.items]
        body.append("</section>")
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    return safe_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="generator" content="lime"><meta name="exported" content="{_e(now_rfc3339())}">'
        f"<title>{_e(view.overview.title)}</title><style>{_CSS}{hl.css()}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
