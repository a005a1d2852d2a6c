"""The runtime's ``!`` shell: start it, move it, run a command and record its triple (a part of
:class:`~.session.SessionRuntime`).

:class:`ShellOperations` starts the session's one persistent shell on first
use, in :attr:`start_dir` (lime's launch directory for a new session, where
the session's shell last was for a resumed one: :mod:`.resume`), through the
front end's :data:`~.shell_port.ShellFactory` when it brings one (the
interactive REPL's pseudo terminal) or a :class:`~.shell.PersistentShell`
(pipes: line mode and the bridge). Each command's output streams to the sink
as :class:`~.events.ShellOutput`, and the exchange is recorded as the bash
triple of DESIGN.md section 4 by :func:`~.writes.record_bash`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..outputs.redact import Redactor
from ..store.records import Entry
from ..store.session import Session
from ..workspace import Workspace
from .events import Notice, Sink, output_callbacks
from .shell import PersistentShell, ShellResult
from .shell_port import BangShell, RecordedRun, ShellFactory
from .writes import ShellOutcome, record_bash

if TYPE_CHECKING:
    from ..agent.loop import Agent

__all__ = ["ShellOperations"]


class ShellOperations:
    """The ``!`` shell of a runtime; :class:`~.session.SessionRuntime` provides the session, the sink, the
    agent, ``sync``, ``observe`` and ``_record_title``."""

    workspace: Workspace
    sink: Sink
    agent: Agent | None
    session: Session | None
    shell: BangShell | None
    shell_factory: ShellFactory | None
    start_dir: Path
    redactor: Redactor | None

    @property
    def current(self) -> Session:  # pragma: no cover - SessionRuntime's
        raise NotImplementedError

    def sync(self) -> None:  # pragma: no cover - SessionRuntime's
        raise NotImplementedError

    def observe(self) -> None:  # pragma: no cover - SessionRuntime's
        raise NotImplementedError

    def _record_title(self, session: Session | None, *, closing: bool = False) -> None:  # pragma: no cover
        raise NotImplementedError

    def ensure_shell(self) -> BangShell:
        """The persistent shell, started in :attr:`start_dir` on first use (by :attr:`shell_factory`)."""
        if self.shell is None:
            env = dict(self.workspace.env)
            factory = self.shell_factory
            shell: BangShell = (
                factory(self.start_dir, env) if factory is not None else PersistentShell(self.start_dir, env=env)
            )
            shell.start()
            self.shell = shell
        return self.shell

    def shell_cwd(self) -> Path:
        """Where the user is: the shell's working directory, else :attr:`start_dir`."""
        return Path(self.shell.cwd) if self.shell is not None and self.shell.cwd else self.start_dir

    def _move_shell(self, where: Path) -> bool:
        """Make ``where`` the shell's directory: the start directory of a shell not started yet, a ``cd``
        (not recorded) for a running one; the model's tools run there too. True when a running shell moved."""
        self.start_dir = where
        if self.agent is not None:
            self.agent.tool_ctx.cwd = where
        shell = self.shell
        if shell is None:
            return False
        import shlex

        from .resume import same_dir  # what resuming needs loads with the first running shell's move

        if same_dir(shell.cwd, where):
            return False
        shell.run(f"cd -- {shlex.quote(str(where))}")
        return True

    def run_shell(self, command: str, *, context: bool = True) -> ShellOutcome:
        """Run ``command`` in the persistent shell, streaming :class:`ShellOutput`; record the bash triple.

        ``context=False`` (a ``!!command``) records it with ``shell.context: false``:
        it stays out of what the model is sent.

        Raises :class:`UsageError` for an empty command, :class:`StoreError`
        when the log refuses the triple (the command has run).
        """
        if not command:
            raise UsageError("'!' needs a command, e.g. !ls")
        self._record_title(self.session)
        shell = self.ensure_shell()
        emit = self.sink.emit
        result = shell.run(command, *output_callbacks(self.sink))
        if result.interrupted:
            emit(Notice("info", "^C interrupted; the command was recorded as cancelled"))
        entries = self._record_bash(command, result, context)
        self.sync()
        self.observe()
        return ShellOutcome([str(e["id"]) for e in entries], result.exit_code, result.cwd, result.interrupted)

    #: The redactor and the shell environment it last learned from (most commands export nothing).
    _learned: tuple[Redactor, dict[str, str]] | None = None

    def _record_bash(self, command: str, result: ShellResult | RecordedRun, context: bool) -> list[Entry]:
        scrub = self.redactor
        if scrub is not None and self.shell is not None:
            env = self.shell.env
            if self._learned is None or self._learned[0] is not scrub or self._learned[1] != env:
                scrub.learn(env)  # secrets exported by this command are known from now on
                self._learned = (scrub, env)
        return record_bash(self.current, command, result, scrub, context=context)
