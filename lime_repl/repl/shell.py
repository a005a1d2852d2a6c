"""The persistent shell behind ``!command`` lines (DESIGN.md sections 1 and 3).

One long-lived ``bash --norc --noprofile`` per session, so ``cd``, ``export``,
variables, functions and options persist between ``!`` lines, and the text is
run by bash as typed (pipes, redirections, heredocs). Output is streamed to
callbacks as it is read and kept, capped, in ``HeadTailBuffer`` objects.

Running a command
    bash reads its script from a pipe. Per command lime writes one line: the
    text as a single-quoted assignment to ``__lime_cmd``, then
    ``. /dev/fd/62 62<<<'eval "$__lime_cmd"' </dev/null``, then
    ``__lime_done $?``. Quoted whole, a heredoc, trailing backslash or
    unbalanced quote cannot swallow the stream: ``eval`` reports a syntax error
    on stderr with status 2. Sourcing (not a function) keeps ``declare``
    global and lets the interrupt trap ``return`` out of the whole command.

Status framing
    bash gets a pipe on fd 63; ``__lime_done`` writes ``S<status>\0<$PWD>\0``
    to it. By then the command's writes to stdout and stderr are complete, so
    after the record lime reads both pipes until they would block: nothing is
    lost or reordered within a stream, and background jobs holding the pipes
    open do not hold ``run`` up. ``__lime_*`` and fds 62 and 63 are reserved.

``exit`` and a dead shell
    On ``exit N`` an EXIT trap writes ``X<status>\0<$PWD>\0``, each exported
    variable as ``NAME=value\0``, then ``\0``. ``run`` reports ``N``, and the
    next ``run`` starts a new bash in that directory with that environment
    (functions, unexported variables and options are lost). If bash dies
    without the trap (a signal), the code is ``128 + signal`` and the restart
    uses the last known directory and environment.

Interrupt
    bash runs in its own session, so a Ctrl-C at the terminal reaches lime
    only. :meth:`PersistentShell.interrupt` sends SIGINT to bash's process
    group: bash and its foreground commands (background jobs ignore SIGINT,
    as without job control). The command dies; bash traps SIGINT and runs
    ``return 130`` out of the sourced command, so the rest of the line (loops
    included) is abandoned and the shell keeps its state. A second interrupt
    makes the trap ``exit 130`` (state kept by the EXIT trap and the restart),
    for a loop that calls a function; a third SIGKILLs every other process
    of the group (via ``/proc``), for commands that ignore SIGINT; a fourth
    kills bash too. ``set -m`` in the shell moves commands out of the group.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lime_repl.store.capping import DEFAULT_LIMIT, HeadTailBuffer

__all__ = ["OutputCallback", "PersistentShell", "ShellResult"]

OutputCallback = Callable[[bytes], None]
"""Receives each chunk of output (1 byte to 64 KiB) as it is read."""

_READ_SIZE = 65536
_STATUS_FD = 63
_RUN_SUFFIX = b"; __lime_ic=0; } 2>/dev/null; . /dev/fd/62 62<<<'eval \"$__lime_cmd\"' </dev/null; { __lime_done $?; } 2>/dev/null\n"
_PRELUDE = r"""__lime_ic=0
__lime_done() { builtin printf 'S%d\0%s\0' "$1" "$PWD" >&63; }
__lime_exit() {
  local __lime_s=$? __lime_n IFS=$' \t\n'
  builtin printf 'X%d\0%s\0' "$__lime_s" "$PWD" >&63
  for __lime_n in $(compgen -e); do
    [[ -v $__lime_n ]] && builtin printf '%s=%s\0' "$__lime_n" "${!__lime_n}" >&63
  done
  builtin printf '\0' >&63
}
trap __lime_exit EXIT
trap 'if (( __lime_ic++ )); then exit 130; fi; return 130 2>/dev/null' INT
"""


class _CallbackError(Exception):
    """Carries (as ``__cause__``) an exception raised by an output callback."""


@dataclass
class ShellResult:
    """What one :meth:`PersistentShell.run` produced.

    Attributes:
        exit_code: the command's status (``$?``); 130 when interrupted; the
            status bash exited with for ``exit N``; ``128 + signal`` if bash
            was killed.
        duration_ms: wall time of the command in milliseconds.
        cwd: the shell's working directory after the command.
        stdout: the command's stdout, capped (head and tail kept).
        stderr: the command's stderr, capped.
        interrupted: :meth:`PersistentShell.interrupt` was called (or a
            KeyboardInterrupt arrived) while the command ran.
    """

    exit_code: int
    duration_ms: int
    cwd: str
    stdout: HeadTailBuffer
    stderr: HeadTailBuffer
    interrupted: bool = False


def _quote(command: str) -> bytes:
    """Quote *command* as one bash single-quoted word (any bytes but NUL)."""
    if "\0" in command:
        raise ValueError("a shell command cannot contain a NUL character")
    raw = command.encode("utf-8", "surrogateescape")
    return b"'" + raw.replace(b"'", b"'\\''") + b"'"


def _existing_dir(path: str) -> str:
    """*path*, or its nearest existing ancestor (a directory may vanish)."""
    for candidate in (Path(path), *Path(path).parents):
        if candidate.is_dir():
            return str(candidate)
    return os.sep


def _group_members(pgid: int) -> list[int] | None:
    """Pids in process group *pgid* other than *pgid* itself (None without /proc)."""
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) != pgid]
    except OSError:
        return None
    return [pid for pid in pids if _pgid(pid) == pgid]


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


class PersistentShell:
    """A long-lived bash for one session's ``!`` lines; see the module docstring.

    Nothing is started by the constructor: call :meth:`start` (or use ``with``)
    and :meth:`close`. :meth:`run` is not reentrant; :meth:`interrupt` may be
    called from any thread.

    Args:
        cwd: the directory bash starts in.
        env: bash's environment (default: a copy of ``os.environ`` now).
        shell: the bash executable (name or path); it must accept bash syntax.
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
        self._signal_lock = threading.Lock()
        self._busy = False
        self._interrupts = 0

    # -- lifecycle ---------------------------------------------------------

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
    def pid(self) -> int | None:
        """Pid of the running bash, or None when none runs."""
        return None if self._proc is None else self._proc.pid

    def start(self) -> None:
        """Start bash (a no-op when started). Raises OSError if it cannot be run."""
        if not self._started:
            self._spawn()
            self._started = True

    def close(self) -> None:
        """Stop bash: end its input and wait up to 2 s, then kill its process group.

        Background jobs are left running when bash exits by itself. Idempotent.
        """
        self._started = False
        proc, stdin = self._proc, self._fds.pop("stdin", None)
        if stdin is not None:
            with contextlib.suppress(OSError):
                os.write(stdin, b"trap - EXIT\n")
            os.close(stdin)
        if proc is not None and proc.poll() is None:
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._kill(proc, signal.SIGKILL)
        self._teardown()

    def _spawn(self) -> None:
        cwd = _existing_dir(self._cwd)
        pipes = [os.pipe() for _ in range(4)]  # stdin, stdout, stderr, status
        (in_r, in_w), (out_r, out_w), (err_r, err_w), (st_r, st_w) = pipes
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
            )
        except BaseException:
            for fd in (in_r, in_w, out_r, out_w, err_r, err_w, st_r, st_w):
                os.close(fd)
            raise
        for fd in (in_r, out_w, err_w, st_w):
            os.close(fd)
        for fd in (out_r, err_r, st_r):
            os.set_blocking(fd, False)
        self._proc, self._cwd = proc, cwd
        self._fds = {"stdin": in_w, "stdout": out_r, "stderr": err_r, "status": st_r}
        sel = selectors.DefaultSelector()
        for name in ("stdout", "stderr", "status"):
            sel.register(self._fds[name], selectors.EVENT_READ, name)
        try:
            self._fds["pidfd"] = os.pidfd_open(proc.pid)
            sel.register(self._fds["pidfd"], selectors.EVENT_READ, "pidfd")
        except (AttributeError, OSError):
            pass  # no pidfd: poll the process instead
        self._selector = sel
        move = "" if st_w == _STATUS_FD else f"exec {_STATUS_FD}>&{st_w} {st_w}>&-\n"
        try:
            _write_all(in_w, (move + _PRELUDE).encode())
        except BrokenPipeError:
            pass  # bash died at once; the next run reports it

    def _teardown(self) -> None:
        """Close every pipe and reap bash (which must have exited or be killed)."""
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

    def _kill(self, proc: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, sig)
        proc.wait()

    # -- running -----------------------------------------------------------

    def interrupt(self) -> None:
        """Send SIGINT to the running command (not to lime); see the module docstring.

        A no-op when no command runs. Repeated calls during one command
        escalate: 2nd SIGINT (bash then exits, state kept), 3rd SIGKILL to
        the command's processes, 4th SIGKILL to bash too.
        """
        with self._signal_lock:
            proc = self._proc
            if proc is None or not self._busy or proc.returncode is not None:
                return
            self._interrupts += 1
            count, pgid = self._interrupts, proc.pid
            try:
                if count <= 2:
                    os.killpg(pgid, signal.SIGINT)
                elif count == 3 and (members := _group_members(pgid)) is not None:
                    for pid in members:
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)
                else:
                    os.killpg(pgid, signal.SIGKILL)
            except OSError:
                pass

    def run(
        self,
        command: str,
        on_stdout: OutputCallback | None = None,
        on_stderr: OutputCallback | None = None,
    ) -> ShellResult:
        """Run *command* (bash syntax, as typed) and wait for it to finish.

        Output chunks go to the callbacks as they are read and into the
        result's buffers. The command's stdin is ``/dev/null``. A
        KeyboardInterrupt raised in this thread while waiting interrupts the
        command and is not propagated. If a callback raises, it is not called
        again, the command is interrupted, and the exception is re-raised once
        the shell is ready for the next command.

        Raises:
            RuntimeError: the shell was not started, or a run is in progress.
            ValueError: *command* contains NUL or cannot be encoded.
        """
        line = b"{ __lime_cmd=" + _quote(command) + _RUN_SUFFIX
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
            _write_all(fds["stdin"], line)
        except BrokenPipeError:
            dead = True
        while not finished:
            try:
                while not dead and not (status[:1] == b"S" and status.count(0) >= 2):
                    for key, _ in sel.select(timeout):
                        name = key.data
                        if name == "status":
                            chunk = _read(key.fileobj)  # type: ignore[arg-type]
                            if chunk is not None:
                                status += chunk
                                dead = dead or not chunk
                        elif name == "pidfd":
                            dead = True
                        elif not self._pump(key.fileobj, *sinks[name], drain=False):  # type: ignore[arg-type]
                            sel.unregister(key.fileobj)
                    dead = dead or (timeout is not None and proc.poll() is not None)
                for name in ("stdout", "stderr"):
                    self._pump(fds[name], *sinks[name], drain=True)
                while dead and (chunk := _read(fds["status"])):
                    status += chunk
                finished = True
            except KeyboardInterrupt:
                self.interrupt()
            except _CallbackError as exc:  # stop feeding the callbacks, cancel the command
                failure = failure or exc.__cause__
                for sink in sinks.values():
                    sink[1] = None
                self.interrupt()
            except BaseException:  # the shell is in an unknown state: drop it
                self._busy = False
                self._kill(proc, signal.SIGKILL)
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

    def _pump(self, fd: int, buf: HeadTailBuffer, callback: OutputCallback | None, *, drain: bool) -> bool:
        """Read what *fd* has into *buf* and *callback*; False at end of file."""
        while True:
            try:
                chunk = os.read(fd, _READ_SIZE)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            buf.feed(chunk)
            if callback is not None:
                try:
                    callback(chunk)
                except Exception as exc:
                    raise _CallbackError from exc
            if len(chunk) < _READ_SIZE and not drain:
                return True

    def _finish(self, status: bytes, dead: bool) -> int:
        """Parse the status record, update cwd/env, restart-prepare; return the exit code."""
        fields = status.split(b"\0")
        code: int | None = None
        if fields[0][:1] in (b"S", b"X") and len(fields) >= 3:
            code = int(fields[0][1:])
            if fields[1]:
                self._cwd = os.fsdecode(fields[1])
            if fields[0][:1] == b"X" and b"" in fields[2:]:
                env = dict(os.fsdecode(item).partition("=")[::2] for item in fields[2 : fields.index(b"", 2)])
                if self._shlvl is None:
                    env.pop("SHLVL", None)
                else:
                    env["SHLVL"] = self._shlvl
                self._env = env
        if not dead and code is not None:
            return code
        proc = self._proc
        assert proc is not None
        if proc.poll() is None:  # the status channel closed under a live bash
            self._kill(proc, signal.SIGKILL)
        returncode = proc.wait()
        self._teardown()
        if code is None:
            code = returncode if returncode >= 0 else 128 - returncode
        return code


def _read(fd: int) -> bytes | None:
    """One read of a non-blocking *fd*: data, b"" at end of file, None if it would block."""
    try:
        return os.read(fd, _READ_SIZE)
    except BlockingIOError:
        return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
