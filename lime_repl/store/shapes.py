"""Reading an entry's shape: its text, its bash-triple part, its tool names, its outputs (DESIGN.md section 3).

Pure functions of one entry (or a few) as decoded from the log; the builders
and the serializer are in :mod:`lime_repl.store.records`, which re-exports
these names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .records import ShellFields

__all__ = [
    "BASH_TAGS",
    "TripleRole",
    "output_facts",
    "shell_fields",
    "text_of",
    "tool_names",
    "triple_part",
    "triple_role",
    "unwrap_tag",
]

Entry = dict[str, Any]
"""An entry as read: a plain dict (the alias of :data:`lime_repl.store.records.Entry`)."""


def shell_fields(entry: Entry) -> ShellFields | None:
    """The ``shell`` facts of a bash triple member, or None for any other entry (or a ``shell`` that is no object)."""
    if entry.get("type") != "message" or not isinstance(entry.get("shell"), dict):
        return None
    return entry["shell"]


def text_of(entry: Entry) -> str:
    """The plain text of a message entry's ``text`` blocks, joined by newlines ('' if none)."""
    content = entry.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, Iterable):
        return ""
    texts = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
    return "\n".join(texts)


#: A member of a bash triple: the command, its stdout, its stderr.
TripleRole = Literal["input", "stdout", "stderr"]

#: The text tag of each member of a bash triple, in the order of the triple (Claude Code's ``!`` mode tags).
BASH_TAGS: dict[TripleRole, str] = {"input": "bash-input", "stdout": "bash-stdout", "stderr": "bash-stderr"}


def unwrap_tag(text: str, tag: str) -> str | None:
    """The body of ``text`` when it is exactly ``<tag>BODY</tag>`` (surrounding whitespace allowed), else None."""
    stripped = text.strip()
    start, end = f"<{tag}>", f"</{tag}>"
    if len(stripped) >= len(start) + len(end) and stripped.startswith(start) and stripped.endswith(end):
        return stripped[len(start) : -len(end)]
    return None


def triple_part(entry: Entry) -> tuple[TripleRole, str] | None:
    """``(role, body)`` of a bash triple member: a message with a ``shell`` object whose text is one tagged part.

    ``role`` is ``input``, ``stdout`` or ``stderr`` (:data:`BASH_TAGS`), ``body`` the text inside the
    tag. None for every other entry (DESIGN.md section 3, "bash triple").
    """
    if entry.get("type") != "message" or not isinstance(entry.get("shell"), dict):
        return None
    stripped = text_of(entry).strip()
    if not stripped.startswith("<bash-"):  # every tag opens with it: no tag to try
        return None
    # The opening tag is all up to the first ">": it names the one member the text can be (unwrap_tag's test).
    opening = stripped[: stripped.find(">") + 1]
    found = _OPENING.get(opening)
    if found is None:
        return None
    role, closing = found
    if len(stripped) >= len(opening) + len(closing) and stripped.endswith(closing):
        return role, stripped[len(opening) : -len(closing)]
    return None


#: Each bash tag's opening form -> (member, closing form).
_OPENING: dict[str, tuple[TripleRole, str]] = {f"<{tag}>": (role, f"</{tag}>") for role, tag in BASH_TAGS.items()}


def triple_role(entry: Entry) -> TripleRole | None:
    """Which member of a bash triple ``entry`` is (``input``/``stdout``/``stderr``), or None (see :func:`triple_part`)."""
    part = triple_part(entry)
    return part[0] if part else None


def tool_names(entries: Iterable[Entry]) -> dict[str, str]:
    """``tool_use`` id -> tool name over the ``tool_use`` blocks of the message ``entries`` (later ids win)."""
    names: dict[str, str] = {}
    for entry in entries:
        content = entry.get("content")
        if entry.get("type") != "message" or not isinstance(content, list):
            continue
        for block in content:
            if (
                isinstance(block, dict)
                and block.get("type") == "tool_use"
                and isinstance(block.get("id"), str)
            ):
                names[block["id"]] = str(block.get("name", ""))
    return names


def output_facts(entry: Entry) -> tuple[int, str] | None:
    """``(size, group)`` of an entry that carries outputs, None for any other entry.

    Output entries are user messages with ``tool_result`` blocks and the
    stdout/stderr members of a bash triple. ``size`` is the characters of
    their outputs (a non-string ``tool_result`` content counted as its
    ``str``); ``group`` is ``"!" + shell.exchange`` for a bash triple member
    (its stdout and stderr are one result), else the entry's id. Pure; the
    store takes it once per entry, when it is replayed or appended, so
    microcompaction planning needs no decoding (DESIGN.md section 4).
    """
    if entry.get("type") != "message" or entry.get("role") != "user":
        return None
    content = entry.get("content")
    if not isinstance(content, list):
        return None
    shell = entry.get("shell")
    if not isinstance(shell, dict):
        # Tool results: the size of each; no tool_result, no output. One pass over the blocks.
        size, found = 0, False
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                found = True
                value = block.get("content")
                size += len(value) if isinstance(value, str) else len(str(value))
        return (size, str(entry.get("id"))) if found else None
    if not content or not isinstance(content[0], dict):
        return None
    part = triple_part(entry)
    if part is not None and part[0] == "input":
        return None
    size = 0
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "tool_result":
            value = block.get("content")
            size += len(value) if isinstance(value, str) else len(str(value))
        elif kind == "text" and isinstance(shell, dict):
            size += len(part[1]) if part else len(str(block.get("text", "")))
    exchange = shell.get("exchange") if isinstance(shell, dict) else None
    return size, ("!" + exchange) if isinstance(exchange, str) else str(entry.get("id"))
