r"""The persistent shell behind ``!command`` lines (DESIGN.md sections 1 and 3).

One long-lived ``bash --norc --noprofile`` per session, so ``cd``, ``export``,
variables, functions and options persist between ``!`` lines, and the text is
run by bash as typed (pipes, redirections, heredocs). Output is streamed to
callbacks as it is read and kept, capped, in ``HeadTailBuffer`` objects.

Running a command
    Per command lime writes one line of script to bash's stdin and reads
    bash's answer, a status record (exit code, ``$PWD``, the exported
    environment, so :attr:`PersistentShell.env` knows what the command
    exported, e.g. for redaction) on a pipe of its own; the framing is
    :mod:`.shell_script`. By the time the record is whole, the command's
    writes to stdout and stderr are complete, so after it lime reads both
    pipes until they would block: nothing is lost or reordered within a
    stream, and background jobs holding the pipes open do not hold ``run``
    up. The pipes and the copy loop are :mod:`.shell_io`.

``exit`` and a dead shell
    On ``exit N`` an EXIT trap writes ``X<status>\0<$PWD>\0``, each exported
    variable as ``NAME=value\0``, then ``\0``. ``run`` reports ``N``, and the
    next ``run`` starts a new bash in that directory with that environment
    (functions, unexported variables and options are lost). If bash dies
    without the trap (a signal), the code is ``128 + signal`` and the restart
    uses the last known directory and environment.

Interrupt
    bash runs in its own session, so a Ctrl-C at the terminal reaches lime
    only; :meth:`PersistentShell.interrupt` forwards it to the command.
"""

from __future__ import annotations

import contextlib
import os
import select
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..outputs.capping import DEFAULT_LIMIT, HeadTailBuffer
from .child_signals import reset_in_child
from .shell_io import CallbackError, group_members, kill_group, make_pipes, pump, read_once, write_all
from .shell_script import PRELUDE, STATUS_FD, command_line, parse_status, status_complete

__all__ = ["OutputCallback", "PersistentShell", "ShellResult"]

OutputCallback = Callable[[bytes], None]
"""Receives each chunk of output (1 byte to 1 MiB) as it is read."""


@dataclass
class ShellResult:
    """What one :meth:`PersistentShell.run` produced.

    Attributes:
        exit_code: the command's ``$?``; 130 when interrupted; ``N`` for
            ``exit N``; ``128 + signal`` if bash itself was killed.
        duration_ms: wall time of the command, in milliseconds.
        cwd: the shell's working directory after the command.
        stdout: the command's stdout, capped (head and tail kept).
        stderr: the command's stderr, capped.
        interrupted: the command was interrupted (:meth:`PersistentShell.interrupt`
            or a KeyboardInterrupt while :meth:`PersistentShell.run` waited).
    """

    exit_code: int
    duration_ms: int
    cwd: str
    stdout: HeadTailBuffer
    stderr: HeadTailBuffer
    interrupted: bool = False


class PersistentShell:
    """A long-lived bash for one session's ``!`` lines; see the module docstring.

    The constructor starts nothing: call :meth:`start` (or use ``with``) and
    :meth:`close`. :meth:`run` is not reentrant; :meth:`interrupt` may be
    called from any thread.

    Args:
        cwd: the directory bash starts in.
        env: bash's environment (default: a copy of ``os.environ`` taken now).
        shell: the bash executable, a name looked up in PATH or a path.
        output_limit: bytes kept at the head and at the tail of each stream.
    """

    def __init__(
        self,
        cwd: str | Path,
        env: Mapping[str, str] | None = None,
        shell: str = "bash",
        *,
        output_limit: int = DEFAULT_LIMIT,
    ) -> None:
        self._cwd = os.path.abspath(os.fspath(cwd))
        self._env = dict(os.environ if env is None else env)
        self._shlvl = self._env.get("SHLVL")
        self._shell = shell
        self._limit = output_limit
        self._started = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._fds: dict[str, int] = {}
        self._selector: selectors.BaseSelector | None = None
        self._run_lock = threading.Lock()
        self._signal_lock = threading.Lock()  # orders signalling against reaping
        self._busy = False
        self._interrupts = 0

    def __enter__(self) -> PersistentShell:
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
        """bash's environment as reported after the last command (a copy; names and values ``os.fsdecode``-d).

        The status record carries the exported environment after every
        command, so a variable set by ``export NAME=…`` is here once that
        command has finished.
        """
        return dict(self._env)

    @property
    def pid(self) -> int | None:
        """Pid of the running bash, or None when none runs."""
        return None if self._proc is None else self._proc.pid

    def start(self) -> None:
        """Start bash; a no-op when started. Raises OSError if it cannot be run."""
        if not self._started:
            self._spawn()
            self._started = True

    def close(self) -> None:
        """End bash's input and wait up to 2 s for it, then kill its process group.

        Background jobs keep running when bash exits by itself. Idempotent.
        """
        self._started = False
        proc, stdin = self._proc, self._fds.pop("stdin", None)
        if stdin is not None:
            with contextlib.suppress(OSError):
                os.write(stdin, b"trap - EXIT\n")
            os.close(stdin)
        if proc is not None and proc.poll() is None:
            try:
                proc.wait(timeout=self._wait_exit(2.0))
            except subprocess.TimeoutExpired:
                kill_group(proc)
        self._teardown()

    def _wait_exit(self, timeout: float) -> float:
        """Wait up to ``timeout`` seconds for bash to exit on its pidfd (readable once it has); the
        seconds left for ``Popen.wait``, 0 when it waited here. Popen's own timed wait polls, sleeping
        1, 2, 4… ms between polls: bash exits well within the first sleep."""
        pidfd = self._fds.get("pidfd")
        if pidfd is None:
            return timeout
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        with contextlib.suppress(InterruptedError):
            poller.poll(timeout * 1000)
        return 0.0

    def interrupt(self) -> None:
        """Interrupt the running command, not lime; a no-op when none runs.

        Sends SIGINT to bash's process group, that is bash and its foreground
        commands (background jobs ignore SIGINT, as in a shell without job
        control). The command dies; bash traps SIGINT and runs ``return 130``
        out of the sourced command, so the rest of the line, loops included,
        is abandoned and the shell keeps its state. Repeated calls during one
        command escalate: the 2nd makes the trap ``exit 130`` (for a loop
        calling a function; the state is kept by the EXIT trap and the
        restart), the 3rd SIGKILLs every other process of the group, found in
        ``/proc`` (for commands that ignore SIGINT), the 4th kills bash too.
        A ``set -m`` in the shell moves commands out of the group.
        """
        with self._signal_lock:
            proc = self._proc
            if proc is None or not self._busy or proc.returncode is not None:
                return
            self._interrupts += 1
            pgid = proc.pid
            with contextlib.suppress(OSError):
                if self._interrupts <= 2:
                    os.killpg(pgid, signal.SIGINT)
                elif self._interrupts == 3 and (members := group_members(pgid)) is not None:
                    for pid in members:
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)
                else:
                    os.killpg(pgid, signal.SIGKILL)

    def run(
        self,
        command: str,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
    ) -> ShellResult:
        """Run *command* (bash syntax, as typed) with stdin ``/dev/null``; wait for it.

        Output chunks go to the callbacks as they are read, and into the
        result's buffers. A KeyboardInterrupt raised in this thread while
        waiting interrupts the command and is not propagated. If a callback
        raises, no callback is called again, the command is interrupted, and
        the exception is re-raised once the shell is ready for the next one.
        If bash is gone (``exit``, killed), a new one is started first.

        Raises:
            RuntimeError: the shell is not started, or another run is in progress.
            ValueError: *command* contains NUL.

        *command* is encoded as UTF-8; ``surrogateescape`` code points (bytes
        that were not UTF-8 when read) go to bash as those bytes, any other
        lone surrogate (a JSON ``\\ud800`` escape) as U+FFFD.
        """
        line = command_line(command)
        if not self._run_lock.acquire(blocking=False):
            raise RuntimeError("another command is already running in this shell")
        try:
            if not self._started:
                raise RuntimeError("the shell is not started; call start() first")
            if self._proc is None or self._proc.poll() is not None:
                self._teardown()
                self._spawn()
            return self._run(line, on_stdout, on_stderr)
        finally:
            self._run_lock.release()

    # -- internals ---------------------------------------------------------

    def _spawn(self) -> None:
        """Start bash in the last known directory (or its nearest existing parent)."""
        cwd = next((str(p) for p in (Path(self._cwd), *Path(self._cwd).parents) if p.is_dir()), os.sep)
        (in_r, in_w), (out_r, out_w), (err_r, err_w), (st_r, st_w) = make_pipes(4, enlarge=(1, 2))
        try:
            proc = subprocess.Popen(
                [self._shell, "--norc", "--noprofile"],
                stdin=in_r,
                stdout=out_w,
                stderr=err_w,
                pass_fds=(st_w,),
                cwd=cwd,
                env=self._env,
                start_new_session=True,
                preexec_fn=reset_in_child(),  # noqa: PLW1509 - None unless lime was started with SIGINT ignored
            )
        except BaseException:
            for fd in (in_w, out_r, err_r, st_r):
                os.close(fd)
            raise
        finally:
            for fd in (in_r, out_w, err_w, st_w):
                os.close(fd)
        self._proc, self._cwd = proc, cwd
        self._fds = {"stdin": in_w, "stdout": out_r, "stderr": err_r, "status": st_r}
        self._selector = sel = selectors.DefaultSelector()
        for name in ("stdout", "stderr", "status"):
            os.set_blocking(self._fds[name], False)
            sel.register(self._fds[name], selectors.EVENT_READ, name)
        with contextlib.suppress(AttributeError, OSError):  # without a pidfd, poll
            self._fds["pidfd"] = os.pidfd_open(proc.pid)
            sel.register(self._fds["pidfd"], selectors.EVENT_READ, "pidfd")
        move = "" if st_w == STATUS_FD else f"exec {STATUS_FD}>&{st_w} {st_w}>&-\n"
        with contextlib.suppress(BrokenPipeError):  # died at once: the next run reports it
            write_all(in_w, (move + PRELUDE).encode())

    def _teardown(self) -> None:
        """Close every pipe and reap bash (which must have exited or been killed)."""
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}
        with self._signal_lock:
            if self._proc is not None:
                self._proc.wait()
                self._proc = None

    def _run(
        self, line: bytes, on_stdout: OutputCallback | None, on_stderr: OutputCallback | None
    ) -> ShellResult:
        fds, sel, proc = self._fds, self._selector, self._proc
        assert sel is not None and proc is not None
        out, err = HeadTailBuffer(self._limit), HeadTailBuffer(self._limit)
        sinks: dict[str, list] = {"stdout": [out, on_stdout], "stderr": [err, on_stderr]}
        status = bytearray()
        failure: BaseException | None = None
        dead = finished = False
        timeout = None if "pidfd" in fds else 0.05
        self._interrupts = 0
        self._busy = True
        start = time.monotonic()
        try:
            write_all(fds["stdin"], line)
        except BrokenPipeError:
            dead = True
        while not finished:
            try:
                while not dead and not status_complete(status):
                    for key, _ in sel.select(timeout):
                        fd, name = key.fd, key.data
                        if name == "status":
                            chunk = read_once(fd)
                            status += chunk or b""
                            dead = dead or chunk == b""
                        elif name == "pidfd":
                            dead = True
                        elif not pump(fd, *sinks[name], drain=False):
                            sel.unregister(fd)  # end of file: nothing more will come
                    dead = dead or (timeout is not None and proc.poll() is not None)
                for name in ("stdout", "stderr"):
                    pump(fds[name], *sinks[name], drain=True)
                while dead and (chunk := read_once(fds["status"])):
                    status += chunk
                finished = True
            except KeyboardInterrupt:
                self.interrupt()
            except CallbackError as exc:
                failure = failure or exc.__cause__
                for sink in sinks.values():
                    sink[1] = None
                self.interrupt()
            except BaseException:  # the shell is in an unknown state: drop it
                self._busy = False
                kill_group(proc)
                self._teardown()
                raise
        with self._signal_lock:
            self._busy = False
        duration_ms = round((time.monotonic() - start) * 1000)
        code = self._finish(bytes(status), dead)
        if failure is not None:
            raise failure
        interrupted = self._interrupts > 0
        return ShellResult(130 if interrupted else code, duration_ms, self._cwd, out, err, interrupted)

    def _finish(self, status: bytes, dead: bool) -> int:
        """Apply the status record (cwd, env); reap a dead bash; return the exit code."""
        code, cwd, env = parse_status(status)
        if cwd:
            self._cwd = cwd
        if env is not None:
            env.pop("SHLVL", None)
            if self._shlvl is not None:
                env["SHLVL"] = self._shlvl
            self._env = env
        if not dead and code is not None:
            return code
        proc = self._proc
        assert proc is not None
        if proc.poll() is None:  # the status pipe closed under a live bash
            kill_group(proc)
        returncode = proc.wait()
        self._teardown()
        if code is None:
            code = returncode if returncode >= 0 else 128 - returncode
        return code

