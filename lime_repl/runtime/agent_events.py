"""The events of model turns, compaction, resume and approvals (see :mod:`.events`, which names them).

They are defined apart from the events a ``!`` line reports (an entry
appended, the shell's output, a notice), so a ``!`` line does not define
them: :mod:`.events` loads this module at the first use of one of these
names, or of its :data:`~.events.Event` union (nine named tuples cost
about 1.5 ms to define at start-up). This module imports nothing of
lime's at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:  # names for annotations only: a `!` line loads neither approvals nor views
    from ..store.records import Entry
    from ..views.exchanges import RecapLine

__all__ = [
    "ApprovalRequest",
    "CompactionFinished",
    "CompactionStarted",
    "ErrorEvent",
    "MessageEnd",
    "Recap",
    "TextDelta",
    "ToolCalled",
    "ToolFinished",
]


class TextDelta(NamedTuple):
    """A piece of the model's streamed answer (``assistant``) or reasoning (``reasoning``), as received."""

    stream: Literal["assistant", "reasoning"]
    text: str


class MessageEnd(NamedTuple):
    """The model finished one assistant message (text may follow in the next message of the turn)."""


class ToolCalled(NamedTuple):
    """The model called tool ``name`` with ``arguments`` (before approval and execution)."""

    name: str
    arguments: Mapping[str, Any]


class ToolFinished(NamedTuple):
    """Tool ``name`` returned ``content`` (the text the model gets); ``is_error`` for a failed call."""

    name: str
    content: str
    is_error: bool


class CompactionStarted(NamedTuple):
    """A compaction started (``trigger``: ``manual``, ``auto`` or ``overflow``) with ``tokens`` of context
    (None when not counted); a :class:`CompactionFinished` follows."""

    trigger: str
    tokens: int | None = None


class CompactionFinished(NamedTuple):
    """A compaction ended: ``entry`` is the ``compaction`` entry written, or None (nothing to compact,
    or ``cancelled``)."""

    trigger: str
    entry: Entry | None
    cancelled: bool = False


class Recap(NamedTuple):
    """A resumed session's last exchanges, to redraw before the prompt (``resume.show`` of them).

    ``lines`` are :class:`~lime_repl.views.exchanges.RecapLine` s, safe to
    print; ``shown`` is how many exchanges they are and ``earlier`` whether
    any came before them. Terminal front ends show it; line mode and the
    bridge do not.
    """

    lines: tuple[RecapLine, ...]
    shown: int
    earlier: bool


class ErrorEvent(NamedTuple):
    """An operation failed with ``message`` and the exit code ``code`` of DESIGN.md section 7."""

    message: str
    code: int = 1


_NO_ARGUMENTS: Mapping[str, Any] = MappingProxyType({})


class ApprovalRequest(NamedTuple):
    """Tool ``name`` needs approval to run with ``arguments``.

    ``always`` says what an "always" answer covers for the rest of the session (``git commands``,
    ``this exact command``, ``every edit call``), ``why`` why it is the exact command (or ``""``);
    see :mod:`lime_repl.agent.approvals`. The answer is a :class:`Decision` or ``"y"``, ``"n"``,
    ``"a"`` (always); raising ``KeyboardInterrupt`` refuses the call and stops the turn.
    """

    name: str
    arguments: Mapping[str, Any] = _NO_ARGUMENTS
    always: str = ""
    why: str = ""
