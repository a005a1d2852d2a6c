"""Measuring helpers for ``benchmarks/run.py``: timed child processes with their own peak memory, and figures.

Every child is started with :class:`subprocess.Popen` and reaped with
``os.wait4``. Its peak memory is the largest ``VmHWM`` of ``/proc/PID/status``
read while it runs (:class:`HwmPoller`, a thread that polls every 2 ms while
the timing thread waits in ``os.wait4``): the high-water mark of the program
after ``exec`` only. ``ru_maxrss`` of ``os.wait4`` is kept too
(``rusage_peak_mib``), but on Linux it includes the memory the process had
before ``exec``, that is, a copy of this harness (``exec_mmap`` keeps the old
mm's high-water mark in ``signal->maxrss``); a child that exits before the
first poll falls back to it.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = [
    "REPO",
    "HwmPoller",
    "Run",
    "bench_env",
    "figure",
    "hwm_peak_mib",
    "lime_command",
    "measure",
    "own_peaks",
    "run_child",
    "timed",
]

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    """One child run: wall time in seconds, its own peak RSS in MiB (``VmHWM``), exit status, ``ru_maxrss`` in MiB."""

    seconds: float
    peak_mib: float
    status: int
    command: str = ""
    rusage_peak_mib: float = 0.0


class HwmPoller:
    """The largest ``VmHWM`` (KiB) of process ``pid``, read from ``/proc/PID/status`` every ``interval`` seconds.

    Runs in a daemon thread from construction until :meth:`stop`; ``VmHWM`` only
    grows, so the last read before the process exits is its peak (growth in its
    last ``interval`` can be missed). ``peak_kib`` is 0 when no read succeeded.
    """

    def __init__(self, pid: int, interval: float = 0.002) -> None:
        self.peak_kib = 0
        self._path = f"/proc/{pid}/status"
        self._interval = interval
        self._done = threading.Event()
        self._read()  # Popen has returned, so the child has exec'd: this is the program's own figure
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _read(self) -> bool:
        try:
            with open(self._path, "rb") as fh:
                for line in fh:
                    if line.startswith(b"VmHWM:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))
                        return True
        except (OSError, ValueError):
            pass
        return False  # gone, or a zombie (no memory left to report)

    def _poll(self) -> None:
        while not self._done.wait(self._interval):
            if not self._read():
                return

    def stop(self) -> float | None:
        """Stop polling; the peak in MiB, or None when no read succeeded."""
        self._done.set()
        self._thread.join()
        return self.peak_kib / 1024 if self.peak_kib else None


def run_child(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    stdin: bytes | None = None,
    stdout: int | IO[bytes] = subprocess.DEVNULL,
    poll: float = 0.002,
) -> Run:
    """Run ``argv`` to completion; stdin from ``stdin`` (bytes) or /dev/null, stdout to ``stdout``.

    stderr is discarded. The time covers fork to reap; the peak is the child's own (:class:`HwmPoller`,
    reading every ``poll`` seconds: a program that keeps two cores busy is slowed by a quick poller).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        env=dict(env),
        cwd=cwd,
    )
    poller = HwmPoller(proc.pid, poll)
    if stdin is not None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(stdin)
        except BrokenPipeError:
            pass
        proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    rusage = usage.ru_maxrss / 1024
    own = poller.stop()
    return Run(seconds, rusage if own is None else own, proc.returncode, " ".join(argv)[:120], rusage)


def measure(once: Callable[[], Run], repeat: int, warmup: int = 1) -> list[Run]:
    """``warmup`` discarded runs, then ``repeat`` measured ones. Raises if a run fails."""
    runs = []
    for index in range(warmup + repeat):
        run = once()
        if run.status != 0:
            raise RuntimeError(f"{run.command or 'a measured command'} exited {run.status}")
        if index >= warmup:
            runs.append(run)
    return runs


def timed(call: Callable[[], Any], repeat: int, warmup: int = 1) -> list[float]:
    """Wall times in seconds of ``call()`` (in this process), after ``warmup`` discarded calls."""
    times = []
    for index in range(warmup + repeat):
        start = time.perf_counter()
        call()
        elapsed = time.perf_counter() - start
        if index >= warmup:
            times.append(elapsed)
    return times


def _side(command: str, runs: Sequence[Run] | Sequence[float]) -> dict[str, Any]:
    seconds = [r.seconds if isinstance(r, Run) else r for r in runs]
    side: dict[str, Any] = {
        "command": command,
        "times_s": [round(s, 6) for s in seconds],
        "median_s": round(statistics.median(seconds), 6),
    }
    if runs and isinstance(runs[0], Run):
        side["peak_mib"] = round(max(r.peak_mib for r in runs), 1)  # type: ignore[union-attr]
        side["rusage_peak_mib"] = round(max(r.rusage_peak_mib for r in runs), 1)  # type: ignore[union-attr]
    return side


def figure(
    goal: str,
    measured: tuple[str, Sequence[Run] | Sequence[float]],
    floor: tuple[str, Sequence[Run] | Sequence[float]],
    max_ratio: float,
    **extra: Any,
) -> dict[str, Any]:
    """A figure: both sides' raw times and medians, their ratio, the goal and whether it is met."""
    mine, base = _side(*measured), _side(*floor)
    ratio = mine["median_s"] / base["median_s"] if base["median_s"] > 0 else float("inf")
    result = {
        "goal": goal,
        "measured": mine,
        "floor": base,
        "ratio": round(ratio, 3),
        "max_ratio": max_ratio,
        "ok": ratio <= max_ratio,
    }
    result.update(extra)
    return result


def lime_command() -> list[str]:
    """The ``lime`` console script next to this Python, else ``python -m lime_repl``."""
    script = Path(sys.executable).parent / "lime"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "lime_repl"]


def bench_env(data: Path, name: str, **extra: str) -> dict[str, str]:
    """A clean environment with a private profile ``<data>/<name>`` (LIME_HOME, caches, config)."""
    home = data / name
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LIME_", "OPENAI_", "ANTHROPIC_", "XDG_", "PYTHON"))
    }
    env.update(
        LIME_HOME=str(home / "lime"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        NO_COLOR="1",
        PAGER="cat",
        TERM="xterm",
        PROMPT_TOOLKIT_NO_CPR="1",
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def fresh_dir(path: Path) -> Path:
    """``path`` emptied (created if missing)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def run_in_pty(
    args: Sequence[str], env: Mapping[str, str], cwd: Path, marker: bytes, quit_key: bytes, command: str = ""
) -> Run:
    """Start ``args`` in a 40x120 pseudo terminal, time it until ``marker`` shows, then send ``quit_key``.

    Returns the time to the marker, the child's own peak RSS (:class:`HwmPoller`) and its exit status.
    Raises ``TimeoutError`` when the marker does not show within 30 s.
    """
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(args),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=dict(env),
        cwd=cwd,
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(slave)
    poller = HwmPoller(proc.pid)
    seen = b""
    elapsed = None
    try:
        while elapsed is None:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                raise TimeoutError(f"{marker!r} did not show within 30 s")
            seen += os.read(master, 65536)
            if marker in seen:
                elapsed = time.perf_counter() - start
        os.write(master, quit_key)
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                if not os.read(master, 65536):
                    break
            except OSError:  # EIO: the child closed the terminal
                break
    finally:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        os.close(master)
        rusage = usage.ru_maxrss / 1024
        own = poller.stop()
    return Run(elapsed, rusage if own is None else own, proc.returncode, command, rusage)


def hwm_peak_mib(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> float:
    """The peak resident memory (MiB) of one untimed run of ``argv`` (:class:`HwmPoller`); raises if it fails.

    For a figure whose timed runs share the harness with something that holds
    memory the child's own peak should not see (the loopback server's kept bodies).
    """
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    poller = HwmPoller(proc.pid)
    proc.wait()
    peak = poller.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}")
    return round(peak or 0.0, 1)


def own_peaks(result: dict[str, Any], lime: float, floor: float) -> None:
    """Put each side's own peak (:func:`hwm_peak_mib`) in ``peak_mib``; ``rusage_peak_mib`` keeps ``ru_maxrss``."""
    for side, value in (("measured", lime), ("floor", floor)):
        result[side].setdefault("rusage_peak_mib", result[side].get("peak_mib"))
        result[side]["peak_mib"] = value
