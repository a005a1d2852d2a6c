"""Retention (DESIGN.md section 3): imports keep every entry, ``session keep``, ``session.backups``.

Large sessions are built from the real files in ``tests/data/real/`` (see
``tests/data/README.md``) by repeating their records with fresh ids until the
file passes 3 MB. Importing the grown file must keep exactly ``repeats`` times
what importing one copy keeps: every message, tool call and tool result, in
the log and in a JSONL export, with the printed entry count equal to what the
log holds.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.lime_env import LimeEnv

DATA = Path(__file__).resolve().parent.parent / "data" / "real"
TARGET = 3 * 1024 * 1024 + 1
_KEEP_IDS = {"sessionid", "session_id"}


def _fresh(value: Any, suffix: str) -> Any:
    """``value`` with every string id (keys ending in ``id``/``uuid``, not the session's) suffixed."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            lowered = key.lower()
            if (
                isinstance(item, str)
                and item
                and lowered not in _KEEP_IDS
                and (lowered.endswith("id") or lowered.endswith("uuid"))
            ):
                out[key] = item + suffix
            else:
                out[key] = _fresh(item, suffix)
        return out
    if isinstance(value, list):
        return [_fresh(item, suffix) for item in value]
    return value


def grow(source: Path, dest: Path, head: int) -> int:
    """Write ``source``'s first ``head`` lines once, then its other records repeated with fresh ids.

    Returns how many copies of the body were written (the file ends past 3 MB).
    """
    lines = source.read_bytes().splitlines()
    body = [json.loads(line) for line in lines[head:] if line.strip()]
    size, copies = 0, 0
    with open(dest, "wb") as out:
        for line in lines[:head]:
            out.write(line + b"\n")
            size += len(line) + 1
        while size < TARGET:
            suffix = f"-r{copies}" if copies else ""
            for record in body:
                data = json.dumps(_fresh(record, suffix), ensure_ascii=False).encode() + b"\n"
                out.write(data)
                size += len(data)
            copies += 1
    return copies


def log_counts(paths: list[Path]) -> Counter[str]:
    """Entries, messages, tool calls and tool results in lime JSONL files (headers and checkpoints aside)."""
    counts: Counter[str] = Counter()
    for path in paths:
        for raw in path.read_bytes().splitlines():
            entry = json.loads(raw)
            if entry.get("type") in ("session", "checkpoint"):
                continue
            counts["entries"] += 1
            if entry.get("type") != "message":
                continue
            counts[f"message:{entry.get('role')}"] += 1
            content = entry.get("content")
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") in ("tool_use", "tool_result"):
                    counts[str(block["type"])] += 1
    return counts


def _import(lime_env: LimeEnv, source: Path) -> tuple[str, int]:
    result = lime_env.run("import", str(source), timeout=300)
    assert result.returncode == 0, result.stderr.decode()
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr
    reported = re.search(r"\((\d+) entries\)", stderr)
    assert reported is not None, stderr
    return result.stdout.decode().strip(), int(reported.group(1))


def _session_paths(lime_env: LimeEnv, session_id: str) -> list[Path]:
    """The session's segment files, oldest first, the active file last."""
    found = [
        p
        for p in lime_env.home.glob(f"sessions/*/{session_id}.jsonl*")
        if re.search(r"\.jsonl(\.\d+)?$", p.name)
    ]
    return sorted(found, key=lambda p: -int(p.name.rsplit(".", 1)[1]) if p.name[-1].isdigit() else 1)


def _check_import(lime_env: LimeEnv, tmp_path: Path, source: Path, head: int) -> None:
    one_id, _ = _import(lime_env, source)
    one = log_counts(_session_paths(lime_env, one_id))
    assert one["tool_use"] > 0 and one["tool_result"] > 0 and one["message:user"] > 0, one
    # The grown file keeps the source's session id: remove the first import, or re-import would extend it.
    assert lime_env.run("session", "rm", one_id, "--yes").returncode == 0
    big = tmp_path / f"big-{source.name}"
    copies = grow(source, big, head)
    assert big.stat().st_size > 3 * 1024 * 1024 and copies >= 2
    session_id, reported = _import(lime_env, big)
    paths = _session_paths(lime_env, session_id)
    assert len(paths) > 4, "the import should span more segments than rotation keeps by default"
    kept = log_counts(paths)
    for key in ("message:user", "message:assistant", "tool_use", "tool_result"):
        assert kept[key] == copies * one[key], (key, kept[key], copies, one[key])
    assert reported == kept["entries"], "the import reported a count it did not keep"
    exported = lime_env.run("export", session_id, "--format", "jsonl", "-o", "-", timeout=300)
    assert exported.returncode == 0, exported.stderr.decode()
    dump = tmp_path / "export.jsonl"
    dump.write_bytes(exported.stdout)
    assert log_counts([dump]) == kept
    listed = json.loads(lime_env.run("session", "list", "--format", "json").stdout)
    mine = next(s for s in listed if s["id"] == session_id)
    assert mine["dropped"] == 0 and mine["entries"] == kept["entries"]
    assert mine["bytes"] == sum(p.stat().st_size for p in paths)


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("pi/large-session.jsonl", 1),
        ("codex/rollout-2026-05-11T11-26-55-019e1625-789d-76c0-80ab-3724b5ddb799.jsonl", 1),
        ("claude-code/fe5e1c67-53e7-4862-81ae-d0e013e3270b.jsonl", 0),
        ("kimi/kimi-cli-2025-10-swebench/531d195b-6436-426e-b010-4bf723a992de.jsonl", 0),
    ],
)
def test_large_foreign_import_keeps_every_entry(
    lime_env: LimeEnv, tmp_path: Path, name: str, head: int
) -> None:
    _check_import(lime_env, tmp_path, DATA / name, head)


def test_large_lime_import_keeps_every_entry(lime_env: LimeEnv, tmp_path: Path) -> None:
    """A lime JSONL export of more than 3 MB (several segments joined) imports whole."""
    source_id, _ = _import(lime_env, DATA / "claude-code/fe5e1c67-53e7-4862-81ae-d0e013e3270b.jsonl")
    exported = lime_env.run("export", source_id, "--format", "jsonl", "-o", "-", timeout=300)
    assert exported.returncode == 0, exported.stderr.decode()
    small = tmp_path / "lime-small.jsonl"
    small.write_bytes(exported.stdout)
    big = tmp_path / "lime-big.jsonl"
    # A lime log repeats its header at each segment; grow the entries after the first header only.
    lines = [json.loads(line) for line in small.read_bytes().splitlines()]
    header = lines[0]
    entries = [e for e in lines if e.get("type") not in ("session", "checkpoint")]
    one = log_counts([small])
    copies, size, last = 0, 0, None
    with open(big, "w", encoding="utf-8") as out:
        out.write(json.dumps(header) + "\n")
        while size < TARGET:
            for entry in entries:
                record = _fresh(entry, f"-r{copies}") if copies else dict(entry)
                if copies and record.get("parentId") is None:
                    record["parentId"] = last  # one chain: each copy continues the previous one
                line = json.dumps(record, ensure_ascii=False) + "\n"
                out.write(line)
                size += len(line.encode())
            last = record["id"]
            copies += 1
    session_id, reported = _import(lime_env, big)
    paths = _session_paths(lime_env, session_id)
    kept = log_counts(paths)
    assert len(paths) > 4
    for key in ("message:user", "message:assistant", "tool_use", "tool_result"):
        assert kept[key] == copies * one[key], (key, kept[key], copies, one[key])
    assert reported == kept["entries"]
    header_line = json.loads(paths[-1].read_bytes().splitlines()[0])
    assert header_line["retain"] == 0


def _bash_lines(n: int, width: int = 2000) -> str:
    return "".join(f"!printf '%0{width}d\\n' {i}\n" for i in range(n))


def test_new_session_honours_backups_and_keep(lime_env: LimeEnv) -> None:
    """A new session records ``retain`` from ``session.backups``; ``session keep`` stops the pruning."""
    small = {"LIME_SESSION_MAX_BYTES": "8192", "LIME_SESSION_BACKUPS": "2"}
    first = lime_env.run(input=_bash_lines(30), extra_env=small)
    assert first.returncode == 0, first.stderr.decode()
    (active,) = lime_env.session_files()
    session_id = active.name.split(".")[0]
    assert len(_session_paths(lime_env, session_id)) == 3  # the active file and 2 rotated copies
    assert json.loads(active.read_bytes().splitlines()[0])["retain"] == 2
    listed = json.loads(lime_env.run("session", "list", "--format", "json").stdout)[0]
    assert listed["dropped"] > 0
    table = lime_env.run("session", "list").stdout.decode()
    assert "DROPPED" in table and f"{listed['dropped']}" in table.splitlines()[1]

    # Resuming with another config keeps the session's own retain.
    resumed = lime_env.run(
        "-r", session_id, input=_bash_lines(10), extra_env={**small, "LIME_SESSION_BACKUPS": "5"}
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert len(_session_paths(lime_env, session_id)) == 3

    kept = lime_env.run("session", "keep", session_id[:8])
    assert kept.returncode == 0, kept.stderr.decode()
    assert "keeps every segment" in kept.stderr.decode()
    last = json.loads(active.read_bytes().splitlines()[-1])
    assert last["type"] == "retention" and last["retain"] == 0
    dropped_before = listed["dropped"]
    more = lime_env.run("-r", session_id, input=_bash_lines(30), extra_env=small)
    assert more.returncode == 0, more.stderr.decode()
    files = _session_paths(lime_env, session_id)
    assert len(files) > 5, "after session keep, rotation prunes nothing"
    assert json.loads(active.read_bytes().splitlines()[0])["retain"] == 0
    after = json.loads(lime_env.run("session", "list", "--format", "json").stdout)[0]
    assert after["dropped"] >= dropped_before
    again = lime_env.run("session", "keep", session_id[:8])
    assert again.returncode == 0 and "already" in again.stderr.decode()


def test_status_shows_bytes_and_dropped(lime_env: LimeEnv) -> None:
    small = {"LIME_SESSION_MAX_BYTES": "8192", "LIME_SESSION_BACKUPS": "1"}
    result = lime_env.run(input=_bash_lines(20) + "/status\n", extra_env=small)
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    match = re.search(r"holds\s+([\d,]+) bytes; rotation dropped (\d+) entries so far; keeps 1 rotated", out)
    assert match is not None, out
    (active,) = lime_env.session_files()
    files = _session_paths(lime_env, active.name.split(".")[0])
    assert int(match.group(2)) > 0
    assert int(match.group(1).replace(",", "")) <= sum(p.stat().st_size for p in files) + 4096


def test_keep_unknown_session_is_one_line(lime_env: LimeEnv) -> None:
    result = lime_env.run("session", "keep", "deadbeef")
    assert result.returncode == 2
    assert len(result.stderr.decode().strip().splitlines()) == 1
