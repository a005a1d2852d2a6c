"""Rendering runtime events on a terminal (or line mode's stdout and stderr): text, code, tools, shell output.

:class:`TerminalSink` implements the runtime's
:class:`~lime_repl.runtime.events.Sink`. ``!`` output is passed through byte
for byte; lime's notices go to stderr. Model text goes
to stdout as it arrives, through :class:`~lime_repl.textsafe.StreamSanitizer`
(escape sequences the model wrote are dropped and other control characters
shown, so an answer can neither retitle the terminal nor leave colour on for
the next prompt; DESIGN.md section 4); when colour is on, the safe text is
rendered as Markdown block by block (:mod:`.markdown_stream`); piped output
and ``NO_COLOR`` get the model's text unchanged. Tool calls, results, reasoning and compaction notices
(one dim line when a compaction starts and one when it lands) are notices on
stderr. Approval asks on the terminal with one key (:mod:`.approval`); without
one (print mode, line mode) a tool that needs approval is refused, and the
model is told that ``--yolo`` was not given.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..plural import more_lines, plural
from ..runtime.events import EntryAppended, Notice, ShellOutput
from ..textsafe import StreamSanitizer, safe_line, safe_text
from .console import Console

if TYPE_CHECKING:
    from ..agent.approvals import Decision
    from ..runtime.agent_events import (
        ApprovalRequest,
        CompactionFinished,
        CompactionStarted,
        Recap,
        ToolFinished,
    )
    from ..runtime.events import Event
    from ..runtime.shell_io import DirectOutput

__all__ = ["TerminalSink"]


class _PassThrough:
    """The answer stream when Markdown is not rendered (no colour, or not a terminal): text as sent."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.feed = write

    def close(self) -> None:
        """Nothing is held back."""


def _summary(arguments: Mapping[str, Any]) -> str:
    for key in ("command", "path"):
        if isinstance(arguments.get(key), str):
            return str(arguments[key])
    return json.dumps(arguments, ensure_ascii=False)[:200]


class TerminalSink:
    """The REPL's, line mode's and print mode's sink: every event rendered on ``console``.

    ``can_ask``: approvals are asked on the terminal; without one (line mode,
    pipes) a tool that needs approval is refused unless ``--yolo`` was given.
    """

    def __init__(self, console: Console, *, can_ask: bool) -> None:
        self.console = console
        self.can_ask = can_ask
        self.wrote_text = False
        self._ends_with_newline = True
        self.stream: Any = _PassThrough(self._write)
        if console.color:  # a terminal with colour: Markdown rendered block by block
            from .markdown_stream import MarkdownStream

            self.stream = MarkdownStream(self._write)
        self.sanitizer = StreamSanitizer()
        self._spinner: contextlib.ExitStack | None = None
        #: Asks an approval on the terminal (the REPL sets one on its own input and output).
        self.asker: Callable[[ApprovalRequest], Decision] | None = None
        self._refused_unattended = False

    def direct_output(self, stream: str) -> DirectOutput | None:
        """Outside the interactive REPL, a ``!`` command's *stream* (``stdout``/``stderr``) straight to the
        descriptor under the console's stream, byte for byte (the copy loop may splice to it); else None."""
        console = self.console
        if console.interactive:
            return None
        text = console.stdout if stream == "stdout" else console.stderr
        try:
            fd = text.fileno()
        except (AttributeError, OSError, ValueError):  # not a file (a StringIO): the events path
            return None
        from ..runtime.shell_io import DirectOutput

        return DirectOutput(fd, text.flush)

    def emit(self, event: Event) -> None:
        console = self.console
        if isinstance(event, ShellOutput):
            (console.stdout_bytes if event.stream == "stdout" else console.stderr_bytes)(event.data)
        elif isinstance(event, Notice):
            {"info": lambda t: console.notice(t, style=event.style), "warning": console.warn, "error": console.error}[
                event.level
            ](event.text)
        elif not isinstance(event, EntryAppended):  # entries are not drawn: the events of a turn, etc.
            self._agent_event(event)

    def _agent_event(self, event: Event) -> None:
        """Draw an event of :mod:`~lime_repl.runtime.agent_events` (loaded with the first one)."""
        from ..runtime.agent_events import (
            CompactionFinished,
            CompactionStarted,
            ErrorEvent,
            MessageEnd,
            Recap,
            TextDelta,
            ToolCalled,
            ToolFinished,
        )

        console = self.console
        if isinstance(event, TextDelta):
            self._reasoning(event.text) if event.stream == "reasoning" else self._text(event.text)
        elif isinstance(event, MessageEnd):
            self._message_end()
        elif isinstance(event, ToolCalled):
            console.notice(f"● {event.name}: {_summary(event.arguments)}", style="accent")
        elif isinstance(event, ToolFinished):
            self._tool_result(event)
        elif isinstance(event, Recap):
            self._recap(event)
        elif isinstance(event, ErrorEvent):
            console.error(event.message)
        elif isinstance(event, CompactionStarted):
            self._compaction_started(event)
        elif isinstance(event, CompactionFinished):
            self._compaction_finished(event)

    def _compaction_started(self, event: CompactionStarted) -> None:
        """One dim line (not for ``/compact``, whose result says what it did), then a spinner on a terminal."""
        if event.trigger != "manual":
            size = f", {event.tokens:,} tokens" if event.tokens is not None else ""
            self.console.notice(f"compacting the context ({event.trigger}{size})…")
        if self._spinner is None:
            self._spinner = contextlib.ExitStack()
            self._spinner.enter_context(self.console.spinner("compacting"))

    def _compaction_finished(self, event: CompactionFinished) -> None:
        """One dim line with the tokens before and after (``/compact`` prints its own result)."""
        if self._spinner is not None:
            spinner, self._spinner = self._spinner, None
            spinner.close()
        if event.trigger == "manual" or event.cancelled:
            return
        entry = event.entry
        if entry is not None:
            before, after = entry.get("tokensBefore", 0), entry.get("tokensAfter", 0)
            self.console.notice(f"compacted ({event.trigger}): {before:,} → {after:,} tokens")
        else:
            self.console.notice(f"nothing to compact ({event.trigger}): the newest messages are all kept")

    def _recap(self, event: Recap) -> None:
        """A resumed session's last exchanges, on a terminal only (line mode's output stays the commands')."""
        if not self.console.interactive:
            return
        earlier = " (earlier ones not shown)" if event.earlier else ""
        self.console.notice(f"── the last {plural(event.shown, 'exchange')} of this session{earlier} ──")
        styles = {"user": "bold", "shell": "bold", "tool": "accent", "error": "error"}
        for line in event.lines:
            self.console.notice(line.text, style=styles.get(line.kind, "dim"))

    def _write(self, text: str) -> None:
        self.console.stdout.write(text)
        self.console.stdout.flush()
        self.wrote_text = True
        self._ends_with_newline = text.endswith("\n")

    def _text(self, text: str) -> None:
        safe = self.sanitizer.feed(text)
        if safe:
            self.stream.feed(safe)

    def _reasoning(self, text: str) -> None:
        if self.console.interactive:
            self.console.stderr.write(self.console.style(safe_text(text), "dim", err=True))
            self.console.stderr.flush()

    def _message_end(self) -> None:
        held = self.sanitizer.close()
        if held:
            self.stream.feed(held)
        self.stream.close()
        if self.wrote_text and not self._ends_with_newline:
            self._write("\n")
        self.wrote_text = False

    def approve(self, request: ApprovalRequest) -> Decision:
        """Ask on the terminal (one key, :mod:`.approval`); with no terminal, refuse: ``--yolo`` was not given.

        The refusal without a terminal is said on stderr once per process; the model's
        ``tool_result`` says it each time. ``KeyboardInterrupt`` (Ctrl-C) propagates: it
        refuses the call and stops the turn.
        """
        if not self.can_ask:
            from ..agent.approvals import Decision  # a turn's tool call, never a `!` line

            if not self._refused_unattended:
                self._refused_unattended = True
                self.console.warn(
                    f"{safe_line(request.name)} needs approval and there is no terminal to ask: "
                    "refused, since --yolo was not given (tools that need approval are refused in this run)"
                )
            return Decision("unattended")
        if self.asker is None:
            from .approval import ApprovalPrompt

            self.asker = ApprovalPrompt(color=self.console.err_color)
        return self.asker(request)

    def _tool_result(self, event: ToolFinished) -> None:
        first = event.content.strip().splitlines()[:1]
        line = first[0][:160] if first else "(no output)"
        if event.is_error:
            self.console.notice(f"  ✗ {line}", style="error")
        else:
            self.console.notice(f"  ✓ {line}{more_lines(event.content)}", style="dim")
