"""What the runtime asks of a ``!`` shell, so a front end can bring its own (issue "The ``!`` shell is a real terminal").

Line mode and the bridge use :class:`~lime_repl.runtime.shell.PersistentShell`
(pipes, output byte for byte through the callbacks). The interactive REPL
gives :attr:`lime_repl.runtime.session.SessionRuntime.shell_factory` a factory
of its pseudo-terminal shell (:mod:`lime_repl.repl.bang`), whose runs write to
the terminal themselves and ignore the callbacks. Either result is recorded by
:func:`lime_repl.runtime.writes.record_bash`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from .shell import OutputCallback, ShellResult

__all__ = ["BangShell", "RecordedRun", "ShellFactory"]


class RecordedRun(Protocol):
    """A finished run that prepares its own log text (e.g. :class:`lime_repl.repl.ptyshell.PtyResult`).

    ``recorded(redact)`` gives ``(stdout, stderr)`` for the log, redacted
    before the head/tail cut; ``truncated_bytes`` the bytes left out of each
    (``{"stdout": n, "stderr": n}``); ``interactive`` says the command used the
    alternate screen (its stdout is then its final screen as text).
    """

    exit_code: int
    duration_ms: int
    cwd: str
    interrupted: bool
    interactive: bool

    def recorded(self, redact: Callable[[str], str] | None = None) -> tuple[str, str]: ...

    @property
    def truncated_bytes(self) -> dict[str, int]: ...


class BangShell(Protocol):
    """The persistent shell of one session's ``!`` lines, as the runtime drives it."""

    @property
    def cwd(self) -> str: ...

    @property
    def env(self) -> dict[str, str]: ...

    def start(self) -> None: ...

    def run(
        self,
        command: str,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
    ) -> ShellResult | RecordedRun: ...

    def interrupt(self) -> None: ...

    def close(self) -> object: ...


ShellFactory = Callable[[Path, dict[str, str]], BangShell]
"""Builds a front end's shell from ``(directory, environment)``; the runtime calls :meth:`BangShell.start`."""
