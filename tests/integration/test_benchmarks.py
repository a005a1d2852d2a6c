"""The benchmark harness runs end to end (``--smoke``) and prints every figure of DESIGN.md section 8.

No timing is asserted: CI machines vary. What is checked is that the JSON is
complete: each figure has its measured command and its floor with raw times
and medians, the ratio, the goal, and the figure-specific facts.

The smoke data (the 10 MB session made by a real import, the session trees,
the 50 MB Claude Code log) is generated under ``benchmarks/.data/smoke`` on
the first run and reused, as ``benchmarks/run.py`` reuses its own data: its
generation is two thirds of a cold smoke run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FIGURES = [
    "version",
    "first_prompt",
    "print_turn",
    "bang_roundtrip",
    "resume",
    "session_list",
    "session_search",
    "keystroke_latency",
    "picker_open",
    "import_large",
    "resume_turn_10mb",
    "session_list_cold",
    "bang_pty_throughput",
    "bang_stream",
    "bang_start",
]


SMOKE_DATA = REPO / "benchmarks" / ".data" / "smoke"


def test_smoke_run_prints_every_figure() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "run.py"),
            "--smoke",
            "--markdown",
            "--data",
            str(SMOKE_DATA),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["mode"] == "smoke" and result["faults"] is None
    assert isinstance(result["all_ok"], bool)
    assert list(result["figures"]) == FIGURES
    for name, figure in result["figures"].items():
        assert "error" not in figure, (name, figure.get("error"))
        assert figure["goal"] and isinstance(figure["ok"], bool) and figure["ratio"] > 0
        for side in ("measured", "floor"):
            data = figure[side]
            assert data["command"]
            times = data.get("times_s") or data.get("times_ms")
            assert times and all(t > 0 for t in times), (name, side)
            assert (data.get("median_s") or data.get("median_ms")) > 0
        if name == "keystroke_latency":
            assert figure["max_delta_ms"] == 10 and "delta_p99_ms" in figure
            assert figure["load"] in ("microcompaction", "transcript-rebuild") and figure["load_cycles"] > 0
        else:
            assert figure["max_ratio"] > 0
    assert result["figures"]["print_turn"]["measured"]["peak_mib"] > 0
    assert result["figures"]["print_turn"]["max_peak_mib"] == 60
    whole = result["figures"]["resume_turn_10mb"]
    assert whole["session_bytes"] > 9_000_000 and whole["segments"] > 1 and whole["max_peak_mib"] == 200
    assert whole["request_bytes"] > 1 << 20  # the session went to the model whole, not compacted
    assert result["figures"]["print_turn"]["requests_served"] >= 2
    stream = result["figures"]["bang_stream"]
    assert stream["max_ratio"] == 1.5 and stream["pipe_stream_s"] > 0 and stream["lime_1m_median_s"] > 0
    assert stream["splice_stream_s"] > 0 and stream["ratio_to_splice"] > 0
    assert isinstance(stream["memory_flat"], bool) and stream["peak_mib_1m"] > 0
    assert stream["memory_flat"] == (stream["memory_growth_mib"] <= 8)
    assert result["figures"]["bang_start"]["max_ratio"] == 1.5
    assert result["figures"]["resume"]["segments"] == 4
    assert result["figures"]["session_list"]["tree"]["sessions"] == 200
    table = done.stderr[done.stderr.index("| figure |") :]
    assert all(f"| {name} |" in table for name in FIGURES)
