"""``bang_pty_throughput``: ``!head -c 100M /dev/zero`` through the pseudo-terminal engine of the interactive REPL.

lime's side is :meth:`lime_repl.repl.ptyshell.PtyShell.run` in this process (the
persistent bash already started, as in a session), its output copied to
``/dev/null`` and recorded (head and tail kept, mode scan, cleaned). The
floor is the same command under util-linux ``script -qc`` (a pseudo terminal
and a copy loop in C), its typescript and stdout ``/dev/null``. Goal: at
most 1.5 times the floor.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from bench_util import bench_env, figure, measure, run_child, timed

__all__ = ["bang_pty_throughput"]


def bang_pty_throughput(s: Any) -> dict[str, Any]:
    """The figure (``s`` is ``bench_figures.Settings``: ``throughput`` and ``repeat`` are used)."""
    from lime_repl.repl.ptyshell import PtyShell

    if shutil.which("script") is None:
        raise RuntimeError("util-linux script is not installed")
    env = bench_env(s.data, "home-pty-throughput")
    cwd = s.data / "cwd" / "pty-throughput"
    cwd.mkdir(parents=True, exist_ok=True)
    command = f"head -c {s.throughput} /dev/zero"
    codes: list[int] = []
    with PtyShell(cwd, env=env, rc=False) as shell, open(os.devnull, "wb") as sink:

        def once() -> None:
            result = shell.run(command, None, sink.fileno())
            codes.append(result.exit_code)

        lime = timed(once, s.repeat, warmup=1)
    if any(codes):
        raise RuntimeError(f"{command} exited {codes}")
    floor = measure(lambda: run_child(["script", "-qc", command, "/dev/null"], env=env, cwd=cwd), s.repeat)
    return figure(
        f"!{command} through the pseudo-terminal engine, output to /dev/null",
        (f"PtyShell.run({command!r})", lime),
        (f"script -qc '{command}' /dev/null", floor),
        1.5,
    )
