"""Reader for aider chat histories (``.aider.chat.history.md`` in a repository's root).

The format is what aider's ``InputOutput`` appends and its
``utils.split_chat_history_markdown`` reads back:

* ``# aider chat started at YYYY-MM-DD HH:MM:SS`` (local time, no zone) opens
  each run of aider, so one file holds many sessions;
* ``#### `` lines are the user's input (a multi-line input is several such
  lines, each ended by a Markdown line break of two spaces);
* ``> `` lines are aider's own output: tool messages, warnings, errors,
  confirmation questions and their answers;
* every other line is the model's reply.

Mapping onto lime, one :class:`Imported` per session (the first is returned,
the rest are in its ``more``), entries chained in file order and all dated at
the session's start (aider records no other time; it is taken as UTC):

* a run of ``#### `` lines: one user message; ``/run CMD`` and ``!CMD`` are
  shell commands and become lime's bash triple (aider does not log their
  output, nor their exit code, so stdout is empty and the exit code 0);
  ``/ask``, ``/code``, ``/architect`` and ``/context`` with a prompt are user
  messages; other ``/`` commands (``/add``, ``/drop``, …) are ``custom``
  entries ``aider:command``;
* a run of reply lines: one assistant message;
* a run of ``> `` lines: a ``custom`` entry ``aider:output`` (it is not sent to
  the model, as aider itself leaves it out);
* a session with none of these is skipped, with a warning.
"""

from __future__ import annotations

import re

from .builder import Builder
from .common import Imported

__all__ = ["looks_like", "read"]

TOOL = "aider"
_START = re.compile(r"^# aider chat started at (.*?)\s*$")
_PROMPT_COMMANDS = ("/ask", "/code", "/architect", "/context")


def looks_like(text: str) -> bool:
    """True when a line of the text opens an aider session."""
    return any(_START.match(line) for line in text[:65536].splitlines())


def _sessions(text: str) -> list[tuple[str | None, list[str]]]:
    sessions: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in text.splitlines():
        match = _START.match(line)
        if match:
            sessions.append((match.group(1), []))
        else:
            sessions[-1][1].append(line)
    return sessions


def _blocks(lines: list[str]) -> list[tuple[str, str]]:
    """``(kind, text)`` runs: ``user``, ``output`` and ``assistant``, as aider's own parser splits them."""
    runs: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith("# "):
            continue
        if line.startswith("#### ") or line == "####":
            kind, body = "user", line[5:]
        elif line.startswith("> ") or line == ">":
            kind, body = "output", line[2:]
        else:
            kind, body = "assistant", line
        body = body[:-2] if body.endswith("  ") else body
        if runs and runs[-1][0] == kind:
            runs[-1][1].append(body)
        else:
            runs.append((kind, [body]))
    out = [(kind, "\n".join(body).strip()) for kind, body in runs]
    return [(kind, text) for kind, text in out if text]


def _user(b: Builder, text: str, cwd: str | None) -> None:
    command, _, rest = text.partition(" ")
    if text.startswith("!") or command == "/run":
        shell = text[1:] if text.startswith("!") else rest
        b.bash(shell.strip(), "", "", exit_code=0, cwd=cwd, extra={"exitCodeKnown": False})
    elif text.startswith("/") and not (command in _PROMPT_COMMANDS and rest.strip()):
        b.custom("command", {"command": text})
    else:
        b.add({"type": "message", "role": "user", "content": [{"type": "text", "text": text}]})


def read(text: str, path: str, warnings: list[str], fallback: str) -> Imported:
    """Map an aider chat history onto one :class:`Imported` per session (the others in ``more``)."""
    out: list[Imported] = []
    skipped = 0
    for started, lines in _sessions(text):
        runs = _blocks(lines)
        if not runs:
            skipped += started is not None
            continue
        b = Builder(TOOL, fallback)
        b.stamp(started)
        for kind, body in runs:
            if kind == "user":
                _user(b, body, None)
            elif kind == "assistant":
                b.add({"type": "message", "role": "assistant", "content": [{"type": "text", "text": body}]})
            else:
                b.custom("output", {"text": body})
        imported = Imported(TOOL, started, path, b.finish(), created=b.first_time, warnings=[])
        imported.leaf_id = b.last_node
        out.append(imported)
    if not out:
        from ..guard import ImportRefused

        raise ImportRefused(f"refusing {path}: an aider chat history with no messages in it")
    if skipped:
        warnings.append(f"{path}: skipped {skipped} aider sessions with nothing in them")
    first = out[0]
    first.warnings = warnings
    first.more = out[1:]
    return first
