"""The terminal front end of one running lime: input lines to runtime operations, results to the console.

The interactive REPL and line mode share this object; the session itself
(its log, shell, agent and keeper) is the
:class:`~lime_repl.runtime.session.SessionRuntime`, whose events the
:class:`~lime_repl.repl.render.TerminalSink` renders. A line is a
``!command`` (:meth:`SessionRuntime.run_shell`; ``!!command`` is recorded
with ``shell.context: false``, out of the model's context), a ``/command`` (the
registry in :mod:`lime_repl.runtime.commands`; the full-screen forms in
:mod:`.terminal_cmds`) or text for the model (:meth:`SessionRuntime.send_message`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import LimeError
from ..runtime.session import SessionRuntime
from .console import Console
from .render import TerminalSink

if TYPE_CHECKING:  # a `!` line loads neither the command registry nor the full-screen forms
    from ..runtime.commands import CommandResult
    from ..workspace import Workspace

__all__ = ["Controller"]


class Controller:
    """Line dispatch and rendering for one lime process (see the module docstring).

    ``running`` turns False at ``/quit``; ``last_status`` is the status of the
    last line (line mode's exit status); ``next_input`` is text to put in the
    next prompt (set by ``/tree`` and ``/fork``).
    """

    def __init__(self, runtime: SessionRuntime, console: Console, sink: TerminalSink) -> None:
        self.runtime = runtime
        self.console = console
        self.sink = sink
        self.running = True
        self.last_status = 0
        self.next_input: str | None = None

    @classmethod
    def start(
        cls,
        workspace: Workspace,
        console: Console,
        *,
        can_ask: bool = False,
        ephemeral: bool = False,
        provider: str | None = None,
        model: str | None = None,
        yolo: bool = False,
    ) -> Controller:
        """A front end on ``console`` with its own :class:`TerminalSink` and runtime (no session yet)."""
        sink = TerminalSink(console, can_ask=can_ask)
        runtime = SessionRuntime.start(
            workspace, sink, ephemeral=ephemeral, provider=provider, model=model, yolo=yolo
        )
        return cls(runtime, console, sink)

    def handle_line(self, line: str) -> int:
        """Handle one input line; returns its status (the exit code of a ``!`` command, 0/1/2 otherwise)."""
        text = line.rstrip("\r\n")
        stripped = text.strip()
        if not stripped:
            return self.last_status
        synced = False  # run_shell syncs the log and hands the keeper its snapshot itself
        try:
            if stripped.startswith("!!"):  # kept out of the model's context
                status = self.runtime.run_shell(stripped[2:].strip(), context=False).exit_code
                synced = True
            elif stripped.startswith("!"):
                status = self.runtime.run_shell(stripped[1:].strip()).exit_code
                synced = True
            elif stripped.startswith("/"):
                status = self.run_command(stripped)
            else:
                status = self.send_text(text)
        except LimeError as exc:
            self.console.error(exc.message)
            status = exc.exit_code
        self.last_status = status
        if not synced:
            self.runtime.sync()
            self.runtime.observe()
        return status

    def run_command(self, line: str) -> int:
        """Run a slash command (its full-screen form in the interactive REPL) and render its result."""
        from ..runtime.commands import REGISTRY
        from .terminal_cmds import TERMINAL_FORMS

        command, args = REGISTRY.split(line)
        result: CommandResult | None = None
        if self.console.interactive and command.needs_terminal:
            result = TERMINAL_FORMS[command.name](self, args)
        if result is None:
            result = REGISTRY.dispatch(self.runtime, line, can_prefill=self.console.interactive)
        return self.render(result)

    def render(self, result: CommandResult) -> int:
        """Show a command's result: lines and table on stdout, notices on stderr; apply its prefill and quit.

        The table is laid out to the terminal's width in the interactive REPL,
        as plain aligned text in line mode (:mod:`lime_repl.repl.table`).
        """
        for text in result.lines:
            self.console.out(text)
        if result.table is not None:
            from .table import plain_lines, terminal_lines

            if self.console.interactive:
                import shutil

                rows = terminal_lines(result.table, shutil.get_terminal_size().columns)
            else:
                rows = plain_lines(result.table)
            for text in rows:
                self.console.out(text)
        for text in result.notices:
            self.console.notice(text)
        if result.prefill is not None:
            self.next_input = result.prefill
        if result.quit:
            self.running = False
            return self.last_status
        return result.status

    def send_text(self, text: str) -> int:
        """A message for the model; the turn's status (130 cancelled, 1 provider error)."""
        outcome = self.runtime.send_message(text)
        if outcome.status == 130:
            self.console.notice("^C cancelled; the partial answer was recorded")
        if outcome.error:
            self.console.error(outcome.error)
        return outcome.status
