#!/usr/bin/env python3
"""lime's benchmark harness: every figure of DESIGN.md section 8 as one JSON object on stdout.

Usage::

    python benchmarks/run.py            # full run: 10 runs a side, 10,000 sessions / 100 MiB, 1,000 kills
    python benchmarks/run.py --quick    # under 2 minutes on 2 cores: 5 runs a side, 2,000 sessions / 20 MiB
    python benchmarks/run.py --smoke    # seconds: one run a side, tiny data; for CI to check the JSON's shape
    python benchmarks/run.py --only version,resume --markdown

Each figure is a ratio to a floor measured in the same run, because absolute
times on these machines vary: both sides are run after a warm-up, their raw
times and medians are reported, with the ratio, the goal and ``ok``. The
data (1 MiB sessions in 4 segments, trees of sessions) is generated under
``benchmarks/.data/`` and reused between runs. ``--markdown`` also prints the
results table of ``benchmarks/README.md`` on stderr. The exit status is 1
when a figure could not be measured (a missed goal is a result, not an error).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from bench_figures import FIGURES, Settings  # noqa: E402
from bench_picker import picker_open  # noqa: E402

FIGURES["picker_open"] = picker_open  # issue 5: the session picker opens within 2x `lime session list`
from bench_import import import_large  # noqa: E402

FIGURES["import_large"] = import_large  # issue 13: importing a 50 MB Claude Code session streams
from bench_turns import FULL_ONLY, TURN_FIGURES  # noqa: E402

FIGURES.update(TURN_FIGURES)  # print_turn against an httpx2 post; resume_turn_10mb / _50mb
from bench_catalog import session_list_cold  # noqa: E402

FIGURES["session_list_cold"] = session_list_cold  # issue 15: the first listing never waits for full text
from bench_pty import bang_pty_throughput  # noqa: E402

FIGURES["bang_pty_throughput"] = bang_pty_throughput  # issue 12: ! on a pseudo terminal, against script -qc
from bench_bang import BANG_FIGURES  # noqa: E402

FIGURES.update(BANG_FIGURES)  # issue 15: bang_stream (the ! stream alone) and bang_start (a ! line's start-up)
from bench_util import REPO  # noqa: E402

MODES = {
    "full": dict(
        repeat=10, tree_sessions=10_000, tree_bytes=100 << 20, throughput="100M", keys=200, roundtrips=100
    ),
    "quick": dict(
        repeat=5, tree_sessions=2_000, tree_bytes=20 << 20, throughput="100M", keys=100, roundtrips=50
    ),
    "smoke": dict(repeat=1, tree_sessions=200, tree_bytes=2 << 20, throughput="10M", keys=20, roundtrips=5),
}
FAULT_KILLS = {"full": 1000, "quick": 0, "smoke": 0}


def _faults(rounds: int) -> dict[str, Any]:
    """Run the kill -9 fault test with ``rounds`` rounds; its verdict and summary line."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/faults/test_kill9.py"],
        cwd=REPO,
        env=dict(os.environ, LIME_FAULT_KILLS=str(rounds)),
        capture_output=True,
        text=True,
    )
    summary = next((line for line in done.stdout.splitlines() if line.startswith("kill -9:")), None)
    return {
        "test": "tests/faults/test_kill9.py",
        "rounds": rounds,
        "passed": done.returncode == 0,
        "summary": summary,
        "seconds": round(time.perf_counter() - start, 1),
        "failure": None if done.returncode == 0 else (done.stdout + done.stderr)[-2000:],
    }


def _cell(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def markdown(result: dict[str, Any]) -> str:
    """The results table of benchmarks/README.md for ``result``."""
    rows = [
        "| figure | lime (median) | floor (median) | ratio | goal | peak MiB | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, fig in result["figures"].items():
        if "error" in fig:
            rows.append(f"| {name} | error: {fig['error'][:60]} | | | | | no |")
            continue
        mine, base = fig["measured"], fig["floor"]
        if "p99_ms" in mine:
            lime, floor = f"p99 {mine['p99_ms']:.1f} ms", f"p99 {base['p99_ms']:.1f} ms"
            ratio, goal = f"{fig['delta_p99_ms']:+.1f} ms", f"≤ +{fig['max_delta_ms']} ms"
        else:
            lime, floor = f"{mine['median_s'] * 1000:.1f} ms", f"{base['median_s'] * 1000:.1f} ms"
            ratio, goal = f"{fig['ratio']:.2f}", f"≤ {fig['max_ratio']}"
            if "max_peak_mib" in fig:
                goal += f", ≤ {fig['max_peak_mib']} MiB"
            if "memory_flat" in fig:
                goal += ", memory flat"
        peak = _cell(mine.get("peak_mib", "-"))
        if "tree_peak_pss_mib" in fig:  # two processes: their summed PSS peak, then each one's VmHWM
            children = "+".join(_cell(c) for c in fig["children_hwm_mib"]) or "none"
            peak = f"{_cell(fig['tree_peak_pss_mib'])} (PSS; VmHWM {_cell(fig['parent_hwm_mib'])} + {children})"
        if "memory_growth_mib" in fig:
            peak += f" ({fig['memory_growth_mib']:+.1f} vs 1M)"
        rows.append(
            f"| {name} | {lime} | {floor} | {ratio} | {goal} | {peak} | {'yes' if fig['ok'] else 'no'} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="5 runs a side, smaller trees: under 2 minutes")
    mode.add_argument(
        "--smoke", action="store_true", help="one run a side, tiny data: checks the JSON's shape"
    )
    parser.add_argument("--only", help="comma-separated figure names: " + ", ".join(FIGURES))
    parser.add_argument(
        "--faults", type=int, help="kill -9 rounds of the fault test (default: 1000 in a full run)"
    )
    parser.add_argument(
        "--data", type=Path, default=REPO / "benchmarks" / ".data", help="where data is generated"
    )
    parser.add_argument("--markdown", action="store_true", help="also print the results table on stderr")
    args = parser.parse_args(argv)
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    wanted = [n.strip() for n in args.only.split(",")] if args.only else list(FIGURES)
    if not args.only and name != "full":
        wanted = [n for n in wanted if n not in FULL_ONLY]
    unknown = [n for n in wanted if n not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(unknown)}")
    args.data.mkdir(parents=True, exist_ok=True)
    settings = Settings(data=args.data.resolve(), **MODES[name])  # type: ignore[arg-type]

    from lime_repl import __version__

    result: dict[str, Any] = {
        "lime": __version__,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": name,
        "repeat": settings.repeat,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "figures": {},
    }
    failed = False
    for figure_name in wanted:
        start = time.perf_counter()
        print(f"benchmark: {figure_name} ...", file=sys.stderr, flush=True)
        try:
            figure = FIGURES[figure_name](settings)
        except Exception as exc:
            failed = True
            figure = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=5)}
        figure["seconds"] = round(time.perf_counter() - start, 1)
        result["figures"][figure_name] = figure
    rounds = FAULT_KILLS[name] if args.faults is None else args.faults
    result["faults"] = _faults(rounds) if rounds > 0 else None
    result["all_ok"] = all(f.get("ok") for f in result["figures"].values()) and not failed
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    if args.markdown:
        print(markdown(result), file=sys.stderr)
    return 1 if failed or (result["faults"] and not result["faults"]["passed"]) else 0


if __name__ == "__main__":
    sys.exit(main())
