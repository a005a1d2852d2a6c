"""The figures of DESIGN.md section 8, one function each; ``benchmarks/run.py`` calls them in turn.

Every function takes a :class:`Settings` and returns the figure's JSON object
(see :func:`bench_util.figure`): the measured command and its floor, each with
raw times and median, their ratio, the goal and whether it is met, plus
figure-specific facts (peak memory, data sizes, what the load was).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_data import SEARCH_WORD, make_session, make_tree
from bench_util import (
    REPO,
    Run,
    bench_env,
    figure,
    fresh_dir,
    lime_command,
    measure,
    run_child,
    run_in_pty,
    timed,
)

__all__ = ["FIGURES", "Settings"]

_WALK = (
    "import os, sys\n"
    "def walk(p):\n"
    "    with os.scandir(p) as it:\n"
    "        for e in it:\n"
    "            walk(e.path) if e.is_dir(follow_symlinks=False) else e.stat()\n"
    "walk(sys.argv[1])\n"
)


@dataclass
class Settings:
    """How much to measure: ``repeat`` runs per side after a warm-up, and the data sizes."""

    data: Path
    repeat: int
    tree_sessions: int
    tree_bytes: int
    throughput: str  # the size given to ``head -c``
    keys: int
    roundtrips: int


def _cwd(settings: Settings, name: str) -> Path:
    path = settings.data / "cwd" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def version(s: Settings) -> dict[str, Any]:
    env = bench_env(s.data, "home-version")
    lime = measure(lambda: run_child([*lime_command(), "--version"], env=env), s.repeat)
    floor = measure(lambda: run_child([sys.executable, "-c", "import click"], env=env), s.repeat)
    return figure(
        "lime --version wall time", ("lime --version", lime), ("python -c 'import click'", floor), 1.3
    )


def _pty_first_prompt(env: dict[str, str], cwd: Path) -> Run:
    return run_in_pty(lime_command(), env, cwd, b"lime> ", b"\x04")  # Ctrl-D on the empty line: exit


def first_prompt(s: Settings) -> dict[str, Any]:
    env = bench_env(s.data, "home-prompt")
    cwd = _cwd(s, "prompt")
    lime = measure(lambda: _pty_first_prompt(env, cwd), s.repeat)
    floor = measure(lambda: run_child([sys.executable, "-c", "import prompt_toolkit"], env=env), s.repeat)
    return figure(
        "time to the first prompt in a pty",
        ("lime (pty, until 'lime> ')", lime),
        ("python -c 'import prompt_toolkit'", floor),
        2.0,
    )


def print_turn(s: Settings) -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "tests"))
    from support.fake_providers import FakeProviderServer, Reply

    cwd = _cwd(s, "print")
    with FakeProviderServer(default=Reply(text="Hello from the benchmark server.")) as server:
        env = bench_env(s.data, "home-print", **server.env("openai", "gpt-5.4"))
        lime = measure(lambda: run_child([*lime_command(), "-p", "hi"], env=env, cwd=cwd), s.repeat)
        requests = len(server.requests)
    floor = measure(lambda: run_child([sys.executable, "-c", "import openai"], env=env), s.repeat)
    result = figure(
        "lime -p hi against a 127.0.0.1 OpenAI-compatible server",
        ("lime -p hi", lime),
        ("python -c 'import openai'", floor),
        1.5,
    )
    peak = result["measured"]["peak_mib"]
    result.update(max_peak_mib=80, memory_ok=peak <= 80, requests_served=requests)
    result["ok"] = result["ok"] and peak <= 80
    return result


def bang_roundtrip(s: Settings) -> dict[str, Any]:
    from lime_repl.repl.console import Console
    from lime_repl.repl.controller import Controller
    from lime_repl.workspace import Workspace

    env = bench_env(s.data, "home-bang")
    lime: list[float] = []
    floor: list[Run] = []
    with open(os.devnull, "w") as devnull:
        controller = Controller.start(Workspace(_cwd(s, "bang"), env=env), Console(stdout=devnull, stderr=devnull))
        session = controller.runtime.new_session()
        assert session.path is not None
        # The disk's share: an append of a triple's size and its fsync, on the same file system.
        probe = _cwd(s, "bang") / "fsync-probe"
        scratch = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
        fsync: list[float] = []
        try:
            timed(lambda: controller.handle_line("!true"), 0, warmup=2)
            before = session.path.stat().st_size
            controller.handle_line("!true")
            triple = b"x" * max(1, session.path.stat().st_size - before)
            measure(lambda: run_child(["bash", "-c", "true"], env=env), 0)
            for _ in range(s.roundtrips):  # alternating, so a change in the machine's load hits both sides alike
                lime += timed(lambda: controller.handle_line("!true"), 1, warmup=0)
                floor += measure(lambda: run_child(["bash", "-c", "true"], env=env), 1, warmup=0)
                fsync += timed(lambda: (os.write(scratch, triple), os.fsync(scratch)), 1, warmup=0)
            shell = controller.runtime.ensure_shell()
            shell_only = timed(lambda: shell.run("true"), s.roundtrips, warmup=1)
        finally:
            controller.runtime.close()
            os.close(scratch)
            probe.unlink()
    return figure(
        "!true round trip inside the REPL (persistent shell), recorded and fsynced",
        ("Controller.handle_line('!true')", lime),
        ("bash -c true (new process)", floor),
        1.0,
        shell_run_median_s=round(statistics.median(shell_only), 6),
        write_fsync_median_s=round(statistics.median(fsync), 6),
        how="in-process: the REPL's own Controller; each line runs in the persistent bash, is logged and fsynced;"
        " write_fsync is a bare append of a triple's size and its fsync on the same disk, in the same rounds",
    )


def resume(s: Settings) -> dict[str, Any]:
    from lime_repl.context.transcript import build_transcript
    from lime_repl.store.segments import segment_paths
    from lime_repl.store.session import Session

    directory = fresh_dir(s.data / "session-1mib")
    path = make_session(directory)
    files = segment_paths(path)

    def open_and_build() -> None:
        session = Session.open(path)
        build_transcript(session.branch(), session.header)
        session.close()

    def loads() -> None:
        for file in files:
            for line in file.read_bytes().splitlines():
                json.loads(line)

    # Alternating runs (a warm-up pair first), so that the machine's load falls on both sides alike.
    lime: list[float] = []
    floor: list[float] = []
    for index in range(1 + s.repeat):
        mine, base = timed(open_and_build, 1, warmup=0), timed(loads, 1, warmup=0)
        if index:
            lime += mine
            floor += base
    return figure(
        "resume of a full session (4 segments, 1 MiB)",
        ("Session.open + build_transcript + close", lime),
        ("json.loads of every line of the same files", floor),
        3.0,
        segments=len(files),
        bytes=sum(f.stat().st_size for f in files),
        how="in-process, like its floor",
    )


def _tree(s: Settings) -> tuple[Path, dict[str, str], dict[str, Any]]:
    root = s.data / f"tree-{s.tree_sessions}" / "lime"
    params = make_tree(root, sessions=s.tree_sessions, total_bytes=s.tree_bytes)
    env = bench_env(s.data, f"tree-{s.tree_sessions}")
    return root, env, params


def session_list(s: Settings) -> dict[str, Any]:
    root, env, params = _tree(s)
    shutil.rmtree(root / "cache", ignore_errors=True)  # a cold index for the first run
    command = [*lime_command(), "session", "list", "--all"]
    cold = run_child(command, env=env, cwd=_cwd(s, "list"))
    lime = measure(lambda: run_child(command, env=env, cwd=_cwd(s, "list")), s.repeat)
    floor = measure(
        lambda: run_child([sys.executable, "-c", _WALK, str(root / "sessions")], env=env), s.repeat
    )
    return figure(
        f"lime session list over {params['sessions']} sessions",
        ("lime session list --all (index warm)", lime),
        ("python: os.scandir walk + stat of the same tree", floor),
        5.0,
        cold_index_s=round(cold.seconds, 3),
        tree=params,
    )


def session_search(s: Settings) -> dict[str, Any]:
    root, env, params = _tree(s)
    command = [*lime_command(), "session", "search", SEARCH_WORD, "--all"]
    cold = run_child(command, env=env, cwd=_cwd(s, "list"))
    lime = measure(lambda: run_child(command, env=env, cwd=_cwd(s, "list")), s.repeat)
    floor = measure(lambda: run_child(["grep", "-r", SEARCH_WORD, str(root / "sessions")], env=env), s.repeat)
    # The least a Python search can cost: a new interpreter that only stats every segment (the freshness
    # check, which no index can skip: an append changes a file, not its directory), with and without `site`.
    walk = [sys.executable, "-c", _STAT_WALK, str(root / "sessions")]
    bare = measure(lambda: run_child([walk[0], "-S", *walk[1:]], env=env), s.repeat)
    with_site = measure(lambda: run_child(walk, env=env), s.repeat)
    size = sum(f.stat().st_size for f in (root / "sessions").rglob("*.jsonl*"))
    grep_s = statistics.median(r.seconds for r in floor)
    bounds = {}
    for name, runs in (("stat_walk", bare), ("stat_walk_site", with_site)):
        median = statistics.median(r.seconds for r in runs)
        bounds[name] = (round(median, 6), round(median / grep_s, 3))
    return figure(
        f"lime session search WORD over {params['sessions']} sessions ({size / 2**20:.0f} MiB)",
        (f"lime session search {SEARCH_WORD} --all", lime),
        (f"grep -r {SEARCH_WORD}", floor),
        0.5,
        first_run_s=round(cold.seconds, 3),
        tree=dict(params, bytes=size),
        stat_walk_s=bounds["stat_walk"][0],
        stat_walk_ratio=bounds["stat_walk"][1],
        stat_walk_site_s=bounds["stat_walk_site"][0],
        stat_walk_site_ratio=bounds["stat_walk_site"][1],
    )


#: ``python -S -c`` this over a sessions directory: ``os.stat`` of every file, the whole freshness check.
_STAT_WALK = (
    "import os, sys\n"
    "for d in os.scandir(sys.argv[1]):\n"
    "    fd = os.open(d.path, os.O_RDONLY | os.O_DIRECTORY)\n"
    "    for name in os.listdir(fd):\n"
    "        os.stat(name, dir_fd=fd)\n"
    "    os.close(fd)\n"
)


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def keystroke(s: Settings) -> dict[str, Any]:
    env = bench_env(s.data, "home-keys")
    cwd = _cwd(s, "keys")
    from lime_repl.paths import sessions_dir_for

    directory, _ = sessions_dir_for(cwd, env)
    shutil.rmtree(directory, ignore_errors=True)
    path = make_session(directory, seed=3)
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("bench_keys.py")), str(path), str(s.keys)],
        env=env,
        cwd=cwd,
        capture_output=True,
        timeout=300,
    )
    data = json.loads(done.stdout or b"{}")
    if done.returncode != 0 or "error" in data or "load_ms" not in data:
        raise RuntimeError(f"bench_keys failed: {data.get('error') or done.stderr.decode()[-500:]}")
    rest, load = data["rest_ms"], data["load_ms"]
    delta = _p99(load) - _p99(rest)
    return {
        "goal": "keystroke latency while a 1 MiB session microcompacts: p99 at most 10 ms over rest",
        "measured": {
            "command": f"keystroke under load ({data['load']})",
            "times_ms": [round(v, 3) for v in load],
            "median_ms": round(statistics.median(load), 3),
            "p99_ms": round(_p99(load), 3),
        },
        "floor": {
            "command": "the same keystroke at rest",
            "times_ms": [round(v, 3) for v in rest],
            "median_ms": round(statistics.median(rest), 3),
            "p99_ms": round(_p99(rest), 3),
        },
        "ratio": round(_p99(load) / _p99(rest), 3),
        "delta_p99_ms": round(delta, 3),
        "max_delta_ms": 10,
        "ok": delta <= 10,
        "load": data["load"],
        "load_cycles": data["load_cycles"],
    }


#: Figure name -> function, in the order of DESIGN.md section 8.
FIGURES = {
    "version": version,
    "first_prompt": first_prompt,
    "print_turn": print_turn,
    "bang_roundtrip": bang_roundtrip,
    "resume": resume,
    "session_list": session_list,
    "session_search": session_search,
    "keystroke_latency": keystroke,
}
