"""What a running session reports to its front end: typed events and the :class:`Sink` protocol.

The runtime (:class:`~lime_repl.runtime.session.SessionRuntime`) calls
``sink.emit(event)`` for each event, in the order things happen, on the
thread that runs the operation, and ``sink.approve(request)`` when a tool
needs the user's approval (DESIGN.md section 4b). The REPL renders events
to the terminal, line mode writes them to stdout and stderr, the bridge turns
them into ``session.event`` notifications (docs/bridge.md).

Events are immutable records (:class:`typing.NamedTuple`: a dozen of them
cost a tenth of what frozen dataclasses cost to define at import, and a
``!`` line imports this module). :func:`output_callbacks` gives a ``!``
command's output callbacks for a sink.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

if TYPE_CHECKING:  # names for annotations only: a `!` line loads neither approvals nor views
    from ..agent.approvals import Decision
    from ..store.records import Entry
    from ..views.exchanges import RecapLine

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


class EntryAppended(NamedTuple):
    """``entry`` was written to the session log and applied (from :attr:`Session.on_append`)."""

    session_id: str
    entry: Entry


class ShellOutput(NamedTuple):
    """A chunk of a ``!`` command's output, byte for byte as the command wrote it."""

    stream: Literal["stdout", "stderr"]
    data: bytes


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


class Notice(NamedTuple):
    """One of lime's own lines for the user: ``info``, ``warning`` or ``error``.

    ``style`` is a rendering hint for terminals (``dim``, ``accent``, ``error``, …).
    """

    level: Literal["info", "warning", "error"]
    text: str
    style: str = "dim"


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
