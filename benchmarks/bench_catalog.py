"""The ``session_list_cold`` figure: the first ``lime session list --all`` over a tree, index deleted.

Issue 15 asks that a cold catalog be fast: the first listing over 10,000
sessions (100 MiB) reads only what a listing shows (header, checkpoint,
titles, a count of lines), never the full text, so it must not wait for the
full-text index. Measured: ``lime session list --all`` over the tree of
``bench_data.make_tree`` with the catalog's cache directory deleted before
every run (warm-up included). Floor: a Python ``os.scandir`` walk of the
same tree with a ``stat`` of every file plus reading its first 4 KiB, the
least any tool can do to list sessions from their files. Goal: at most 4
times the floor.
"""

from __future__ import annotations

import shutil
import sys
from typing import Any

from bench_data import make_tree
from bench_util import Run, bench_env, figure, lime_command, measure, run_child

__all__ = ["session_list_cold"]

_WALK_HEADS = (
    "import os, sys\n"
    "def walk(p):\n"
    "    with os.scandir(p) as it:\n"
    "        for e in it:\n"
    "            if e.is_dir(follow_symlinks=False):\n"
    "                walk(e.path)\n"
    "            else:\n"
    "                e.stat()\n"
    "                with open(e.path, 'rb') as fh:\n"
    "                    fh.read(4096)\n"
    "walk(sys.argv[1])\n"
)
MAX_RATIO = 4.0


def session_list_cold(s: Any) -> dict[str, Any]:
    """The figure for ``s`` (a ``bench_figures.Settings``): cold listing against a walk reading heads."""
    root = s.data / f"tree-{s.tree_sessions}" / "lime"
    params = make_tree(root, sessions=s.tree_sessions, total_bytes=s.tree_bytes)
    env = bench_env(s.data, f"tree-{s.tree_sessions}")
    cwd = s.data / "cwd" / "list"
    cwd.mkdir(parents=True, exist_ok=True)
    command = [*lime_command(), "session", "list", "--all"]

    def cold() -> Run:
        shutil.rmtree(root / "cache", ignore_errors=True)
        return run_child(command, env=env, cwd=cwd)

    lime = measure(cold, s.repeat)
    walk = [sys.executable, "-c", _WALK_HEADS, str(root / "sessions")]
    floor = measure(lambda: run_child(walk, env=env), s.repeat)
    size = sum(f.stat().st_size for f in (root / "sessions").rglob("*.jsonl*"))
    return figure(
        f"first lime session list over {params['sessions']} sessions ({size / 2**20:.0f} MiB), index deleted",
        ("lime session list --all (index deleted before each run)", lime),
        ("python: os.scandir walk + stat + first 4 KiB of every file", floor),
        MAX_RATIO,
        tree=dict(params, bytes=size),
    )
