"""Guards of the store that a regression would silently remove, each driven through the real ``lime``.

* a torn tail longer than one 64 KiB read block: resume keeps every earlier line;
* rotation with entries bigger than what is left after a segment's preamble:
  no header-only segment, and never more rotated copies than ``backups``;
* ``lime session rm`` of a session a live writer holds: refused, exit 3, files unchanged.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "faults"))

from fault_support import bash_inputs, send, session_entries, spawn, whole_lines  # noqa: E402
from support.lime_env import LimeEnv  # noqa: E402

from lime_repl.store.segments import segment_paths  # noqa: E402


def test_resume_keeps_every_line_before_a_torn_tail_longer_than_64_kib(lime_env: LimeEnv) -> None:
    made = lime_env.run(input="!echo one\n!echo two\n")
    assert made.returncode == 0, made.stderr
    [path] = lime_env.session_files()
    whole = path.read_bytes()
    torn = b'{"type":"message","id":"deadbeef","content":"' + b"z" * 100_000  # no newline: a crash mid-write
    with open(path, "ab") as fh:
        fh.write(torn)
    resumed = lime_env.run("-r", path.name[:8], input="!echo three\n")
    assert resumed.returncode == 0, resumed.stderr
    assert f"moved a torn last line ({len(torn)} bytes)".encode() in resumed.stderr
    data = path.read_bytes()
    assert data.startswith(whole)  # every earlier line is kept
    assert bash_inputs(session_entries(path)) == ["echo one", "echo two", "echo three"]
    assert Path(f"{path}.torn").read_bytes() == torn + b"\n"


def _no_header_only_segment(active: Path) -> list[int]:
    """Check every segment file; returns their segment numbers, oldest first."""
    numbers = []
    for path in segment_paths(active):
        entries, torn = whole_lines(path)
        assert torn == b""
        assert entries[0]["type"] == "session", path
        numbers.append(entries[0]["segment"])
        preamble = 2 if entries[0]["segment"] > 0 else 1
        assert len(entries) > preamble, f"{path.name} holds only its header and checkpoint"
    assert numbers == sorted(numbers)
    return numbers


def _big_preamble(cwd: Path) -> None:
    """A 6,000-character AGENTS.md: every segment's header carries it in ``systemPrompt``.

    An entry is capped to a quarter of a segment (at least 4 KiB), so only a large preamble leaves a
    fresh segment too little room for the next triple, which is what the empty-segment guard is for.
    """
    (cwd / "AGENTS.md").write_text("Project notes. " * 400)


def _big_commands(count: int) -> str:
    # Each triple is ~4.7 KB after capping: after a segment's ~6.8 KB preamble it does not fit in 8,000 bytes.
    return "".join(f"!echo cmd-{i:02d}; head -c 7000 /dev/zero | tr '\\0' x\n" for i in range(count))


def test_rotation_with_big_entries_never_leaves_a_header_only_segment(lime_env: LimeEnv) -> None:
    keep_all = {"LIME_SESSION_MAX_BYTES": "8000", "LIME_SESSION_BACKUPS": "0"}
    _big_preamble(lime_env.cwd)
    result = lime_env.run(input=_big_commands(12), extra_env=keep_all)
    assert result.returncode == 0, result.stderr
    [active] = lime_env.session_files()
    numbers = _no_header_only_segment(active)  # segment 0 too: its first entry came right after the header
    assert numbers == list(range(len(numbers))) and len(numbers) > 10
    assert [int(c[9:11]) for c in bash_inputs(session_entries(active))] == list(range(12))

    other = lime_env.cwd / "other"
    other.mkdir()
    _big_preamble(other)
    three = {"LIME_SESSION_MAX_BYTES": "8000", "LIME_SESSION_BACKUPS": "3"}
    result = lime_env.run(input=_big_commands(30), extra_env=three, cwd=other)
    assert result.returncode == 0, result.stderr
    [active] = [p for p in lime_env.session_files() if p.parent != active.parent]
    paths = segment_paths(active)
    assert [p.name for p in paths] == [f"{active.name}.{n}" for n in (3, 2, 1)] + [active.name]
    assert not Path(f"{active}.4").exists()
    assert _no_header_only_segment(active)[-1] > 10  # many rotations
    kept = [int(c[9:11]) for c in bash_inputs(session_entries(active))]
    assert kept == list(range(kept[0], 30))  # the newest commands, none missing in between


def test_session_rm_refuses_a_session_held_by_a_live_writer(lime_env: LimeEnv) -> None:
    writer = spawn(lime_env)
    assert writer.stdout is not None
    send(writer, "!echo held")
    assert writer.stdout.readline() == b"held\n"
    [path] = lime_env.session_files()
    deadline = time.monotonic() + 30
    while bash_inputs(session_entries(path)) != ["echo held"]:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    result = lime_env.run("session", "rm", path.name[:8], "--yes")
    assert result.returncode == 3, result.stderr
    assert result.stderr.decode().splitlines() == [
        f"lime: session {path.name[:8]} is open in pid {writer.pid}; close it first"
    ]
    assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before
    _, err = writer.communicate(timeout=30)
    assert writer.returncode == 0, err
    assert json.loads(path.read_bytes().splitlines()[0])["type"] == "session"
