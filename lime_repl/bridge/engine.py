"""One session opened by the bridge: the REPL's controller with its output turned into events.

:class:`SessionEngine` is a :class:`~lime_repl.repl.controller.Controller`
(session, persistent shell, agent, context keeper, model record, redaction,
all shared with the REPL and line mode) whose output goes to an ``emit``
callback as ``session.event`` notification params instead of a terminal:

* ``delta``: ``{"stream": "stdout"|"stderr"|"assistant"|"reasoning", "text": …}``
  while a ``!`` command or a model turn runs (``!`` output is decoded as
  UTF-8 with replacement characters; a character split between reads is kept
  whole);
* ``entry``: ``{"entry": {…}}`` for every entry appended to the log, in log
  order, before the call's response;
* ``compaction``: ``{"phase": "started", "trigger": "manual"}`` when
  ``session.compact`` starts, and ``{"phase": "finished", "trigger": …,
  "entry": {…}}`` for every ``compaction`` entry written (manual, or auto and
  overflow compaction inside a turn).

Approvals: the bridge cannot ask, so a tool that needs approval (``bash``,
``edit``, ``write``; DESIGN.md section 4b) is refused unless the bridge runs
with ``--yolo``. Lime's own notices (resume warnings, summary fallbacks) are
collected for :meth:`SessionEngine.take_notes` and logged, never printed on stdout.
"""

from __future__ import annotations

import codecs
import logging
import sys
from collections.abc import Callable, Mapping
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LimeError, StoreError
from ..repl.console import Console
from ..repl.controller import NO_PROVIDER_HINT, Controller
from ..store.records import Entry
from ..store.segments import WriteFailed
from ..store.session import Session
from ..workspace import Workspace

if TYPE_CHECKING:
    from ..agent.tools.base import ToolResult

__all__ = ["Emit", "EventUI", "SessionEngine", "TurnFailed"]

log = logging.getLogger("lime")

#: ``emit(session_id, kind, fields)``: send one ``session.event`` notification.
Emit = Callable[[str, str, dict[str, Any]], None]


class _NoteConsole(Console):
    """A console that keeps lime's notices in a list (and the program log) instead of printing them."""

    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__(sys.stderr, sys.stderr, interactive=False, env=env)
        self.notes: list[str] = []

    def notice(self, text: str, style: str = "dim") -> None:
        self.notes.append(text)
        log.info("bridge: %s", text)

    def warn(self, text: str) -> None:
        self.notes.append(f"warning: {text}")
        log.warning("bridge: %s", text)

    def error(self, text: str) -> None:
        self.notes.append(f"error: {text}")
        log.error("bridge: %s", text)

    def out(self, text: str = "", style: str | None = None) -> None:
        self.notes.append(text)


class EventUI:
    """The agent loop's :class:`~lime_repl.agent.loop.TurnUI` for the bridge: deltas and entries as events.

    ``approve`` answers ``"n"``: without ``--yolo`` the bridge refuses tools
    that need approval (with ``--yolo`` the loop never asks).
    """

    def __init__(self, engine: SessionEngine) -> None:
        self.engine = engine

    def on_text(self, text: str) -> None:
        self.engine.flush_entries()
        if text:
            self.engine.event("delta", stream="assistant", text=text)

    def on_reasoning(self, text: str) -> None:
        self.engine.flush_entries()
        if text:
            self.engine.event("delta", stream="reasoning", text=text)

    def on_message_end(self) -> None:
        self.engine.flush_entries()

    def on_tool_call(self, name: str, arguments: Mapping[str, Any]) -> None:
        self.engine.flush_entries()

    def approve(self, name: str, arguments: Mapping[str, Any]) -> str:
        self.engine.console.notice(f"refused the {name} tool: the bridge runs such tools only with --yolo")
        return "n"

    def on_tool_result(self, name: str, result: ToolResult) -> None:
        self.engine.flush_entries()


class SessionEngine(Controller):
    """A controller for one bridge session; ``emit`` receives its events (see the module docstring).

    Build it, then give it a session with :meth:`start_new`, :meth:`open` or
    :meth:`adopt`. Every method may raise a :class:`~lime_repl.errors.LimeError`.
    """

    def __init__(
        self,
        workspace: Workspace,
        emit: Emit,
        *,
        provider: str | None = None,
        model: str | None = None,
        yolo: bool = False,
    ) -> None:
        console = _NoteConsole(workspace.env)
        super().__init__(workspace, console, provider=provider, model=model, yolo=yolo)
        self._console = console
        self._emit = emit
        self._seen = 0

    # -- the session -----------------------------------------------------
    def take_notes(self) -> list[str]:
        """The notices since the last call (warnings, fallbacks, refusals); each is also in the program log."""
        notes, self._console.notes = self._console.notes, []
        return notes

    @property
    def current(self) -> Session:
        assert self.session is not None, "the engine has no session yet"
        return self.session

    def start_new(self, title: str | None = None) -> Session:
        """Create a session in the workspace's directory (header written now), titled ``title``."""
        session = self.new_session()
        self._seen = len(session.entries)
        if title:
            self._write(lambda: session.rename(title))
        return session

    def open(self, path: Path) -> Session:
        """Resume ``path`` as its writer (raises SessionLockedError, exit code 3, when it is held)."""
        session = self.resume(path)
        self._seen = len(session.entries)
        return session

    def adopt(self, session: Session) -> Session:
        """Take over a session opened elsewhere (a fork or clone written by the workspace)."""
        self._switch(session)
        self._system_prompt()
        self._seen = len(session.entries)
        return session

    # -- events ----------------------------------------------------------
    def event(self, kind: str, **fields: Any) -> None:
        self._emit(self.current.session_id, kind, fields)

    def flush_entries(self) -> list[str]:
        """Send an ``entry`` event for each entry appended since the last flush; returns their ids."""
        entries = self.current.entries
        if len(entries) == self._seen:
            return []
        new = list(islice(entries.values(), self._seen, None))
        self._seen = len(entries)
        for entry in new:
            self.event("entry", entry=entry)
            if entry.get("type") == "compaction":
                self.event("compaction", phase="finished", trigger=entry.get("trigger"), entry=entry)
        return [str(e.get("id")) for e in new]

    def _write(self, action: Callable[[], Entry]) -> Entry:
        try:
            entry = action()
        except WriteFailed as exc:
            raise StoreError(str(exc)) from None
        self.flush_entries()
        return entry

    # -- the calls -------------------------------------------------------
    def bang(self, command: str) -> dict[str, Any]:
        """Run ``command`` in the persistent shell, streaming ``delta`` events; record the bash triple.

        Returns ``{"entryIds": [3 ids], "exitCode": n, "cwd": dir}`` plus
        ``"cancelled": true`` when SIGINT interrupted it (exit code 130).
        """
        self.take_notes()
        shell = self.ensure_shell()
        out, err = _Decoder(self, "stdout"), _Decoder(self, "stderr")
        result = shell.run(command, on_stdout=out.feed, on_stderr=err.feed)
        out.close()
        err.close()
        self.record_bash(command, result)
        ids = self.flush_entries()
        self.sync()
        self.observe()
        reply: dict[str, Any] = {"entryIds": ids, "exitCode": result.exit_code, "cwd": result.cwd}
        if result.interrupted:
            reply["cancelled"] = True
        return reply

    def message(self, text: str) -> dict[str, Any]:
        """One model turn for ``text``; ``{"entryIds", "text", "cancelled"}``.

        Raises :class:`LimeError` (code 1) with the CLI's line when no provider
        is configured (nothing is recorded), and with the provider's error line
        when the turn failed (what was appended is named in ``data``).
        """
        if self.agent is None:
            raise LimeError(NO_PROVIDER_HINT)
        self.take_notes()
        session = self.current
        if self.shell is not None:
            self.agent.tool_ctx.cwd = Path(self.shell.cwd)
        self.keeper  # noqa: B018 - builds and starts the keeper, attaches it to the agent
        before = len(session.entries)
        try:
            if not self._model_recorded:
                self._record_model()
            outcome = self.agent.run_turn(session, text, EventUI(self))
        except WriteFailed as exc:
            raise StoreError(f"{exc.strerror or exc}; the turn was not fully recorded") from None
        finally:
            self.flush_entries()
            self.sync()
        self.observe()
        ids = [str(e.get("id")) for e in islice(session.entries.values(), before, None)]
        if outcome.error:
            raise TurnFailed(outcome.error, ids)
        return {"entryIds": ids, "text": outcome.text, "cancelled": outcome.status == 130}

    def compact(self, hint: str | None) -> Entry | None:
        """Compact the active branch now (``trigger: "manual"``); the entry, or None when nothing to compact."""
        self.take_notes()
        keeper = self.keeper
        self.event("compaction", phase="started", trigger="manual")
        try:
            keeper.wait_idle(300)
            entry = keeper.compact_now(self.current, "manual", hint)
        except WriteFailed as exc:
            raise StoreError(str(exc)) from None
        finally:
            self.flush_entries()
        if entry is None:
            self.event("compaction", phase="finished", trigger="manual", entry=None)
        self.sync()
        return entry

    def set_leaf(self, entry_id: str | None) -> Entry:
        return self._write(lambda: self.current.set_leaf(entry_id))

    def label(self, entry_id: str, label: str | None) -> Entry:
        return self._write(lambda: self.current.label(entry_id, label))

    def rename(self, title: str | None) -> Entry:
        return self._write(lambda: self.current.rename(title))


class TurnFailed(LimeError):
    """A model turn ended with a provider error (code 1); ``entry_ids`` were appended before it failed."""

    def __init__(self, message: str, entry_ids: list[str]) -> None:
        super().__init__(message)
        self.entry_ids = entry_ids


class _Decoder:
    """Turns one stream's byte chunks into ``delta`` events of whole UTF-8 characters."""

    def __init__(self, engine: SessionEngine, stream: str) -> None:
        self.engine = engine
        self.stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, chunk: bytes) -> None:
        text = self._decoder.decode(chunk)
        if text:
            self.engine.event("delta", stream=self.stream, text=text)

    def close(self) -> None:
        text = self._decoder.decode(b"", final=True)
        if text:
            self.engine.event("delta", stream=self.stream, text=text)
