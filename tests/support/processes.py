"""Whether a process still runs, read from ``/proc`` (Linux), for tests of hang-ups and background jobs."""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["alive", "wait_gone"]


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (``/proc/PID/status``); False once it is gone or reaped."""
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return False


def wait_gone(pid: int, timeout: float, message: str) -> None:
    """Poll every 50 ms until ``pid`` is no longer :func:`alive`; AssertionError(``message``) after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, message
        time.sleep(0.05)
