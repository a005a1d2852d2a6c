"""``lime doctor``: real damaged logs, the real command, exit codes, and what --repair changes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support.lime_env import LimeEnv

from lime_repl.store.records import dumps, session_header


def _session(lime_env: LimeEnv, lines: str = "!echo one\n!echo two\n", **extra: str) -> Path:
    result = lime_env.run(input=lines, extra_env=extra)
    assert result.returncode == 0, result.stderr
    return max(lime_env.session_files(), key=lambda p: p.stat().st_mtime_ns)


def _doctor(lime_env: LimeEnv, *args: str) -> tuple[int, str, str]:
    result = lime_env.run("doctor", *args)
    assert b"Traceback" not in result.stderr
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_a_healthy_session_is_clean(lime_env: LimeEnv) -> None:
    _session(lime_env)
    code, out, err = _doctor(lime_env)
    assert code == 0, out
    assert "problem" not in out
    assert "checked 1 session: no problems" in err


def test_torn_tail_is_reported_then_repaired_under_the_lock(lime_env: LimeEnv) -> None:
    path = _session(lime_env)
    whole = path.read_bytes()
    with open(path, "ab") as fh:
        fh.write(b'{"type":"message","id":"dead')
    before = _snapshot(path.parent)
    code, out, _ = _doctor(lime_env)
    assert code == 1
    assert f"{path}: torn last line of 28 bytes" in out
    assert _snapshot(path.parent) == before  # checking changes nothing

    code, out, err = _doctor(lime_env, "--repair")
    assert code == 0, out
    assert f"repaired  {path}: torn last line of 28 bytes; moved 28 bytes to {path.name}.torn" in out
    assert "no problems left" in err
    assert path.read_bytes() == whole
    assert Path(f"{path}.torn").read_bytes() == b'{"type":"message","id":"dead\n'

    code, out, _ = _doctor(lime_env)
    assert code == 0
    assert "bytes kept from an earlier repair" in out and "note" in out


def test_repair_never_touches_a_session_another_lime_writes(lime_env: LimeEnv) -> None:
    path = _session(lime_env)
    writer = subprocess.Popen(
        [sys.executable, "-m", "lime_repl", "-r", path.name[:8]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=lime_env.cwd,
        env=lime_env.env,
    )
    try:
        assert writer.stdin is not None and writer.stdout is not None
        # "ready" is printed once the first line is recorded; the writer then sleeps, appending nothing.
        writer.stdin.write(b"!echo holding\n!echo ready; sleep 30\n")
        writer.stdin.flush()
        assert writer.stdout.readline() == b"holding\n"
        assert writer.stdout.readline() == b"ready\n"
        with open(path, "ab") as fh:
            fh.write(b'{"torn')
        code, out, _ = _doctor(lime_env, "--repair")
        assert code == 1
        assert f"not repaired: the session is open in pid {writer.pid}" in out
        assert path.read_bytes().endswith(b'{"torn')
    finally:
        writer.kill()
        writer.communicate(timeout=30)


def test_bad_lines_headers_and_checkpoints(lime_env: LimeEnv) -> None:
    path = _session(lime_env, "".join(f"!echo {i}\n" for i in range(8)), LIME_SESSION_MAX_BYTES="2048")
    rotated = Path(f"{path}.1")
    lines = rotated.read_bytes().splitlines(keepends=True)
    assert json.loads(lines[1])["type"] == "checkpoint"
    rotated.write_bytes(lines[0] + lines[2] + b"{not json\n" + b"".join(lines[3:]))
    active = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(active[1:]))
    before = _snapshot(path.parent)
    code, out, _ = _doctor(lime_env, path.name[:8])
    assert code == 1
    assert f"{rotated}:2: segment" in out and "has no checkpoint line" in out
    assert f"{rotated}:3: skipped bad line: not valid JSON" in out
    assert f"{path}:1: the segment does not open with a session header" in out
    code, out, _ = _doctor(lime_env, path.name[:8], "--repair")
    assert code == 1  # none of these can be repaired safely
    assert "repaired  " + str(path.parent) + ": the catalog" in out  # only the derived index
    assert out.count("repaired") == 1
    assert _snapshot(path.parent) == before


def _write_entries(directory: Path, sid: str, entries: list[dict]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{sid}.jsonl"
    header = session_header("00000000", sid, "/w", created="2026-01-01T00:00:00.000Z")
    path.write_bytes(dumps(header) + b"".join(dumps(e) for e in entries))
    return path


def _msg(entry_id: str, parent: str | None, text: str = "hi") -> dict:
    return {
        "type": "message",
        "id": entry_id,
        "parentId": parent,
        "timestamp": "2026-01-01T00:00:00.000Z",
        "role": "user",
        "content": [{"type": "text", "text": text}],
    }


def test_tree_integrity_problems_are_named(lime_env: LimeEnv) -> None:
    directory = _session(lime_env).parent
    sid = "ab" * 16
    _write_entries(
        directory,
        sid,
        [
            _msg("a0000001", None),
            _msg("a0000001", None, "again"),  # duplicate id
            _msg("b0000001", "c0000001"),  # b -> c -> b: a cycle
            _msg("c0000001", "b0000001"),
            _msg("d0000001", "ffffffff"),  # missing parent
            {"type": "leaf", "id": "e0000001", "parentId": None, "timestamp": "x", "targetId": "99999999"},
            {"type": "message", "id": 7, "parentId": None},
        ],
    )
    code, out, _ = _doctor(lime_env, sid[:8])
    assert code == 1
    assert "duplicate entry id a0000001" in out
    assert "entry b0000001 is in a parentId cycle" in out
    assert "1 entries name a missing parent ffffffff" in out
    assert "the leaf 99999999 names no entry" in out
    assert "a 'message' entry without a string id" in out


def test_orphans_and_a_stale_catalog(lime_env: LimeEnv) -> None:
    path = _session(lime_env)
    directory = path.parent
    orphan = "cd" * 16
    (directory / f"{orphan}.jsonl.torn").write_bytes(b'{"half\n')
    (directory / f"{orphan}.jsonl.lock").write_bytes(b"")
    code, out, _ = _doctor(lime_env, "--all")
    assert code == 1
    assert f"{orphan}.jsonl.torn: orphaned .torn file" in out
    assert f"{orphan}.jsonl.lock: lock file without a session" in out

    assert lime_env.run("session", "list").returncode == 0  # brings the index up to date
    assert "catalog" not in _doctor(lime_env)[1]
    _session(lime_env)  # a new session the index has not seen
    code, out, _ = _doctor(lime_env, "--repair")
    assert "the catalog is stale (1 files new or changed, 0 gone since the last listing); refreshed it" in out
    assert f"repaired  {directory / orphan}.jsonl.lock: lock file without a session; deleted it" in out
    assert code == 1  # the orphaned .torn is data: doctor never deletes it
    assert not (directory / f"{orphan}.jsonl.lock").exists()
    assert (directory / f"{orphan}.jsonl.torn").exists()
    assert "catalog" not in _doctor(lime_env)[1]


def test_bad_arguments(lime_env: LimeEnv) -> None:
    _session(lime_env)
    assert lime_env.run("doctor", "ffffffff").returncode == 2
    result = lime_env.run("doctor", "latest", "--all")
    assert result.returncode == 2 and b"not both" in result.stderr
