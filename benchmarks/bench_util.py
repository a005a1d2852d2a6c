"""Measuring helpers for ``benchmarks/run.py``: timed child processes with their own peak memory, and figures.

Every child is started with :class:`subprocess.Popen` and reaped with
``os.wait4``, which returns that child's own ``rusage``: its ``ru_maxrss``
(KiB on Linux) is the peak resident memory of exactly that run, unlike
``RUSAGE_CHILDREN``, which is the largest of all children so far.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["REPO", "Run", "bench_env", "figure", "lime_command", "measure", "run_child", "timed"]

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    """One child run: wall time in seconds, peak RSS in MiB, exit status."""

    seconds: float
    peak_mib: float
    status: int
    command: str = ""


def run_child(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    stdin: bytes | None = None,
    stdout: int | IO[bytes] = subprocess.DEVNULL,
) -> Run:
    """Run ``argv`` to completion; stdin from ``stdin`` (bytes) or /dev/null, stdout to ``stdout``.

    stderr is discarded. The time covers fork to reap.
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
    return Run(seconds, usage.ru_maxrss / 1024, proc.returncode, " ".join(argv)[:120])


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

    Returns the time to the marker, the child's peak RSS (``os.wait4``) and its exit status.
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
    return Run(elapsed, usage.ru_maxrss / 1024, proc.returncode, command)
