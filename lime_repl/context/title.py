"""The automatic title of a session: the request that asks the model for one, and the answer made a title.

After a session's first exchange, lime asks the model for a short title
(as Claude Code's ``ai-title`` and pi do) and records it as a ``title``
entry with ``auto: true`` (DESIGN.md section 3); a ``/rename`` title always
wins over it. :func:`title_request` builds the provider-neutral request from
the first exchange; :func:`clean_title` turns the model's answer into one
short line, or None when nothing usable came back. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..store.records import Entry, text_of, triple_part
from ..textsafe import strip_sequences

__all__ = ["TITLE_CHARS", "TITLE_SYSTEM", "clean_title", "first_exchange", "title_request"]

#: The system prompt of a title request; its wording also lets a test server tell the request apart.
TITLE_SYSTEM = "You write short titles for coding sessions."

#: Characters kept of an automatic title.
TITLE_CHARS = 80

#: Characters of the prompt and of the answer sent with the request.
_EXCERPT = 2000

_QUOTES = "\"'`“”‘’«»"


def first_exchange(entries: Iterable[Entry]) -> tuple[str, str] | None:
    """``(prompt, answer)``: the text of the first user message (not a ``!`` exchange or a tool result)
    and of the first assistant answer after it; None until both have text."""
    prompt: str | None = None
    for entry in entries:
        if entry.get("type") != "message" or triple_part(entry) is not None:
            continue
        text = text_of(entry).strip()
        if not text:
            continue
        if prompt is None and entry.get("role") == "user":
            prompt = text
        elif prompt is not None and entry.get("role") == "assistant":
            return prompt, text
    return None


def title_request(prompt: str, answer: str) -> list[dict[str, Any]]:
    """The user message that asks for a title of the exchange ``prompt`` / ``answer`` (each cut to 2,000
    characters), in provider-neutral form; send it with :data:`TITLE_SYSTEM` and no tools."""
    ask = (
        "Write a title for the coding session that starts with the exchange below: at most six words, "
        "naming the task, in the language of the user's message. Reply with the title alone, "
        "without quotes or a full stop.\n\n"
        f"<user>\n{prompt[:_EXCERPT]}\n</user>\n<assistant>\n{answer[:_EXCERPT]}\n</assistant>"
    )
    return [{"role": "user", "content": [{"type": "text", "text": ask}]}]


def clean_title(answer: str) -> str | None:
    """The model's ``answer`` as a title: its first non-empty line, without escape sequences
    (:func:`~lime_repl.textsafe.strip_sequences`) or other control characters, Markdown emphasis, heading
    marks, a ``Title:`` label, surrounding quotes or a trailing full stop, whitespace folded, at most
    :data:`TITLE_CHARS` characters (the cut marked ``…``). None when nothing is left."""
    line = next((ln for ln in strip_sequences(answer).splitlines() if ln.strip()), "")
    line = line.replace("**", "").replace("__", "")
    line = re.sub(r"^\s*(#+\s*|[-*]\s+)", "", line)
    line = re.sub(r"^\s*title\s*:\s*", "", line, flags=re.IGNORECASE)
    line = " ".join("".join(ch for ch in line if ch.isprintable()).split())
    line = line.strip(_QUOTES).strip().rstrip(".").strip(_QUOTES).strip()
    if not line:
        return None
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"
