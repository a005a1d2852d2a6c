"""What a ``!`` command on the pseudo terminal leaves: :class:`PtyResult`, and :class:`BackgroundJob` at close."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .record import StreamRecorder

__all__ = ["BackgroundJob", "PtyResult"]


@dataclass
class BackgroundJob:
    """A job of the shell still running: its process group leader's pid, state and command line."""

    pid: int
    state: str
    command: str


@dataclass
class PtyResult:
    """What one :meth:`PtyShell.run` produced.

    Attributes:
        exit_code: the command's ``$?``: 130 when interrupted by Ctrl-C,
            148 when stopped by Ctrl-Z, ``N`` for ``exit N``.
        duration_ms: wall time, in milliseconds.
        cwd: the shell's working directory after the command.
        stdout: the stdout for the log: the final screen as text when
            ``interactive``, else cleaned (no ANSI sequences, carriage-return
            overwrites collapsed), capped (head and tail kept).
        stderr: the stderr for the log, cleaned and capped.
        interactive: the command used the alternate screen (a full-screen program).
        interrupted: Ctrl-C (or :meth:`PtyShell.interrupt`) ended it (``exit_code`` 130).
        ends_with_newline: the last byte written to the terminal was a newline
            (or nothing was written); when False the caller writes one before its prompt.
        restarted: bash had exited (``exit``) and a new one ran this command.
        stdout_bytes / stderr_bytes: bytes the command wrote to each terminal.
        streams: the two :class:`~lime_repl.repl.ptyshell.record.StreamRecorder`
            objects (stdout, stderr), for :meth:`recorded` with redaction.
    """

    exit_code: int
    duration_ms: int
    cwd: str
    stdout: str
    stderr: str
    interactive: bool = False
    interrupted: bool = False
    ends_with_newline: bool = True
    restarted: bool = False
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    streams: tuple[StreamRecorder, StreamRecorder] | None = field(default=None, repr=False)

    def recorded(self, redact: Callable[[str], str] | None = None) -> tuple[str, str]:
        """``(stdout, stderr)`` for the log, redacted by *redact* before the head/tail cut."""
        if self.streams is None:
            return self.stdout, self.stderr
        out, err = self.streams
        return out.recorded(redact), err.recorded(redact)

    @property
    def truncated_bytes(self) -> dict[str, int]:
        """Bytes left out of each stream's record (``{"stdout": n, "stderr": n}``; 0 for a screen)."""
        if self.streams is None:
            return {"stdout": 0, "stderr": 0}
        out, err = self.streams
        return {
            "stdout": 0 if out.used_alternate_screen else out.buffer.truncated,
            "stderr": 0 if err.used_alternate_screen else err.buffer.truncated,
        }
