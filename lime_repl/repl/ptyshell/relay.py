"""The copy loop of one ``!`` command: keys in, output out, window size on, terminal back.

:class:`Relay` is used by :class:`lime_repl.repl.ptyshell.shell.PtyShell` for each
control line it writes. For the command's lifetime it

1. gives both pseudo terminals lime's terminal's size (``TIOCSWINSZ``) and,
   from the main thread, follows SIGWINCH with the new size;
2. puts lime's terminal in raw mode (:func:`~lime_repl.repl.ptyshell.terminal.raw_mode`);
3. copies keys to pseudo terminal A's master, and both masters' output to
   lime's terminal and to a :class:`~lime_repl.repl.ptyshell.record.StreamRecorder`
   each, in one ``selectors`` loop with 64 KiB reads, until bash's status
   record and the end markers of both terminals are in (or bash is gone);
4. writes :func:`~lime_repl.repl.ptyshell.record.restore_sequence`, restores the
   termios settings of lime's terminal and of A (a program killed in raw mode
   leaves A raw), and discards keys typed ahead into A.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import termios
import threading
import time

from .record import StreamRecorder, restore_sequence
from .result import PtyResult
from .terminal import DEFAULT_SIZE, raw_mode, set_size, terminal_size, write_all

__all__ = ["Relay"]

_READ = 65536
_MARKER_WAIT = 1.0  # seconds the end markers may lag the status record (a closed fd 60)
_DRAIN_WAIT = 0.05  # seconds of quiet that end the drain of a dead shell's terminals


class _Demarker:
    """Removes the end marker from a stream and says when it passed; holds back a marker split across reads."""

    def __init__(self, marker: bytes) -> None:
        self.marker = marker
        self.seen = False
        self._held = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._held + chunk if self._held else chunk
        self._held = b""
        index = data.find(self.marker)
        if index >= 0:
            self.seen = True
            return data[:index] + data[index + len(self.marker) :]
        start = data.rfind(b"\x1b", max(0, len(data) - len(self.marker) + 1))
        if start >= 0 and self.marker.startswith(data[start:]):
            self._held = data[start:]
            return data[:start]
        return data

    def flush(self) -> bytes:
        held, self._held = self._held, b""
        return held


class Relay:
    """The copy loop over one bash's terminals (fds from :class:`~lime_repl.repl.ptyshell.shell.PtyShell`)."""

    def __init__(self, fds: dict[str, int], proc: subprocess.Popen[bytes], marker: bytes, limit: int) -> None:
        self._fds = fds
        self._proc = proc
        self._marker = marker
        self._limit = limit
        self._interrupted = False
        self._busy = False
        self._last = "out"
        self._modes: tuple[list | None, list | None] = (None, None)
        self._keys_to = "out"

    def interrupt(self) -> None:
        """SIGINT to A's foreground process group (the running job, or bash in a builtin)."""
        if not self._busy:
            return
        with contextlib.suppress(OSError):
            os.killpg(os.tcgetpgrp(self._fds["out"]), signal.SIGINT)  # the master answers for its slave
            self._interrupted = True

    def run(
        self, line: bytes, stdin_fd: int | None, stdout_fd: int | None, *, quiet: bool = False
    ) -> tuple[PtyResult, bytes]:
        """Write *line* to bash and relay until it is done; (result without code and cwd, status bytes).

        With *quiet* the output is neither shown nor recorded (start-up, ``jobs``).
        """
        fds = self._fds
        size = (terminal_size(stdout_fd) if stdout_fd is not None else None) or DEFAULT_SIZE
        for name in ("out_slave", "err_slave"):
            set_size(fds[name], *size)
        recorders = {"out": StreamRecorder(self._limit, size), "err": StreamRecorder(self._limit, size)}
        saved_a = _termios(fds["out_slave"])
        self._modes = (saved_a, _termios(fds["err_slave"]))
        self._keys_to = "out"
        self._interrupted = False
        self._last = "out"
        self._busy = True
        start = time.monotonic()
        keys = None if quiet or stdin_fd is None or not os.isatty(stdin_fd) else stdin_fd
        show = None if quiet else stdout_fd
        previous = self._follow_size(stdout_fd, recorders) if keys is not None else None
        try:
            with raw_mode(keys):
                status = self._loop(line, keys, show, None if quiet else recorders)
        finally:
            self._busy = False
            if previous is not None:
                signal.signal(signal.SIGWINCH, previous)  # type: ignore[arg-type]
        restore = restore_sequence(*recorders.values())
        for recorder in recorders.values():
            recorder.finish()
        if show is not None and restore:
            write_all(show, restore)
        if saved_a is not None:
            for name in ("out_slave", "err_slave"):
                with contextlib.suppress(termios.error):
                    termios.tcsetattr(fds[name], termios.TCSANOW, saved_a)
        for name in ("out_slave", "err_slave"):
            with contextlib.suppress(termios.error):
                termios.tcflush(fds[name], termios.TCIFLUSH)
        out, err = recorders["out"], recorders["err"]
        last = recorders[self._last]
        result = PtyResult(
            exit_code=0,
            duration_ms=round((time.monotonic() - start) * 1000),
            cwd="",
            stdout=out.recorded(),
            stderr=err.recorded(),
            interactive=out.used_alternate_screen or err.used_alternate_screen,
            interrupted=self._interrupted,
            ends_with_newline=last.ends_with_newline,
            stdout_bytes=out.buffer.total,
            stderr_bytes=err.buffer.total,
            streams=(out, err),
        )
        return result, status

    def _follow_size(self, stdout_fd: int | None, recorders: dict[str, StreamRecorder]) -> object:
        """Install a SIGWINCH handler that passes lime's terminal's size on; the previous handler."""
        if stdout_fd is None or threading.current_thread() is not threading.main_thread():
            return None

        def on_winch(signum: int, frame: object) -> None:
            size = terminal_size(stdout_fd)
            if size is not None:
                for name in ("out_slave", "err_slave"):
                    set_size(self._fds[name], *size)
                for recorder in recorders.values():
                    recorder.resize(*size)

        return signal.signal(signal.SIGWINCH, on_winch)

    def _loop(
        self,
        line: bytes,
        keys: int | None,
        show: int | None,
        recorders: dict[str, StreamRecorder] | None,
    ) -> bytes:
        fds = self._fds
        marks = {"out": _Demarker(self._marker), "err": _Demarker(self._marker)}
        status = bytearray()
        dead = False
        try:
            write_all(fds["control"], line)
        except BrokenPipeError:
            dead = True
        sel = selectors.DefaultSelector()
        try:
            for name in ("out", "err", "status", "pidfd"):
                if name in fds:
                    sel.register(fds[name], selectors.EVENT_READ, name)
            if keys is not None:
                sel.register(keys, selectors.EVENT_READ, "keys")
            deadline = None
            while True:
                done = _complete(status)
                if done and (marks["out"].seen and marks["err"].seen or status[:1] == b"X"):
                    break
                if done and deadline is None:
                    deadline = time.monotonic() + (_DRAIN_WAIT if status[:1] == b"X" else _MARKER_WAIT)
                if dead and deadline is None:
                    deadline = time.monotonic() + _DRAIN_WAIT
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                if timeout is None and ("pidfd" not in fds or keys is not None):
                    timeout = 0.05
                events = sel.select(timeout)
                if keys is not None and not events:
                    self._sync_modes()
                if not events and deadline is not None and time.monotonic() >= deadline:
                    break
                for key, _ in events:
                    name = key.data
                    if name == "keys":
                        self._key(keys, sel)
                    elif name == "status":
                        chunk = _read(key.fd)
                        if chunk == b"":
                            sel.unregister(key.fd)
                            dead = True
                        status += chunk or b""
                    elif name == "pidfd":
                        sel.unregister(key.fd)
                        dead = True
                    else:
                        chunk = _read(key.fd)
                        if chunk == b"":
                            sel.unregister(key.fd)
                        elif chunk:
                            self._output(name, marks[name].feed(chunk), show, recorders)
                if "pidfd" not in fds and self._proc.poll() is not None:
                    dead = True
        finally:
            sel.close()
        for name, mark in marks.items():
            self._output(name, mark.flush(), show, recorders)
        return bytes(status)

    def _key(self, fd: int | None, sel: selectors.BaseSelector) -> None:
        assert fd is not None
        try:
            data = os.read(fd, _READ)
        except OSError:
            data = b""
        if not data:
            sel.unregister(fd)  # lime's input closed: the command gets no more keys
            return
        attrs = self._sync_modes()
        target = self._keys_to
        if attrs is not None and attrs[3] & termios.ISIG:
            signals = {attrs[6][index] for index in (termios.VINTR, termios.VQUIT, termios.VSUSP)}
            if attrs[6][termios.VINTR] in data:
                self._interrupted = True
            if any(bytes([byte]) in signals for byte in data):
                target = "out"  # only A, the controlling terminal, turns them into signals
        write_all(self._fds[target], data)

    def _sync_modes(self) -> list | None:
        """Keep both terminals in the modes a program last set on either; return A's settings.

        Programs set their terminal's modes through whichever of fds 0, 1, 2
        they read keys from: less, for one, reads keys from stderr and sets
        modes there. A change made on B is copied to A and one on A to B; and
        while B, changed last, is out of canonical mode, keys go to B
        (:attr:`_keys_to`), else to A.
        """
        a, b = _termios(self._fds["out_slave"]), _termios(self._fds["err_slave"])
        seen_a, seen_b = self._modes
        if b is not None and b != seen_b:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self._fds["out_slave"], termios.TCSANOW, b)
            a = b
            self._keys_to = "out" if b[3] & termios.ICANON else "err"
        elif a is not None and a != seen_a:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self._fds["err_slave"], termios.TCSANOW, a)
            b = a
            self._keys_to = "out"
        self._modes = (a, b)
        return a

    def _output(
        self, name: str, data: bytes, show: int | None, recorders: dict[str, StreamRecorder] | None
    ) -> None:
        if not data:
            return
        self._last = name
        if show is not None:
            write_all(show, data)
        if recorders is not None:
            recorders[name].feed(data)


def _termios(fd: int) -> list | None:
    try:
        return termios.tcgetattr(fd)
    except termios.error:
        return None


def _read(fd: int) -> bytes | None:
    """One read: data, b"" at end of file (EIO on a master whose slave is gone), None if it would block."""
    try:
        return os.read(fd, _READ)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _complete(status: bytearray) -> bool:
    """True when *status* ends with a whole ``S`` or ``X`` record (after any ``J`` record)."""
    if not status.endswith(b"\0\0"):
        return False
    start = status.find(b"\0") + 1 if status[:1] == b"J" else 0
    return status[start : start + 1] in (b"S", b"X") and status.count(0, start) >= 3
