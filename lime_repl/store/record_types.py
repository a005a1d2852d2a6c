"""The shapes of the records lime writes, as TypedDicts (DESIGN.md section 3), for the type checker.

The builders of :mod:`lime_repl.store.records` fill them, so a misspelt or
mistyped field is a type error, and return plain entries. They are types
only: nothing here runs on the write path, and :mod:`.records` loads this
module at the first run-time use of one of the names (defining them costs
about half a millisecond, which a ``!`` line at start-up does not pay).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

__all__ = ["CheckpointEntry", "CompactionEntry", "MessageEntry", "SessionHeader", "ShellFields", "TextBlock"]

Entry = dict[str, Any]


class SessionHeader(TypedDict):
    """The ``session`` header, first line of every segment. ``version`` is the log format."""

    type: Literal["session"]
    id: str
    parentId: None
    timestamp: str
    version: int
    sessionId: str
    cwd: str | None
    created: str
    systemPrompt: str | None
    segment: int
    retain: NotRequired[int]
    forkedFrom: NotRequired[dict[str, str]]
    importedFrom: NotRequired[dict[str, str]]


class CheckpointEntry(TypedDict):
    """The ``checkpoint``, second line of every later segment: what the dropped segments held."""

    type: Literal["checkpoint"]
    id: str
    parentId: None
    timestamp: str
    leafId: str | None
    title: str | None
    labels: dict[str, str]
    compaction: Entry | None
    droppedEntries: int
    firstMessage: NotRequired[str]  # the session's first prompt, for listing titles (lime_repl.store.titles)


class TextBlock(TypedDict):
    """A ``text`` content block."""

    type: Literal["text"]
    text: str


class ShellFields(TypedDict):
    """The ``shell`` facts of each entry of a bash triple (durations in ms, truncated sizes in bytes).

    ``interrupted``, ``interactive`` and ``context`` are present only when true,
    true and false respectively (DESIGN.md section 3).
    """

    exchange: str
    exitCode: int
    durationMs: int
    truncatedBytes: dict[str, int]
    cwd: str
    interrupted: NotRequired[bool]
    interactive: NotRequired[bool]
    context: NotRequired[bool]


class MessageEntry(TypedDict):
    """A ``message`` as built before the store stamps ``id``, ``parentId`` and ``timestamp``."""

    type: Literal["message"]
    role: Literal["user", "assistant"]
    content: list[TextBlock]
    shell: NotRequired[ShellFields]


class CompactionEntry(TypedDict):
    """A ``compaction`` as built before stamping: ``firstKeptEntryId`` starts the kept part; token counts."""

    type: Literal["compaction"]
    summary: str
    firstKeptEntryId: str | None
    tokensBefore: int
    tokensAfter: int
    trigger: str
    hint: str | None
    files: dict[str, list[str]]
