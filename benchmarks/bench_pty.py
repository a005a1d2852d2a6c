"""``bang_pty_throughput``: ``!head -c 100M /dev/zero`` typed into the interactive REPL, against ``script -qc``.

lime's side is the real REPL: ``python -m lime_repl`` in a pseudo terminal
(40x120) whose master this process reads as fast as it can, the way a
terminal emulator would. Each run types the ``!`` line and is timed from the
Enter key to the fresh prompt drawn after the command's output: the whole
path (prompt-toolkit hands the terminal over, the session's persistent bash
on its own pseudo terminal, the copy loop, the log record and fsync, the
terminal taken back). The floor is the same command under util-linux
``script -qc`` (a pseudo terminal and a copy loop in C, typescript
``/dev/null``) in the same kind of pseudo terminal, read by the same loop,
timed from fork to end of output. Goal: at most 1.5 times the floor.

``engine_median_s`` is :meth:`lime_repl.repl.ptyshell.PtyShell.run` alone in
this process, writing to ``/dev/null``, for comparison.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import statistics
import struct
import subprocess
import termios
import time
from pathlib import Path
from typing import Any

from bench_util import Run, bench_env, figure, lime_command, measure, timed

__all__ = ["bang_pty_throughput"]

_PROMPT = b"lime> "
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def _size(text: str) -> int:
    """Bytes of a ``head -c`` size such as ``100M`` (binary units, as head reads them)."""
    return int(text.rstrip("KMG")) * _UNITS[text[-1] if text[-1] in "KMG" else ""]


class _Terminal:
    """A child on a 40x120 pseudo terminal whose output is read (and dropped) by :meth:`drain`."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)

    def drain(self, at_least: int = 0, until: bytes | None = None) -> float:
        """Read until *at_least* bytes came and then *until* shows (None: end of output); the time of that."""
        seen, tail = 0, b""
        while True:
            ready, _, _ = select.select([self.master], [], [], 60)
            if not ready:
                raise TimeoutError(f"no output for 60 s (read {seen} bytes)")
            try:
                chunk = os.read(self.master, 1 << 16)
            except OSError:  # EIO: the child closed its terminal
                chunk = b""
            if not chunk:
                if until is None:
                    return time.perf_counter()
                raise RuntimeError(f"the child ended before {until!r} showed")
            seen += len(chunk)
            if until is not None and seen >= at_least:
                tail = (tail + chunk)[-4096:]
                if until in tail:
                    return time.perf_counter()

    def close(self) -> int:
        os.close(self.master)
        return self.proc.wait(30)


def _lime_runs(command: str, size: int, repeat: int, env: dict[str, str], cwd: Path) -> list[float]:
    term = _Terminal([*lime_command()], env, cwd)
    try:
        term.drain(until=_PROMPT)
        times = []
        for _ in range(repeat + 1):  # the first run (bash and its rc snapshot start) is the warm-up
            start = time.perf_counter()
            os.write(term.master, f"!{command}\r".encode())
            times.append(term.drain(at_least=size, until=_PROMPT) - start)
        os.write(term.master, b"\x04")  # Ctrl-D at the empty prompt: exit
        term.drain()
    finally:
        term.close()
    return times[1:]


def _script_run(command: str, env: dict[str, str], cwd: Path) -> Run:
    term = _Terminal(["script", "-qc", command, "/dev/null"], env, cwd)
    try:
        end = term.drain()
    finally:
        status = term.close()
    return Run(end - term.started, 0.0, status, "script")


def bang_pty_throughput(s: Any) -> dict[str, Any]:
    """The figure (``s`` is ``bench_figures.Settings``: ``throughput`` and ``repeat`` are used)."""
    from lime_repl.repl.ptyshell import PtyShell

    if shutil.which("script") is None:
        raise RuntimeError("util-linux script is not installed")
    env = bench_env(s.data, "home-pty-throughput", HOME=str(s.data / "home-pty-throughput"))
    cwd = s.data / "cwd" / "pty-throughput"
    cwd.mkdir(parents=True, exist_ok=True)
    Path(env["HOME"]).mkdir(parents=True, exist_ok=True)  # an empty home: no rc file of this machine's user
    command = f"head -c {s.throughput} /dev/zero"
    lime = _lime_runs(command, _size(s.throughput), s.repeat, env, cwd)
    floor = measure(lambda: _script_run(command, env, cwd), s.repeat)
    with PtyShell(cwd, env=env, rc=False) as shell, open(os.devnull, "wb") as sink:
        engine = timed(lambda: shell.run(command, None, sink.fileno()), s.repeat, warmup=1)
    return figure(
        f"!{command} typed into the interactive REPL in a pseudo terminal, until the next prompt",
        (f"lime: !{command} (Enter to the next prompt)", lime),
        (f"script -qc '{command}' /dev/null (same pseudo terminal)", floor),
        1.5,
        engine_median_s=round(statistics.median(engine), 6),
    )
