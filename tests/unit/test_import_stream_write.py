"""A first import of a Claude Code log, written while it is read, holds exactly what the whole-file read gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.exchange_helpers import FOREIGN

from lime_repl.exchange.import_ import read_bytes
from lime_repl.outputs.guard import guard_entry
from lime_repl.outputs.redact import Redactor
from lime_repl.store.session import Session

STAMP = "2026-01-01T00:00:00.000Z"
REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "claude-code"


def _shape(entries: list[dict]) -> list[str]:
    """Each entry without its ids, beside its parent's and its first kept entry's (the tree, id-free)."""
    drop = {"id", "parentId", "timestamp", "firstKeptEntryId"}
    by_id = {e["id"]: e for e in entries}

    def body(entry: dict | None) -> str:
        if entry is None:
            return "-"
        return json.dumps({k: v for k, v in entry.items() if k not in drop}, sort_keys=True)

    return sorted(
        body(e) + body(by_id.get(e["parentId"])) + body(by_id.get(e.get("firstKeptEntryId"))) for e in entries
    )


def _grown(tmp_path: Path) -> Path:
    """The Claude Code fixture followed by 80 progress records (kept whole, past the first lines) on its chain."""
    fixture = FOREIGN / "claude-code/sample_session.jsonl"
    lines = [fixture.read_text()]
    parent = "msg-007"
    for n in range(80):
        record = {
            "parentUuid": parent,
            "type": "progress",
            "uuid": f"progress-{n}",
            "sessionId": "test-session-id",
            "timestamp": f"2025-12-24T10:02:{n % 60:02d}.000Z",
            "data": {"n": n, "text": "é ✓ \u2028 \"q\"", "cost": 1e-05 * n, "nested": [[{"deep": None}]]},
        }
        lines.append(json.dumps(record, ensure_ascii=n % 2 == 0) + "\n")
        parent = record["uuid"]
    grown = tmp_path / "grown.jsonl"
    grown.write_text("".join(lines), encoding="utf-8")
    return grown


def test_streamed_import_writes_every_entry_whole(tmp_path: Path) -> None:
    # files that fit in the segments a session keeps (every segment of an import is kept once retention says so)
    small = [p for p in sorted(REAL.glob("*.jsonl")) if p.stat().st_size < 800_000]
    sources = [FOREIGN / "claude-code/sample_session.jsonl", _grown(tmp_path), *small]
    total = 0
    for number, source in enumerate(sources):
        home = tmp_path / f"home{number}"
        env = dict(os.environ, LIME_HOME=str(home))
        done = subprocess.run(
            [sys.executable, "-m", "lime_repl", "import", str(source)],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        (path,) = home.glob("sessions/*/*.jsonl")
        session = Session.load(path)
        written = [e for e in session.entries.values() if e["type"] not in ("title", "leaf", "label")]
        whole = read_bytes(source.read_bytes(), str(source), cap=1 << 30, fallback=STAMP)
        assert _shape(written) == _shape(whole.entries)
        total += len(written)
        by_id = {e["id"]: e for e in written}
        assert all(e["parentId"] is None or e["parentId"] in by_id for e in written)
    assert total > 100


def test_streamed_codex_import_holds_what_the_whole_file_read_gives(tmp_path: Path) -> None:
    """A Codex rollout is written on its second pass; usage, error flags and prompts match the whole read."""
    real = Path(__file__).resolve().parents[1] / "data" / "real" / "codex"
    sources = [*sorted((FOREIGN / "codex").glob("*.jsonl")), *sorted(real.glob("*.jsonl"))]
    with_usage = 0
    for number, source in enumerate(sources):
        home = tmp_path / f"home{number}"
        env = dict(os.environ, LIME_HOME=str(home))
        done = subprocess.run(
            [sys.executable, "-m", "lime_repl", "import", str(source)],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        (path,) = home.glob("sessions/*/*.jsonl")
        session = Session.load(path)
        written = [e for e in session.entries.values() if e["type"] not in ("title", "leaf", "label")]
        whole = read_bytes(source.read_bytes(), str(source), cap=1 << 30, fallback=STAMP)
        redactor = Redactor(env)
        stored = [guard_entry(e, segment_bytes=262_144, redact=redactor) for e in whole.entries]
        assert _shape(written) == _shape(stored), source.name  # as stored: redacted and capped
        assert session.title == whole.title
        with_usage += sum("usage" in e for e in written)
    assert with_usage > 0  # the held assistant messages got the usage of their token_count


def test_a_streamed_claude_message_of_the_wrong_shape_is_kept_as_a_custom_entry(tmp_path: Path) -> None:
    """The reader's own blocks are not checked again, but a source block without a string type still is."""
    fixture = (FOREIGN / "claude-code/sample_session.jsonl").read_text(encoding="utf-8")
    odd = {
        "parentUuid": "msg-007", "type": "assistant", "uuid": "odd-1", "sessionId": "test-session-id",
        "timestamp": "2025-12-24T10:05:00.000Z",
        "message": {"role": "assistant", "content": [{"type": "text", "text": "fine"}, {"type": 5, "x": 1}]},
    }  # fmt: skip
    after = dict(odd, uuid="odd-2", parentUuid="odd-1", message={"role": "assistant", "content": "an answer"})
    source = tmp_path / "odd.jsonl"
    source.write_text(fixture + json.dumps(odd) + "\n" + json.dumps(after) + "\n", encoding="utf-8")
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-m", "lime_repl", "import", str(source)],
        env=dict(os.environ, LIME_HOME=str(home)), cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "wrong shape" in done.stderr and "content[1] has no string type" in done.stderr
    (path,) = home.glob("sessions/*/*.jsonl")
    entries = [json.loads(line) for line in path.read_bytes().splitlines()]
    kept = [e for e in entries if e.get("customType") == "lime:malformed"]
    assert len(kept) == 1 and kept[0]["data"]["content"][1] == {"type": 5, "x": 1}
    answer = next(e for e in entries if e.get("type") == "message" and e["content"] == [{"type": "text", "text": "an answer"}])
    assert answer["parentId"] == kept[0]["id"]  # the tree stays connected through the kept entry


def test_a_streamed_claude_import_is_stored_redacted_and_capped_as_the_guard_gives(tmp_path: Path) -> None:
    """Lines the redactor clears go straight to the log; the others (a key, a long text, a line over budget)
    are stored exactly as the output guard makes them of the whole-file read."""
    key = "sk-" + "Q7w9E2r4T6y8U1i3O5p7A9s2D4f6G8h1J3k5"
    fixture = (FOREIGN / "claude-code/sample_session.jsonl").read_text(encoding="utf-8")
    base = {"type": "user", "sessionId": "test-session-id", "timestamp": "2025-12-24T10:05:00.000Z"}
    contents = [
        f"deploy with {key}",  # redacted
        "x" * 40_000,  # over twice the cap: cut to its ends
        [{"type": "text", "text": "abcd"[n] * 20_000} for n in range(4)],  # each under the cap, the line over budget
        [{"type": "tool_use", "id": "t-9", "name": "Bash", "input": {"command": f"curl -H 'Bearer {key}'"}}],
        "plain words, nothing to redact",
    ]
    records, parent = [], "msg-007"
    for n, content in enumerate(contents):
        uuid = f"big-{n}"
        records.append(dict(base, parentUuid=parent, uuid=uuid, message={"role": "user", "content": content}))
        parent = uuid
    source = tmp_path / "guarded.jsonl"
    source.write_text(fixture + "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    home = tmp_path / "home"
    env = dict(os.environ, LIME_HOME=str(home))
    done = subprocess.run(
        [sys.executable, "-m", "lime_repl", "import", str(source)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (path,) = home.glob("sessions/*/*.jsonl")
    text = path.read_text(encoding="utf-8")
    assert key not in text and "x" * 40_000 not in text and "a" * 20_000 not in text
    assert "plain words, nothing to redact" in text
    session = Session.load(path)
    written = [e for e in session.entries.values() if e["type"] not in ("title", "leaf", "label")]
    whole = read_bytes(source.read_bytes(), str(source), cap=1 << 30, fallback=STAMP)
    stored = [guard_entry(e, segment_bytes=262_144, redact=Redactor(env)) for e in whole.entries]
    assert _shape(written) == _shape(stored)
    assert max(len(line) for line in path.read_bytes().splitlines()) <= 262_144 // 4
