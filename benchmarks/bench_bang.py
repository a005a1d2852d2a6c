"""The ``bang_stream`` and ``bang_start`` figures: a ``!`` line's stream and its start-up, in line mode.

Issue 15 split the old ``bang_throughput`` figure (start-up plus stream,
against a bash that pays neither) into its two parts:

``bang_stream``
    The stream alone: ``printf '!head -c 100M /dev/zero\\n' | lime`` minus the
    same line with ``1M``, stdout to /dev/null (line mode, the session
    recorded), against the same difference for ``bash -c 'head -c …'``. Each
    side's median of the small runs is subtracted from each of its large
    runs (a difference below 1 ms counts as 1 ms), so both ratios' parts are
    medians of the same kind. Goal: at most 1.5 times bash's stream, memory
    flat: ``memory_growth_mib``, lime's peak with 100M less its peak with 1M
    (``ru_maxrss`` of each run), at most 8 MiB (``memory_flat``).

    Also reported, the least a recording through a pipe can cost (lime must
    see the bytes to keep their head and tail, so they cannot go straight
    from the command to /dev/null): ``pipe_stream_s``, the same difference
    for ``bash -c 'head -c … /dev/zero | cat'`` (one pipe, one reader that
    copies), ``splice_stream_s`` for ``head -c … /dev/zero`` into a 1 MiB pipe
    drained by ``os.splice`` to /dev/null (one pipe, nothing copied to user
    space: what lime's copy loop does with the middle of a stream), and
    ``ratio_to_pipe`` / ``ratio_to_splice``, lime's stream against each, and
    ``splice_ratio``, the splice drain against bash's stream.
``bang_start``
    ``printf '!true\\n' | lime --no-session``: start-up, one ``!`` line, exit;
    against ``python -c "import click"`` (the interpreter and lime's one
    start-up dependency). Goal: at most 1.5.
"""

from __future__ import annotations

import shlex
import statistics
import sys
from collections.abc import Callable
from typing import Any

from bench_util import Run, bench_env, figure, lime_command, measure, run_child

__all__ = ["BANG_FIGURES", "bang_start", "bang_stream"]

STREAM_RATIO = 1.5
START_RATIO = 1.5
FLAT_MIB = 8  # most a 100 MiB stream may add to lime's peak over a 1 MiB one

#: The pipe drain with no copy to user space: stdin (a pipe, enlarged to 1 MiB like lime's) spliced to stdout.
SPLICE_DRAIN = (
    "import fcntl, os\n"
    "try:\n    fcntl.fcntl(0, fcntl.F_SETPIPE_SZ, 1 << 20)\nexcept OSError:\n    pass\n"
    "while os.splice(0, 1, 1 << 20):\n    pass\n"
)


def _cwd(s: Any, name: str) -> Any:
    path = s.data / "cwd" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


#: The least a stream difference is taken to be (seconds): with one noisy run a side (``--smoke``) a
#: large run can take less than the small ones, and a ratio needs a positive time.
_MIN_STREAM_S = 0.001


def _stream(runs: list[Run], small: list[Run]) -> list[float]:
    """Each large run's time less the median of the small runs (seconds, at least :data:`_MIN_STREAM_S`)."""
    base = statistics.median(r.seconds for r in small)
    return [max(r.seconds - base, _MIN_STREAM_S) for r in runs]


def bang_stream(s: Any) -> dict[str, Any]:
    """The figure for ``s`` (a ``bench_figures.Settings``): lime's ``!`` stream against bash's."""
    env = bench_env(s.data, "home-stream")
    cwd = _cwd(s, "stream")
    size = s.throughput

    def lime(amount: str) -> Run:
        return run_child(lime_command(), env=env, cwd=cwd, stdin=f"!head -c {amount} /dev/zero\n".encode())

    def bash(amount: str) -> Run:
        return run_child(["bash", "-c", f"head -c {amount} /dev/zero"], env=env, cwd=cwd)

    def piped(amount: str) -> Run:
        return run_child(["bash", "-c", f"head -c {amount} /dev/zero | cat"], env=env, cwd=cwd)

    drain = shlex.quote(SPLICE_DRAIN)

    def spliced(amount: str) -> Run:
        return run_child(
            ["bash", "-c", f"head -c {amount} /dev/zero | {shlex.quote(sys.executable)} -c {drain}"], env=env, cwd=cwd
        )

    sides: dict[str, Callable[[str], Run]] = {"lime": lime, "bash": bash, "pipe": piped, "splice": spliced}
    big: dict[str, list[Run]] = {name: [] for name in sides}
    small: dict[str, list[Run]] = {name: [] for name in sides}
    measure(lambda: lime(size), 0, warmup=1)
    measure(lambda: bash(size), 0, warmup=1)
    for _ in range(s.repeat):  # alternating, so a change in the machine's load hits every side alike
        for name, run in sides.items():
            big[name] += measure(lambda run=run: run(size), 1, warmup=0)  # type: ignore[misc]
            small[name] += measure(lambda run=run: run("1M"), 1, warmup=0)  # type: ignore[misc]
    lime_big, lime_small, bash_big, bash_small = big["lime"], small["lime"], big["bash"], small["bash"]
    result = figure(
        f"! stream (head -c {size} minus head -c 1M from /dev/zero), line mode, stdout to /dev/null",
        (f"printf '!head -c {size} /dev/zero\\n' | lime, minus the same with 1M", _stream(lime_big, lime_small)),
        (f"bash -c 'head -c {size} /dev/zero', minus the same with 1M", _stream(bash_big, bash_small)),
        STREAM_RATIO,
    )
    peak, peak_1m = max(r.peak_mib for r in lime_big), max(r.peak_mib for r in lime_small)
    growth = peak - peak_1m
    result["measured"]["peak_mib"] = round(peak, 1)
    pipe_stream = statistics.median(_stream(big["pipe"], small["pipe"]))
    splice_stream = statistics.median(_stream(big["splice"], small["splice"]))
    lime_stream, bash_stream = result["measured"]["median_s"], result["floor"]["median_s"]
    result.update(
        lime_big_median_s=round(statistics.median(r.seconds for r in lime_big), 6),
        lime_1m_median_s=round(statistics.median(r.seconds for r in lime_small), 6),
        bash_big_median_s=round(statistics.median(r.seconds for r in bash_big), 6),
        bash_1m_median_s=round(statistics.median(r.seconds for r in bash_small), 6),
        peak_mib_1m=round(peak_1m, 1),
        memory_growth_mib=round(growth, 1),
        memory_flat=growth <= FLAT_MIB,
        pipe_stream_s=round(pipe_stream, 6),
        ratio_to_pipe=round(lime_stream / pipe_stream, 3),
        splice_stream_s=round(splice_stream, 6),
        ratio_to_splice=round(lime_stream / splice_stream, 3),
        splice_ratio=round(splice_stream / bash_stream, 3),
    )
    result["ok"] = result["ok"] and growth <= FLAT_MIB
    return result


def bang_start(s: Any) -> dict[str, Any]:
    """The figure for ``s``: ``printf '!true\\n' | lime --no-session`` against ``python -c "import click"``."""
    env = bench_env(s.data, "home-start")
    cwd = _cwd(s, "start")
    command = [*lime_command(), "--no-session"]
    floor_command = [sys.executable, "-c", "import click"]
    lime_runs, floor_runs = [], []
    measure(lambda: run_child(command, env=env, cwd=cwd, stdin=b"!true\n"), 0, warmup=1)
    measure(lambda: run_child(floor_command, env=env, cwd=cwd), 0, warmup=1)
    for _ in range(s.repeat):
        lime_runs += measure(lambda: run_child(command, env=env, cwd=cwd, stdin=b"!true\n"), 1, warmup=0)
        floor_runs += measure(lambda: run_child(floor_command, env=env, cwd=cwd), 1, warmup=0)
    return figure(
        "a ! line's start-up: lime --no-session with one !true line on stdin",
        ("printf '!true\\n' | lime --no-session", lime_runs),
        ('python -c "import click"', floor_runs),
        START_RATIO,
    )


BANG_FIGURES = {"bang_stream": bang_stream, "bang_start": bang_start}
