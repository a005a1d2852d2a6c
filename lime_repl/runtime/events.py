"""What a running session reports to its front end: typed events and the :class:`Sink` protocol.

The runtime (:class:`~lime_repl.runtime.session.SessionRuntime`) calls
``sink.emit(event)`` for each event, in the order things happen, on the
thread that runs the operation, and ``sink.approve(request)`` when a tool
needs the user's approval (DESIGN.md section 4b). The REPL renders events
to the terminal, line mode writes them to stdout and stderr, the bridge turns
them into ``session.event`` notifications (docs/bridge.md).

Events are immutable records (:class:`typing.NamedTuple`: a tenth of what
frozen dataclasses cost to define at import). This module defines those a
``!`` line reports (:class:`EntryAppended`, :class:`ShellOutput`,
:class:`Notice`); the events of model turns, compaction, resume and
approvals, and the :data:`Event` union, are named here too but defined in
:mod:`.agent_events`, loaded at their first use. :func:`output_callbacks`
gives a ``!`` command's output callbacks for a sink.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

if TYPE_CHECKING:  # names for annotations only: a `!` line loads neither approvals nor views
    from ..agent.approvals import Decision
    from ..store.records import Entry
    from .agent_events import (
        ApprovalRequest,
        CompactionFinished,
        CompactionStarted,
        ErrorEvent,
        MessageEnd,
        Recap,
        TextDelta,
        ToolCalled,
        ToolFinished,
    )

#: Defined in :mod:`.agent_events`, loaded at their first use (:func:`__getattr__`).
_AGENT_EVENTS = frozenset(
    {
        "ApprovalRequest",
        "CompactionFinished",
        "CompactionStarted",
        "ErrorEvent",
        "Event",
        "MessageEnd",
        "Recap",
        "TextDelta",
        "ToolCalled",
        "ToolFinished",
    }
)


def __getattr__(name: str) -> Any:
    """The events of :mod:`.agent_events` (model turns, compaction, resume, approvals) and the
    :data:`Event` union of every event, made at their first use (PEP 562)."""
    if name not in _AGENT_EVENTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import agent_events as a

    if name != "Event":
        return getattr(a, name)
    union = globals()["Event"] = (
        a.TextDelta
        | a.MessageEnd
        | a.ToolCalled
        | a.ToolFinished
        | EntryAppended
        | ShellOutput
        | a.CompactionStarted
        | a.CompactionFinished
        | Notice
        | a.Recap
        | a.ErrorEvent
    )
    return union

__all__ = [
    "ApprovalRequest",
    "CompactionFinished",
    "CompactionStarted",
    "EntryAppended",
    "ErrorEvent",
    "Event",
    "MessageEnd",
    "Notice",
    "NullSink",
    "Recap",
    "ShellOutput",
    "Sink",
    "TextDelta",
    "ToolCalled",
    "ToolFinished",
    "output_callbacks",
]


class EntryAppended(NamedTuple):
    """``entry`` was written to the session log and applied (from :attr:`Session.on_append`)."""

    session_id: str
    entry: Entry


class ShellOutput(NamedTuple):
    """A chunk of a ``!`` command's output, byte for byte as the command wrote it."""

    stream: Literal["stdout", "stderr"]
    data: bytes


class Notice(NamedTuple):
    """One of lime's own lines for the user: ``info``, ``warning`` or ``error``.

    ``style`` is a rendering hint for terminals (``dim``, ``accent``, ``error``, …).
    """

    level: Literal["info", "warning", "error"]
    text: str
    style: str = "dim"


class Sink(Protocol):
    """A front end's side of the runtime: it receives every event and answers approvals."""

    def emit(self, event: Event) -> None: ...

    def approve(self, request: ApprovalRequest) -> str | Decision: ...


class NullSink:
    """A sink that drops every event and refuses every approval (tests, background use)."""

    def emit(self, event: Event) -> None:
        return None

    def approve(self, request: ApprovalRequest) -> str:
        return "n"


OutputCallback = Callable[[bytes], None]


def output_callbacks(sink: Sink) -> tuple[OutputCallback, OutputCallback]:
    """The ``(stdout, stderr)`` callbacks of a ``!`` command for *sink*.

    A sink that writes ``!`` output unchanged to a file descriptor offers
    ``direct_output(stream) -> callback | None`` (line mode: a
    :class:`~lime_repl.runtime.shell_io.DirectOutput`, which the copy loop may
    splice to); elsewhere each chunk becomes a :class:`ShellOutput` event.
    """
    direct = getattr(sink, "direct_output", None)
    emit = sink.emit

    def event(stream: Literal["stdout", "stderr"]) -> OutputCallback:
        own = direct(stream) if direct is not None else None
        return own if own is not None else lambda data: emit(ShellOutput(stream, data))

    return event("stdout"), event("stderr")


if TYPE_CHECKING:  # at run time, made by :func:`__getattr__` at first use
    Event = (
        TextDelta
        | MessageEnd
        | ToolCalled
        | ToolFinished
        | EntryAppended
        | ShellOutput
        | CompactionStarted
        | CompactionFinished
        | Notice
        | Recap
        | ErrorEvent
    )
