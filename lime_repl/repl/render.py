"""Rendering runtime events on a terminal (or line mode's stdout and stderr): text, code, tools, shell output.

:class:`TerminalSink` implements the runtime's
:class:`~lime_repl.runtime.events.Sink`. ``!`` output is passed through byte
for byte; lime's notices go to stderr. Model text goes
to stdout as it arrives, through :class:`~lime_repl.textsafe.StreamSanitizer`
(escape sequences the model wrote are dropped and other control characters
shown, so an answer can neither retitle the terminal nor leave colour on for
the next prompt; DESIGN.md section 4); when colour is on, the safe text is
rendered as Markdown block by block (:mod:`.markdown_stream`); piped output
and ``NO_COLOR`` get the model's text unchanged. Tool calls, results and reasoning are notices
on stderr. Approval asks on the terminal; without one (line mode, pipes) a
tool that needs approval is refused unless ``--yolo`` was given.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from ..plural import more_lines, plural
from ..runtime.events import (
    ApprovalRequest,
    CompactionFinished,
    CompactionStarted,
    ErrorEvent,
    Event,
    MessageEnd,
    Notice,
    Recap,
    ShellOutput,
    TextDelta,
    ToolCalled,
    ToolFinished,
)
from ..textsafe import StreamSanitizer, safe_line, safe_text
from .console import Console

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

    def emit(self, event: Event) -> None:
        console = self.console
        if isinstance(event, ShellOutput):
            (console.stdout_bytes if event.stream == "stdout" else console.stderr_bytes)(event.data)
        elif isinstance(event, TextDelta):
            self._reasoning(event.text) if event.stream == "reasoning" else self._text(event.text)
        elif isinstance(event, MessageEnd):
            self._message_end()
        elif isinstance(event, ToolCalled):
            console.notice(f"● {event.name}: {_summary(event.arguments)}", style="accent")
        elif isinstance(event, ToolFinished):
            self._tool_result(event)
        elif isinstance(event, Notice):
            {"info": lambda t: console.notice(t, style=event.style), "warning": console.warn, "error": console.error}[
                event.level
            ](event.text)
        elif isinstance(event, Recap):
            self._recap(event)
        elif isinstance(event, ErrorEvent):
            console.error(event.message)
        elif isinstance(event, CompactionStarted):
            self._spinner = contextlib.ExitStack()
            self._spinner.enter_context(console.spinner("compacting"))
        elif isinstance(event, CompactionFinished) and self._spinner is not None:
            spinner, self._spinner = self._spinner, None
            spinner.close()

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

    def approve(self, request: ApprovalRequest) -> str:
        name = request.name
        if not self.can_ask:
            self.console.warn(f"{name} needs approval and there is no terminal to ask; refused (--yolo allows it)")
            return "n"
        while True:
            self.console.stderr.write(f"allow {safe_line(name)}? [y]es / [n]o / [a]lways this session: ")
            self.console.stderr.flush()
            try:
                answer = sys.stdin.readline()
            except KeyboardInterrupt:
                self.console.stderr.write("\n")
                return "n"
            if not answer:
                return "n"
            choice = answer.strip().lower()[:1]
            if choice in ("y", "n", "a"):
                return choice

    def _tool_result(self, event: ToolFinished) -> None:
        first = event.content.strip().splitlines()[:1]
        line = first[0][:160] if first else "(no output)"
        if event.is_error:
            self.console.notice(f"  ✗ {line}", style="error")
        else:
            self.console.notice(f"  ✓ {line}{more_lines(event.content)}", style="dim")
