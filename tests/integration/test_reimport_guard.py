"""Entries added by a re-import ("added N entries") pass the same shape check and entry guard as a first import.

Drives the real ``lime import`` in a private ``LIME_HOME``: a Claude Code log
and a Codex rollout (read line by line, the streamed path) and a lime jsonl
export (read whole)
are imported, lines are appended to them as the other tool would append, one
of them hostile (a secret, a lone surrogate, a block of the wrong shape), and
the file is imported again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.exchange_helpers import FOREIGN
from support.lime_env import LimeEnv

SK = "sk-" + "Q7w9E2r4T6y8U1i3O5p7A9s2D4f6G8h1J3k5"


def _claude_tail() -> bytes:
    common = {"sessionId": "test-session-id", "cwd": "/project"}
    records = [
        {"type": "user", "timestamp": "2025-12-24T10:02:00.000Z", "uuid": "msg-008", **common,
         "message": {"role": "user", "content": f"deploy with {SK} now \udcff"}},
        {"type": "assistant", "timestamp": "2025-12-24T10:02:05.000Z", "uuid": "msg-009", **common,
         "message": {"role": "assistant", "content": [{"type": 5, "text": "a block of the wrong shape"}]}},
        {"type": "assistant", "timestamp": "2025-12-24T10:02:10.000Z", "uuid": "msg-010", **common,
         "message": {"role": "assistant", "content": [{"type": "text", "text": "a good answer"}]}},
    ]  # fmt: skip
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)  # ensure_ascii: \udcff stays an escape


def _lime_tail(last_id: str) -> bytes:
    entries = [
        {"type": "message", "id": "0000aa01", "parentId": last_id, "timestamp": "2026-01-01T00:01:00.000Z",
         "role": "user", "content": [{"type": "text", "text": f"deploy with {SK} now \udcff"}]},
        {"type": "message", "id": "0000aa02", "parentId": "0000aa01", "timestamp": "2026-01-01T00:01:01.000Z",
         "role": "assistant", "content": 42},
        {"type": "message", "id": "0000aa03", "parentId": "0000aa02", "timestamp": "2026-01-01T00:01:02.000Z",
         "role": "assistant", "content": [{"type": "text", "text": "a good answer"}]},
    ]  # fmt: skip
    return b"".join(json.dumps(e).encode() + b"\n" for e in entries)


def _codex_tail() -> bytes:
    def item(stamp: str, payload: dict) -> dict:
        return {"timestamp": stamp, "type": "response_item", "payload": payload}

    records = [
        item("2026-02-23T12:30:00.000Z", {"type": "message", "role": "user",
             "content": [{"type": "input_text", "text": f"deploy with {SK} now \udcff"}]}),
        item("2026-02-23T12:30:01.000Z", {"type": "message", "role": "assistant",
             "content": [{"type": 5, "text": "a block of the wrong shape"}]}),
        item("2026-02-23T12:30:02.000Z", {"type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": "a good answer"}]}),
    ]  # fmt: skip
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def _codex_source(lime_env: LimeEnv, tmp_path: Path) -> tuple[Path, bytes]:
    fixture = FOREIGN / "codex" / "rollout-2026-02-23T13-19-38-019c8a70-dda7-7f33-98ea-f30553347322.jsonl"
    source = tmp_path / fixture.name
    shutil.copy(fixture, source)
    return source, _codex_tail()


def _claude_source(lime_env: LimeEnv, tmp_path: Path) -> tuple[Path, bytes]:
    source = tmp_path / "9d1c2e6a-0000-4000-8000-000000000001.jsonl"
    shutil.copy(FOREIGN / "claude-code" / "sample_session.jsonl", source)
    return source, _claude_tail()


def _lime_source(lime_env: LimeEnv, tmp_path: Path) -> tuple[Path, bytes]:
    made = lime_env.run(input="!echo a lime session\n")
    assert made.returncode == 0, made.stderr.decode()
    (log,) = lime_env.session_files()
    source = tmp_path / "export.jsonl"
    exported = lime_env.run("export", log.name[:8], "--format", "jsonl", "-o", str(source))
    assert exported.returncode == 0, exported.stderr.decode()
    last = json.loads(source.read_bytes().splitlines()[-1])["id"]
    log.unlink()  # the export is imported as the other copy of that session
    return source, _lime_tail(last)


@pytest.mark.parametrize(
    "make", [_claude_source, _codex_source, _lime_source], ids=["claude-streamed", "codex-streamed", "lime-whole"]
)
def test_added_entries_pass_the_shape_check_and_the_guard(lime_env: LimeEnv, tmp_path: Path, make) -> None:
    source, tail = make(lime_env, tmp_path)
    first = lime_env.run("import", str(source))
    assert first.returncode == 0, first.stderr.decode()
    short = first.stdout.decode().strip()[:8]
    (log,) = lime_env.session_files()
    before = log.read_bytes().splitlines()
    with source.open("ab") as fh:
        fh.write(tail)
    again = lime_env.run("import", str(source))
    err = again.stderr.decode()
    assert again.returncode == 0 and "Traceback" not in err, err
    assert f"added 3 entries to {short}" in err, err
    assert "kept 1 entries of the wrong shape as custom entries" in err, err
    (same,) = lime_env.session_files()
    data = b"".join(p.read_bytes() for p in sorted(same.parent.glob(same.name + "*")))
    assert SK.encode() not in data and b"[REDACTED]" in data
    lines = same.read_bytes().splitlines()
    assert lines[: len(before)] == before, "the earlier entries are left as they were"
    added = [json.loads(line) for line in lines[len(before) :]]
    added = [
        e
        for e in added
        if e["type"] in ("message", "custom") and e.get("customType") != "claude-code:summary"
    ]
    assert len(added) == 3, added
    prompt, odd, answer = added
    assert prompt["content"][0]["text"] == "deploy with [REDACTED] now \ufffd"
    assert (
        odd["type"] == "custom" and odd["customType"] == "lime:malformed" and odd["data"]["type"] == "message"
    )
    assert answer["content"] == [{"type": "text", "text": "a good answer"}]
    assert answer["parentId"] == odd["id"] and odd["parentId"] == prompt["id"]
    # once more: nothing new
    third = lime_env.run("import", str(source))
    assert third.returncode == 0 and f"already imported as {short}" in third.stderr.decode()
