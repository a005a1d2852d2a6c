"""The memory of a process and the processes it forks, for a figure whose program uses two processes.

A large ``lime import`` reads in a forked child while the parent writes
(``lime_repl/exchange/stream_fork.py``), so the import's own ``VmHWM``
(:class:`bench_util.HwmPoller`) leaves the child out, and the sum of the two
``VmHWM`` counts twice every page the child shares with its parent since the
fork. :class:`TreePoller` reads both: each process's ``VmHWM`` and the sum of
their proportional set sizes (``Pss`` of ``/proc/PID/smaps_rollup``, where a
shared page counts once, split between its sharers), whose peak is the
memory the import holds. Reading ``smaps_rollup`` walks a process's page
tables, so :func:`tree_memory` is a run of its own, not one of the timed runs.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["TreePoller", "tree_memory"]


def _field(path: str, name: bytes) -> int | None:
    """The value (KiB) of the ``name:`` line of a ``/proc`` file, or None when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            for line in fh:
                if line.startswith(name):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


class TreePoller:
    """Process ``pid`` and its children, read every ``interval`` seconds from a daemon thread until :meth:`stop`.

    ``peak_pss_kib`` is the largest sum of their ``Pss`` seen at one read; ``hwm_kib`` maps each pid seen to
    its largest ``VmHWM`` (the parent's first).
    """

    def __init__(self, pid: int, interval: float = 0.005) -> None:
        self.pid = pid
        self.peak_pss_kib = 0
        self.hwm_kib: dict[int, int] = {}
        self._interval = interval
        self._done = threading.Event()
        self._read()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _read(self) -> bool:
        pids = [self.pid, *_children(self.pid)]
        total, alive = 0, False
        for pid in pids:
            pss = _field(f"/proc/{pid}/smaps_rollup", b"Pss:")
            hwm = _field(f"/proc/{pid}/status", b"VmHWM:")
            if pss is None or hwm is None:
                continue
            alive = True
            total += pss
            self.hwm_kib[pid] = max(self.hwm_kib.get(pid, 0), hwm)
        self.peak_pss_kib = max(self.peak_pss_kib, total)
        return alive

    def _poll(self) -> None:
        while not self._done.wait(self._interval):
            if not self._read():
                return

    def stop(self) -> dict[str, Any]:
        """Stop reading; the figures in MiB: ``tree_peak_pss_mib``, ``parent_hwm_mib``, ``children_hwm_mib``."""
        self._done.set()
        self._thread.join()
        parent = self.hwm_kib.get(self.pid, 0)
        children = [kib for pid, kib in self.hwm_kib.items() if pid != self.pid]
        return {
            "tree_peak_pss_mib": round(self.peak_pss_kib / 1024, 1),
            "parent_hwm_mib": round(parent / 1024, 1),
            "children_hwm_mib": [round(kib / 1024, 1) for kib in children],
        }


def tree_memory(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None) -> dict[str, Any]:
    """Run ``argv`` once and give :meth:`TreePoller.stop`'s figures. Raises ``RuntimeError`` if it fails."""
    proc = subprocess.Popen(
        list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(env), cwd=cwd
    )
    poller = TreePoller(proc.pid)
    code = proc.wait()
    figures = poller.stop()
    if code != 0:
        raise RuntimeError(f"{' '.join(argv)[:120]} exited {code}")
    return figures
