"""The interactive REPL's ``!`` shell: :class:`TerminalShell`, the runtime's shell on a pseudo terminal.

The runtime (:class:`~lime_repl.runtime.session.SessionRuntime`) records a
``!`` line and knows nothing of terminals; the REPL hands it this shell
through :attr:`~lime_repl.runtime.session.SessionRuntime.shell_factory`
(:func:`install`). Each run goes to :class:`~lime_repl.repl.ptyshell.PtyShell`
with lime's own terminal (fds 0 and 1):

* hand-over: prompt-toolkit's prompt has returned (the line was accepted), so
  lime's terminal is in its cooked settings; whatever lime has buffered is
  flushed, then :meth:`PtyShell.run` puts the terminal in raw mode and copies
  keys in and output out until the command ends;
* take-back: :meth:`PtyShell.run` leaves the alternate screen, shows the
  cursor, resets the scroll region and attributes and restores the termios
  settings; this module then makes the screen tell the truth in at most two
  lines: a newline when the output did not end with one (so it does not join
  the prompt), a dim ``exit N`` after a non-zero status, and one line when bash
  itself exited (``exit``, ``set -e``), saying the next ``!`` line starts a new
  one. The next ``prompt()`` draws a fresh prompt below.

At :meth:`TerminalShell.close` (lime's exit) the background jobs still
running are listed on stderr and hung up the way bash's ``huponexit`` would
hang them up when its terminal goes away: SIGHUP then SIGCONT to each job's
process group; ``nohup`` and ``disown``-ed jobs survive.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..plural import plural
from ..runtime.shell import OutputCallback
from .console import Console
from .ptyshell import BackgroundJob, PtyResult, PtyShell

if TYPE_CHECKING:
    from ..runtime.session import SessionRuntime

__all__ = ["TerminalShell", "install", "jobs_notice"]


class TerminalShell:
    """A :class:`~lime_repl.runtime.shell_port.BangShell` over :class:`PtyShell` that shows what happened.

    Args:
        cwd, env: where and with what environment bash starts.
        console: where the closing lines go (stdout/stderr of lime's terminal).
        rc: take the ``~/.bashrc`` snapshot (config ``shell.rc``, default true).
        stdin_fd, stdout_fd: lime's terminal (keys in, output out).
    """

    def __init__(
        self,
        cwd: Path,
        env: dict[str, str],
        console: Console,
        *,
        rc: bool = True,
        stdin_fd: int = 0,
        stdout_fd: int = 1,
    ) -> None:
        self.engine = PtyShell(cwd, env, rc=rc)
        self._console = console
        self._fds = (stdin_fd, stdout_fd)

    @property
    def cwd(self) -> str:
        """The shell's working directory after the last command."""
        return self.engine.cwd

    @property
    def env(self) -> dict[str, str]:
        """The exported environment after the last command."""
        return self.engine.env

    @property
    def snapshot(self) -> str:
        """The rc snapshot (for completion of aliases and functions)."""
        return self.engine.snapshot

    def start(self) -> None:
        """Take the rc snapshot and start bash (OSError when bash cannot run)."""
        self.engine.start()

    def run(
        self,
        command: str,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
    ) -> PtyResult:
        """Run *command* on the terminal (the callbacks are not called: output goes to the terminal itself)."""
        console = self._console
        for stream in (console.stdout, console.stderr):
            stream.flush()
        result = self.engine.run(command, *self._fds)
        if not result.ends_with_newline:
            console.stdout.write("\n")
            console.stdout.flush()
        if result.exit_code and not result.interrupted:
            console.notice(f"exit {result.exit_code}", style="dim")
        if self.engine.pid is None:
            console.notice(f"the shell exited (status {result.exit_code}); the next ! line starts a new one in {self.cwd}")
        return result

    def interrupt(self) -> None:
        """SIGINT to the running command's process group."""
        self.engine.interrupt()

    def close(self) -> list[BackgroundJob]:
        """End bash, hanging up its background jobs; say on stderr which were still running."""
        jobs = self.engine.close(hangup=True)
        notice = jobs_notice(jobs)
        if notice:
            self._console.notice(notice, style="warn")
        return jobs


def jobs_notice(jobs: list[BackgroundJob]) -> str | None:
    """The exit line for background jobs still running (None for none), e.g. ``1 background job ...``."""
    if not jobs:
        return None
    names = "; ".join(f"[{job.pid}] {job.command}" for job in jobs)
    return (
        f"{plural(len(jobs), 'background job')} still running: {names}; "
        "sent SIGHUP as bash does when its terminal closes (nohup and disown-ed jobs keep running)"
    )


def install(runtime: SessionRuntime, console: Console) -> bool:
    """Give *runtime* the pseudo-terminal shell when lime's stdin and stdout are a terminal; True if done.

    ``shell.rc = false`` in config turns the ``~/.bashrc`` snapshot off.
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    rc = runtime.workspace.config.get("shell.rc", True) is not False
    runtime.shell_factory = lambda cwd, env: TerminalShell(
        cwd, env, console, rc=rc, stdin_fd=sys.stdin.fileno(), stdout_fd=sys.stdout.fileno()
    )
    return True
