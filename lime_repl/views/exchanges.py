"""A session's conversation as short lines of text: tool calls, results, ``!`` exchanges and a resume recap.

Two front ends read a conversation back as text: ``lime session show``
(:func:`lime_repl.cli.printers.format_transcript`, every entry of the active
branch) and the recap printed when a session is resumed (:func:`recap`, the
last few exchanges, like ``claude --resume`` and ``pi -r`` redraw the
conversation). Both name a tool call by its tool and a one-line form of its
input (:func:`tool_input_line`), and a result by its first lines with the
error flag (:func:`result_lines`).

Every line this module returns is made safe to print
(:func:`~lime_repl.textsafe.safe_line`): stored text can neither move the
cursor nor change the terminal's colours. Pure functions, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..plural import plural
from ..store.records import Entry, text_of, triple_part
from ..textsafe import safe_line

__all__ = ["RecapLine", "count_exchanges", "recap", "result_lines", "tool_input_line", "tool_results", "tool_uses"]

#: Characters kept of a one-line form (a tool's input, a prompt, a result line).
LINE_CHARS = 160

#: Input keys that say what a call does better than its whole JSON (bash's command, a file tool's path).
_SALIENT_KEYS = ("command", "path", "file_path", "pattern", "query", "url")

RecapKind = Literal["user", "assistant", "tool", "result", "error", "shell", "output"]


@dataclass(frozen=True, slots=True)
class RecapLine:
    """One line of a recap: ``kind`` says how a front end styles it, ``text`` is safe to print."""

    kind: RecapKind
    text: str


def _one_line(text: str, limit: int = LINE_CHARS) -> str:
    line = " ".join(safe_line(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def tool_input_line(name: str, arguments: Any) -> str:
    """``name: X`` where X is the call's salient input (``command``, ``path``, …) or its compact JSON.

    At most :data:`LINE_CHARS` characters of input, whitespace runs folded to
    one space, made safe to print. ``arguments`` is the ``tool_use`` block's
    ``input`` (any JSON value; an object normally).
    """
    shown: str
    if isinstance(arguments, Mapping):
        key = next((k for k in _SALIENT_KEYS if isinstance(arguments.get(k), str)), None)
        if key is not None:
            rest = {k: v for k, v in arguments.items() if k != key}
            shown = str(arguments[key]) + (" " + json.dumps(rest, ensure_ascii=False) if rest else "")
        else:
            shown = json.dumps(dict(arguments), ensure_ascii=False)
    else:
        shown = json.dumps(arguments, ensure_ascii=False)
    return f"{_one_line(name, 60)}: {_one_line(shown)}"


def _result_text(block: Mapping[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    return text_of({"content": content}) if isinstance(content, list) else ""


def result_lines(text: str, keep: int) -> list[str]:
    """The first ``keep`` non-empty-ended lines of ``text`` (each cut to :data:`LINE_CHARS`), then
    ``(+N lines)`` for the N lines not shown; ``["(no output)"]`` for empty text."""
    lines = text.strip("\n").splitlines()
    if not lines or not text.strip():
        return ["(no output)"]
    shown = [_one_line(line) if line.strip() else "" for line in lines[:keep]]
    rest = len(lines) - len(shown)
    if rest > 0:
        shown.append(f"(+{plural(rest, 'line')})")
    return shown


def tool_uses(entry: Entry) -> list[dict[str, Any]]:
    """The ``tool_use`` blocks of a message entry, in order."""
    content = entry.get("content")
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_use"]


def tool_results(entry: Entry) -> list[dict[str, Any]]:
    """The ``tool_result`` blocks of a message entry, in order."""
    content = entry.get("content")
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def _is_prompt(entry: Entry) -> bool:
    """A user's prompt: a user message with text, or the ``<bash-input>`` part of a ``!`` exchange."""
    if entry.get("type") != "message" or entry.get("role") != "user":
        return False
    part = triple_part(entry)
    if part is not None:
        return part[0] == "input"
    return not tool_results(entry) and bool(text_of(entry).strip())


def _exchanges(entries: Sequence[Entry]) -> list[list[Entry]]:
    """The message entries grouped into exchanges, each starting at a prompt (what comes before the first is dropped)."""
    groups: list[list[Entry]] = []
    for entry in entries:
        if entry.get("type") != "message":
            continue
        if _is_prompt(entry):
            groups.append([entry])
        elif groups:
            groups[-1].append(entry)
    return groups


def count_exchanges(entries: Sequence[Entry]) -> int:
    """How many exchanges (prompts with what followed them) ``entries`` hold."""
    return len(_exchanges(entries))


def _exchange_lines(group: list[Entry], max_lines: int) -> list[RecapLine]:
    lines: list[RecapLine] = []
    for entry in group:
        part = triple_part(entry)
        if part is not None:
            part_role, body = part
            if part_role == "input":
                lines.append(RecapLine("shell", "$ " + _one_line(body)))
            elif body.strip():
                lines.extend(RecapLine("output", "  " + line) for line in result_lines(body, 1))
            shell = entry.get("shell") or {}
            if part_role == "stderr" and shell.get("exitCode"):
                lines.append(RecapLine("error", f"  [exit {shell.get('exitCode')}]"))
            continue
        role = entry.get("role")
        text = text_of(entry)
        if role == "user" and text.strip() and not tool_results(entry):
            first, *more = result_lines(text, 1)
            lines.append(RecapLine("user", "› " + first))
            lines.extend(RecapLine("user", "  " + line) for line in more)
        if role == "assistant" and text.strip():
            lines.extend(RecapLine("assistant", line) for line in result_lines(text, 3))
        for call in tool_uses(entry):
            lines.append(RecapLine("tool", "● " + tool_input_line(str(call.get("name", "tool")), call.get("input"))))
        for block in tool_results(entry):
            error = bool(block.get("is_error"))
            shown = result_lines(_result_text(block), 1)
            mark = "✗" if error else "✓"
            lines.append(RecapLine("error" if error else "result", f"  {mark} " + "  ".join(shown)))
    if len(lines) > max_lines:
        hidden = len(lines) - max_lines + 1
        lines = [*lines[: max_lines - 1], RecapLine("result", f"  … (+{plural(hidden, 'line')})")]
    return lines


def recap(
    newest_first: Iterable[Entry], exchanges: int, *, max_lines: int = 12
) -> tuple[list[RecapLine], int, bool]:
    """``(lines, shown, earlier)``: the last ``exchanges`` exchanges of a session's active branch as
    :class:`RecapLine` s (oldest first), how many exchanges they are, and whether any came before.

    ``newest_first`` walks the branch back from its leaf; it is read only as
    far as the exchange before the ones shown, so a resume of a long session
    does not pay for its whole history.

    An exchange is a prompt (a user message, or a ``!`` command) with the
    answers, tool calls, tool results and command output that followed it.
    Each is shown in at most ``max_lines`` lines: the prompt's first line,
    up to three lines of each answer, one line per tool call (its name and
    input) and result (its first line, ``✗`` when it failed), and the
    command's output (first line). ``exchanges <= 0`` gives ``([], 0, False)``.
    """
    if exchanges <= 0:
        return [], 0, False
    groups: list[list[Entry]] = []  # newest exchange first, each one's entries newest first
    pending: list[Entry] = []
    earlier = False
    for entry in newest_first:
        if entry.get("type") != "message":
            continue
        if not _is_prompt(entry):
            pending.append(entry)
        elif len(groups) == exchanges:
            earlier = True
            break
        else:
            groups.append([*pending, entry])
            pending = []
    lines: list[RecapLine] = []
    for group in reversed(groups):
        lines.extend(_exchange_lines(list(reversed(group)), max_lines))
    return lines, len(groups), earlier
