"""The ``import_large`` figure: ``lime import`` of a 50 MB Claude Code session against ``json.loads`` of its lines.

The session is :func:`bench_data.make_claude_log` of a real Claude Code log:
``LIME_BENCH_CLAUDE_LOG`` names one (the shared corpus has 1 to 2 MB
sessions from Claude Code 2.1), else the Claude Code fixture under
``tests/data/foreign/`` is repeated. Every measured import starts from an
empty profile, so each is a first import, not an "already imported"; only the
redaction rules cache (``cache/redact-rules.json``, which an earlier ``lime``
run made: a ``!`` line writes it, an import only reads it) is kept, as a user's profile holds it. The runs of the two
sides alternate. The goal is DESIGN.md section 8's: at most 3 times the floor,
and a peak memory of at most 150 MiB. A large import reads in a forked child
while the parent writes, so the memory is that of both processes: the peak of
the sum of their proportional set sizes, from a run of its own
(:func:`bench_tree.tree_memory`); ``peak_mib`` stays the parent's own
``VmHWM`` (:class:`bench_util.HwmPoller`) and ``children_hwm_mib`` the child's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from bench_data import make_claude_log
from bench_tree import tree_memory
from bench_util import REPO, Run, bench_env, figure, fresh_dir, lime_command, measure, run_child

__all__ = ["import_large"]

_LOADS = (
    "import json, sys\nwith open(sys.argv[1], 'rb') as fh:\n    for line in fh:\n        json.loads(line)\n"
)
_FIXTURE = REPO / "tests" / "data" / "foreign" / "claude-code" / "sample_session.jsonl"
MAX_PEAK_MIB = 150
# The timed runs' memory poller reads seldom: the import keeps both cores busy, and a poller reading every
# 2 ms took its share of them. The figure's memory comes from a run of its own (bench_tree.tree_memory).
_POLL = 0.05


def import_large(s: Any) -> dict[str, Any]:
    size = 50_000_000 if s.tree_bytes > (2 << 20) else 1_000_000
    source = Path(os.environ.get("LIME_BENCH_CLAUDE_LOG") or _FIXTURE)
    # Named by its source too: a log made from the fixture is not reused for LIME_BENCH_CLAUDE_LOG's.
    name = "large" if source == _FIXTURE else f"large-{source.stem}"
    log = make_claude_log(s.data / "claude" / f"{name}-{size}.jsonl", source, size)
    env = bench_env(s.data, "home-import")
    home = Path(env["LIME_HOME"])
    cwd = s.data / "cwd" / "import"
    cwd.mkdir(parents=True, exist_ok=True)

    rules = home / "cache" / "redact-rules.json"
    if not rules.exists():  # a profile lime has run in: a `!` line writes the rules cache (an import only reads it)
        fresh_dir(home)
        run_child([*lime_command(), "--no-session"], env=env, cwd=cwd, stdin=b"!echo hi\n")

    def fresh() -> None:
        kept = rules.read_bytes() if rules.exists() else None
        fresh_dir(home)
        if kept is not None:
            rules.parent.mkdir(parents=True)
            rules.write_bytes(kept)

    def once() -> Run:
        fresh()
        return run_child([*lime_command(), "import", str(log)], env=env, cwd=cwd, poll=_POLL)

    def floor_once() -> Run:
        return run_child([sys.executable, "-c", _LOADS, str(log)], env=env, poll=_POLL)

    # The two sides alternate, run by run, so a change of the machine's load falls on both.
    measure(once, 0)
    measure(floor_once, 0)
    lime: list[Run] = []
    floor: list[Run] = []
    for _ in range(s.repeat):
        lime += measure(once, 1, warmup=0)
        floor += measure(floor_once, 1, warmup=0)
    result = figure(
        f"lime import of a {log.stat().st_size / 1e6:.0f} MB Claude Code session",
        ("lime import FILE", lime),
        ("json.loads of every line", floor),
        3.0,
    )
    fresh()
    memory = tree_memory([*lime_command(), "import", str(log)], env=env, cwd=cwd)
    peak = memory["tree_peak_pss_mib"]
    result.update(memory, max_peak_mib=MAX_PEAK_MIB, memory_ok=peak <= MAX_PEAK_MIB, bytes=log.stat().st_size)
    result["source"] = source.name
    result["ok"] = result["ok"] and peak <= MAX_PEAK_MIB
    return result
