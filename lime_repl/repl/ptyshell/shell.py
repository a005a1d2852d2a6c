r"""The persistent bash of the interactive REPL's ``!`` lines, on a real pseudo terminal.

One ``bash --norc --noprofile --noediting -i`` per session, so ``cd``,
``export``, variables, functions, aliases and options persist between lines.

Terminals
    bash runs in its own session with the slave of pseudo terminal *A* as its
    controlling terminal and its stdout, and, after start-up, the slave of a
    second pseudo terminal *B* as its stderr (fd 2; fd 60 keeps it too). Job
    control is on (an interactive bash), so each pipeline is a job in its own
    process group, made *A*'s foreground group: Ctrl-C, Ctrl-Z and Ctrl-D
    reach it through *A*'s line discipline as they would in bash, and
    programs that open ``/dev/tty`` (less, sudo, git's pager) get *A*. Every
    command runs with stdin, stdout and stderr terminals (``[ -t 0 ]``,
    ``[ -t 1 ]``, ``[ -t 2 ]`` are true); the two masters are read apart, so
    stdout and stderr reach the log apart (:class:`PtyResult`). Programs that
    set modes and read keys on stderr (less) are followed: see
    :meth:`lime_repl.repl.ptyshell.relay.Relay._sync_modes`. ``COLUMNS`` and
    ``LINES`` are bash's own (``checkwinsize``).

Control channel
    bash reads its commands from a pipe (its stdin), one line each:
    ``__lime_cmd='<text, single-quoted>'; \builtin eval "$__lime_cmd"
    0</dev/tty``, the framing of
    :class:`lime_repl.runtime.shell.PersistentShell`. Each ``!`` line is read
    as its own line, so an alias defined by one is expanded in the next, and
    error messages are an interactive bash's (``bash: ll: command not
    found``, no ``line 1:`` prefix). After every line bash runs
    ``PROMPT_COMMAND``: it writes a marker (``OSC 5379 ; <token> BEL``) on
    *A* and on *B*, then the record ``S<status>\0<$PWD>\0``, each exported
    variable as ``NAME=value\0``, and ``\0`` on a status pipe (fd 63). The
    run is over when the record and both markers are in; the markers (which
    are never shown) make sure all the command's output has been read off the
    masters first. ``PROMPT_COMMAND``, ``PS1``, ``PS2``, ``__lime_*`` and fds
    60 and 63 are reserved; history and ``!`` history expansion are off.

``exit`` and a dead shell
    The EXIT trap writes ``X<status>\0<$PWD>\0`` and the environment; the next
    :meth:`PtyShell.run` starts a new bash in that directory with that
    environment, and its result says ``restarted``.

Background jobs at close
    :meth:`PtyShell.close` returns the jobs still running (``jobs -l``) and,
    by default, sends each job's process group SIGHUP then SIGCONT, as bash
    does to its jobs when its terminal hangs up (closing a terminal window):
    lime's exit is the terminal going away. ``nohup`` and ``disown``-ed jobs
    survive, as there. ``close(hangup=False)`` leaves them alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import secrets
import signal
import subprocess
import termios
from collections.abc import Mapping
from pathlib import Path

from ...outputs.capping import DEFAULT_LIMIT
from ...runtime.child_signals import reset_in_child
from .rc import take_snapshot
from .relay import Relay
from .result import BackgroundJob, PtyResult

__all__ = ["BackgroundJob", "PtyResult", "PtyShell"]

_STATUS_FD, _ERR_FD = 63, 60
_READ = 65536
_JOB_LINE = re.compile(r"^\[\d+\][+-]?\s+(\d+)\s+(\S+)\s+(.*?)\s*$")
_PRELUDE = r"""exec {err}>&- {status}>&-; exec 2>&60; PS1=; PS2=; set +H +o history; unset HISTFILE
__lime_env() {{
  local __lime_n IFS=$' \t\n'
  for __lime_n in $(compgen -e); do
    [[ -v $__lime_n ]] && builtin printf '%s=%s\0' "$__lime_n" "${{!__lime_n}}" >&63
  done
  builtin printf '\0' >&63
}}
__lime_done() {{
  builtin printf '{marker}' >/dev/tty; builtin printf '{marker}' >&60
  builtin printf 'S%d\0%s\0' "$1" "$PWD" >&63; __lime_env
}}
__lime_exit() {{ local __lime_s=$?; builtin printf 'X%d\0%s\0' "$__lime_s" "$PWD" >&63; __lime_env; }}
__lime_jobs() {{ builtin printf J >&63; builtin jobs -l >&63; builtin printf '\0' >&63; }}
trap __lime_exit EXIT
"""
_READY = "shopt -s expand_aliases checkwinsize; PROMPT_COMMAND='__lime_done $?'\n"


class PtyShell:
    """A long-lived bash on pseudo terminals for one session's ``!`` lines; see the module docstring.

    Args:
        cwd: the directory bash starts in.
        env: bash's environment (default: a copy of ``os.environ``); ``TERM`` is
            what programs are told the terminal is (``xterm-256color`` if unset).
        rc: load the user's aliases, functions and ``shopt`` options from a
            snapshot of an interactive bash (:func:`lime_repl.repl.ptyshell.rc.take_snapshot`,
            taken once, at :meth:`start`); the REPL passes ``shell.rc`` from config.
        output_limit: bytes kept at the head and at the tail of each stream.
        shell: the bash executable.
    """

    def __init__(
        self,
        cwd: str | Path,
        env: Mapping[str, str] | None = None,
        *,
        rc: bool = True,
        output_limit: int = DEFAULT_LIMIT,
        shell: str = "bash",
    ) -> None:
        self._cwd = os.path.abspath(os.fspath(cwd))
        self._env = dict(os.environ if env is None else env)
        self._env.setdefault("TERM", "xterm-256color")
        self._rc = rc
        self._snapshot: str | None = None
        self._limit = output_limit
        self._shell = shell
        self._proc: subprocess.Popen[bytes] | None = None
        self._fds: dict[str, int] = {}
        self._marker = b""
        self._relay: Relay | None = None
        self._started = False

    def __enter__(self) -> PtyShell:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def cwd(self) -> str:
        """The shell's working directory as of the last command (absolute)."""
        return self._cwd

    @property
    def env(self) -> dict[str, str]:
        """The exported environment as reported after the last command (a copy)."""
        return dict(self._env)

    @property
    def snapshot(self) -> str:
        """The rc snapshot fed to bash at start-up ("" when ``rc`` is off, not started yet, or it failed)."""
        return self._snapshot or ""

    @property
    def pid(self) -> int | None:
        """Pid of the running bash, or None."""
        return None if self._proc is None else self._proc.pid

    def start(self) -> None:
        """Take the rc snapshot (once) and start bash; a no-op when started. Raises OSError if bash cannot run."""
        if self._started:
            return
        if self._rc and self._snapshot is None:
            self._snapshot = take_snapshot(self._env, cwd=self._cwd, shell=self._shell)
        self._spawn()
        self._started = True

    def run(
        self,
        command: str,
        stdin_fd: int | None = 0,
        stdout_fd: int = 1,
    ) -> PtyResult:
        """Run *command* (bash syntax, as typed) on the pseudo terminal, handing it lime's terminal.

        *stdin_fd* and *stdout_fd* are lime's own terminal (keys are read from
        the one, the command's output written to the other). While the
        command runs, *stdin_fd* is in raw mode and the pseudo terminals have
        *stdout_fd*'s size (followed on SIGWINCH when called from the main
        thread); afterwards the termios settings and the screen modes the
        command left set are restored (:mod:`lime_repl.repl.ptyshell.terminal`).
        *stdin_fd* None (or not a terminal) gives the command no keys.

        Raises:
            RuntimeError: the shell is not started.
            ValueError: *command* contains NUL.
        """
        if "\0" in command:
            raise ValueError("a shell command cannot contain a NUL character")
        if not self._started:
            raise RuntimeError("the shell is not started; call start() first")
        restarted = False
        if self._proc is None or self._proc.poll() is not None:
            self._teardown()
            self._spawn()
            restarted = True
        raw = command.encode("utf-8", "surrogateescape")
        relay = self._relay
        assert relay is not None
        result, status = relay.run(_frame(raw), stdin_fd, stdout_fd)
        code, dead = self._apply_status(status)
        if dead:
            self._reap()
        result.exit_code = code
        result.interrupted = result.interrupted and code == 130
        result.cwd = self._cwd
        result.restarted = restarted
        return result

    def interrupt(self) -> None:
        """Send SIGINT to the foreground process group of the command's terminal (a no-op when idle)."""
        if self._relay is not None:
            self._relay.interrupt()

    def jobs(self) -> list[BackgroundJob]:
        """The shell's jobs still running or stopped (``jobs -l``); [] when bash is not running."""
        if self._proc is None or self._proc.poll() is not None or self._relay is None:
            return []
        _, status = self._relay.run(b"__lime_jobs\n", None, None, quiet=True)
        self._apply_status(status)
        text = os.fsdecode(status[1 : status.find(b"\0")]) if status[:1] == b"J" else ""
        found = []
        for line in text.splitlines():
            match = _JOB_LINE.match(line)
            if match and match.group(2) != "Done" and not match.group(2).startswith("Exit"):
                found.append(BackgroundJob(int(match.group(1)), match.group(2), match.group(3)))
        return found

    def close(self, *, hangup: bool = True) -> list[BackgroundJob]:
        """End bash; return the background jobs that were still running.

        With *hangup* (the default) each job's process group gets SIGHUP and
        SIGCONT first (bash's behaviour on a terminal hang-up); without, jobs
        are left running. Idempotent.
        """
        jobs: list[BackgroundJob] = []
        if self._started and self._proc is not None:
            with contextlib.suppress(OSError):
                jobs = self.jobs()
            if hangup:
                for job in jobs:
                    for sig in (signal.SIGHUP, signal.SIGCONT):
                        with contextlib.suppress(OSError):
                            os.killpg(job.pid, sig)
        self._started = False
        control = self._fds.pop("control", None)
        if control is not None:
            with contextlib.suppress(OSError):
                os.write(control, b"trap - EXIT; exit 0\n")
            os.close(control)
        self._teardown()
        return jobs

    # -- internals ---------------------------------------------------------

    def _spawn(self) -> None:
        cwd = next((str(p) for p in (Path(self._cwd), *Path(self._cwd).parents) if p.is_dir()), os.sep)
        out_master, out_slave = pty.openpty()
        err_master, err_slave = pty.openpty()
        control_r, control_w = os.pipe()
        status_r, status_w = os.pipe()
        err_fd, status_fd = _high(err_slave), _high(status_w)
        os.close(status_w)
        for fd in (out_master, err_master, err_slave, control_w, status_r):
            os.set_inheritable(fd, False)
        for fd in (out_master, err_master, status_r):
            os.set_blocking(fd, False)
        try:
            proc = subprocess.Popen(
                [self._shell, "--norc", "--noprofile", "--noediting", "-i"],
                stdin=control_r,
                stdout=out_slave,
                stderr=out_slave,
                pass_fds=(err_fd, status_fd),
                cwd=cwd,
                env=self._env,
                start_new_session=True,
                preexec_fn=reset_in_child(_take_terminal),  # noqa: PLW1509 - a controlling terminal needs TIOCSCTTY in the child
            )
        except BaseException:
            for fd in (
                out_master,
                out_slave,
                err_master,
                err_slave,
                err_fd,
                control_r,
                control_w,
                status_r,
                status_fd,
            ):
                os.close(fd)
            raise
        os.close(control_r)
        os.close(err_fd)
        os.close(status_fd)
        self._proc, self._cwd = proc, cwd
        self._marker = b"\x1b]5379;" + secrets.token_hex(8).encode() + b"\x07"
        self._fds = {
            "control": control_w,
            "out": out_master,
            "err": err_master,
            "status": status_r,
            "out_slave": out_slave,
            "err_slave": err_slave,
        }
        with contextlib.suppress(AttributeError, OSError):
            self._fds["pidfd"] = os.pidfd_open(proc.pid)
        # The second terminal gets the first's settings (the line discipline's defaults).
        with contextlib.suppress(termios.error):
            termios.tcsetattr(err_slave, termios.TCSANOW, termios.tcgetattr(out_slave))
        self._relay = Relay(self._fds, proc, self._marker, self._limit)
        marker = self._marker.decode().replace("\x1b", r"\e").replace("\x07", r"\a")
        script = (
            f"exec 60>&{err_fd} 63>&{status_fd}\n"
            + _PRELUDE.format(err=err_fd, status=status_fd, marker=marker)
            + (self._snapshot or "")
            + "\n"
            + _READY
        )
        self._relay.run(script.encode(), None, None, quiet=True)  # start-up output is discarded

    def _apply_status(self, status: bytes) -> tuple[int, bool]:
        """Apply the status record (cwd, env); return (exit code, bash has exited)."""
        if status[:1] == b"J":
            status = status[status.find(b"\0") + 1 :]
        if status[:1] not in (b"S", b"X"):
            return self._exit_code(), True
        fields = status.split(b"\0")
        code = int(fields[0][1:] or b"0")
        if len(fields) > 1 and fields[1]:
            self._cwd = os.fsdecode(fields[1])
        if b"" in fields[2:]:
            items = (os.fsdecode(item).partition("=") for item in fields[2 : fields.index(b"", 2)])
            self._env = {name: value for name, _, value in items}
        return code, status[:1] == b"X"

    def _exit_code(self) -> int:
        proc = self._proc
        if proc is None:
            return 1
        try:
            code = proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait()
        return code if code >= 0 else 128 - code

    def _reap(self) -> None:
        self._exit_code()
        self._teardown()

    def _teardown(self) -> None:
        """Reap bash (2 s, then SIGKILL to its group), then close the terminals and pipes.

        bash goes first: a terminal closed under a live bash hangs up, and bash
        would pass the SIGHUP on to every job, whatever ``hangup`` said.
        """
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = {}
        self._relay = None


def _frame(raw: bytes) -> bytes:
    """The control line that runs *raw* (the command's text) in bash."""
    quoted = b"'" + raw.replace(b"'", b"'\\''") + b"'"
    return b"__lime_cmd=" + quoted + b'; \\builtin eval "$__lime_cmd" 0</dev/tty\n'


def _high(fd: int) -> int:
    """An inheritable copy of *fd* numbered >= 64, so it cannot collide with fds 60 and 63 in bash."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 64)
    os.set_inheritable(high, True)
    return high


def _take_terminal() -> None:
    """In the child, after setsid: make its stdout (the slave of pseudo terminal A) the controlling terminal."""
    fcntl.ioctl(1, termios.TIOCSCTTY, 0)
