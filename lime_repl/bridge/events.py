"""Runtime events as ``session.event`` notifications (docs/bridge.md, "Events").

:class:`BridgeSink` is the bridge's :class:`~lime_repl.runtime.events.Sink`
for one open session. Its ``emit`` callback receives
``(session_id, kind, fields)`` for each notification:

* ``delta``: ``{"stream": "stdout"|"stderr"|"assistant"|"reasoning", "text": …}``
  while a ``!`` command or a model turn runs (``!`` output is decoded as
  UTF-8 with replacement characters; a character split between reads is kept
  whole);
* ``entry``: ``{"entry": {…}}`` for every entry appended to the log, in log
  order, before the call's response (from the session's ``on_append`` hook);
* ``compaction``: ``{"phase": "started", "trigger": "manual"}`` when a manual
  compaction starts, and ``{"phase": "finished", "trigger": …, "entry": {…}}``
  for every ``compaction`` entry written (manual, or auto and overflow
  compaction inside a turn), or with ``"entry": null`` when there was
  nothing to compact.

Approvals: the bridge cannot ask, so a tool that needs approval (``bash``,
``edit``, ``write``; DESIGN.md section 4b) is refused unless the bridge runs
with ``--yolo``. Lime's own notices (resume warnings, summary fallbacks,
refusals) are collected for :meth:`BridgeSink.take_notes` and logged, never
written on stdout.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Callable
from typing import Any

from ..agent.approvals import Decision
from ..errors import LimeError
from ..logsetup import get_logger
from ..runtime.events import (
    ApprovalRequest,
    CompactionFinished,
    CompactionStarted,
    EntryAppended,
    Event,
    Notice,
    ShellOutput,
    TextDelta,
)

__all__ = ["BridgeSink", "Emit", "TurnFailed"]

log = get_logger()

#: ``emit(session_id, kind, fields)``: send one ``session.event`` notification.
Emit = Callable[[str, str, dict[str, Any]], None]

_PREFIX = {"info": "", "warning": "warning: ", "error": "error: "}


class BridgeSink:
    """Events of one open session as notifications (see the module docstring).

    ``session_id()`` names the session the events belong to (the runtime's
    current session; set by the bridge once the runtime exists).
    """

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self.session_id: Callable[[], str] = lambda: ""
        self.notes: list[str] = []
        self._decoders: dict[str, Any] = {}

    def take_notes(self) -> list[str]:
        """The notices since the last call (warnings, fallbacks, refusals); each is also in the program log."""
        notes, self.notes = self.notes, []
        return notes

    def event(self, kind: str, session_id: str | None = None, **fields: Any) -> None:
        self._emit(session_id or self.session_id(), kind, fields)

    def emit(self, event: Event) -> None:
        if isinstance(event, ShellOutput):
            decoder = self._decoders.get(event.stream)
            if decoder is None:
                decoder = self._decoders[event.stream] = codecs.getincrementaldecoder("utf-8")("replace")
            text = decoder.decode(event.data)
            if text:
                self.event("delta", stream=event.stream, text=text)
            return
        self.flush_output()
        if isinstance(event, TextDelta):
            self.event("delta", stream=event.stream, text=event.text)
        elif isinstance(event, EntryAppended):
            self.event("entry", event.session_id, entry=event.entry)
        elif isinstance(event, CompactionStarted):
            self.event("compaction", phase="started", trigger=event.trigger)
        elif isinstance(event, CompactionFinished) and not event.cancelled:
            self.event("compaction", phase="finished", trigger=event.trigger, entry=event.entry)
        elif isinstance(event, Notice):
            self.notes.append(_PREFIX[event.level] + event.text)
            log.log({"info": logging.INFO, "warning": logging.WARNING}.get(event.level, logging.ERROR),
                    "bridge: %s", event.text)

    def flush_output(self) -> None:
        """Send what the ``!`` output decoders hold (a character cut at the end of the output)."""
        decoders, self._decoders = self._decoders, {}
        for stream, decoder in decoders.items():
            text = decoder.decode(b"", final=True)
            if text:
                self.event("delta", stream=stream, text=text)

    def approve(self, request: ApprovalRequest) -> Decision:
        """Nobody can be asked: refuse, and tell the model it was because ``--yolo`` was not given."""
        self.emit(Notice("info", f"refused the {request.name} tool: the bridge runs such tools only with --yolo"))
        return Decision("unattended")


class TurnFailed(LimeError):
    """A model turn ended with a provider error (code 1); ``entry_ids`` were appended before it failed."""

    def __init__(self, message: str, entry_ids: list[str]) -> None:
        super().__init__(message)
        self.entry_ids = entry_ids
