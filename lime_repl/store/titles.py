"""A session's display title: the ``/rename`` title, else its first prompt, never markup.

The first prompt is the first user message of the session, or its first
``!`` command shown as ``!command`` (the text of the ``<bash-input>`` entry
of a bash triple, DESIGN.md section 3); the ``<bash-stdout>`` and
``<bash-stderr>`` entries of a triple are never a prompt. It is taken from
the first segment's entries, or from the ``firstMessage`` of a later
segment's checkpoint, which the writer copies there at rotation, so a
rotated session keeps the title it had instead of showing whatever entry
opens its oldest surviving segment.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_CHARS", "display_title", "first_prompt"]

#: The first prompt is kept to this many characters (as the listing's first message always was).
MAX_CHARS = 200
_INPUT = ("<bash-input>", "</bash-input>")


def _text(entry: dict[str, Any]) -> str | None:
    content = entry.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type", "text") == "text" and isinstance(block.get("text"), str):
                return block["text"]
    return None


def first_prompt(entry: dict[str, Any]) -> str | None:
    """What ``entry`` shows as a session's first prompt (``MAX_CHARS`` at most), or None when it is not one.

    A user ``message`` gives its first text block; a ``<bash-input>X</bash-input>``
    message gives ``!X``; the output parts of a bash triple, tool results and
    every other entry give None.
    """
    if entry.get("type") != "message" or entry.get("role") != "user":
        return None
    text = _text(entry)
    if not text:
        return None
    if text.startswith("<bash-"):
        if text.startswith(_INPUT[0]) and text.endswith(_INPUT[1]):
            return ("!" + text[len(_INPUT[0]) : -len(_INPUT[1])])[:MAX_CHARS]
        return None  # <bash-stdout>/<bash-stderr>: output, not a prompt
    return text[:MAX_CHARS]


def display_title(title: str | None, first_message: str | None, *, least: int | None = None) -> str | None:
    """The title a listing shows: ``title`` (set by ``/rename``), else ``first_message`` on one line; None if neither.

    ``first_message`` is what :func:`first_prompt` gave; a value stored in
    the raw ``<bash-input>…`` form (an index written by an older lime) is
    shown as ``!command`` too, and an output part of a bash triple is not shown.

    With ``least`` (characters), a first prompt may come back cut short: still
    longer than ``least`` characters, printable ASCII, and the start of the
    full display title. It is what a column of at most ``least`` columns shows
    the same as the full one (one column a character), found by joining the
    words of only the first ``2 * least`` characters (the words of a prefix
    are the start of the words of the whole).
    """
    if title:
        return title
    if not first_message:
        return None
    if first_message.startswith("<bash-"):
        shown = first_prompt({"type": "message", "role": "user", "content": first_message})
    else:  # what first_prompt gives for any other text, without building an entry per listed session
        shown = first_message[:MAX_CHARS]
        if least is not None and len(shown) > 2 * least:
            part = " ".join(shown[: 2 * least].split())
            if len(part) > least and part.isascii() and part.isprintable():
                return part
    return " ".join(shown.split()) if shown else None
