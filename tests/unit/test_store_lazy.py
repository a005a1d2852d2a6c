"""A replayed session holds its entries as their log lines; the hot paths read them without decoding all.

Real sessions on real files (rotated, kept whole), the real transcript builder
and microcompaction planner; the memory figure is measured with tracemalloc.
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

from lime_repl.agent.providers.http import encode_body
from lime_repl.context.microcompact import MicroSettings, output_entries, plan_microcompaction
from lime_repl.context.tokens import TokenCounter
from lime_repl.context.transcript import build_transcript, session_transcript
from lime_repl.store.entries import Branch
from lime_repl.store.session import Session, StoreOptions

KEEP_ALL = StoreOptions(max_bytes=16 * 1024, backups=0)


def _segment_files(path: Path) -> list[Path]:
    return [p for p in path.parent.iterdir() if p.name == path.name or p.name[len(path.name) + 1 :].isdigit()]


def _conversation(root: Path, turns: int, result_size: int = 1500, options: StoreOptions = KEEP_ALL) -> Path:
    """A session of ``turns`` tool rounds (call, result, answer) plus ``!`` triples, rotated, nothing deleted."""
    session = Session.create(root, "/w", system_prompt="sys", options=options)
    for i in range(turns):
        session.append({"type": "message", "role": "user", "content": [{"type": "text", "text": f"question {i} é😀"}]})
        session.append(
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "tool_use", "id": f"call{i}", "name": "read", "input": {"path": f"f{i}"}}],
                "usage": {"input_tokens": 100 + i, "output_tokens": 5},
                "model": "m",
            }
        )
        session.append(
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": f"call{i}", "content": f"{i}:" + "r" * result_size}],
            }
        )
        session.append({"type": "message", "role": "assistant", "content": [{"type": "text", "text": f"answer {i}"}]})
        if i % 10 == 0:
            session.append_bash(
                f"echo {i}", "o" * 1500, "e", exit_code=0, duration_ms=1,
                truncated_bytes={"stdout": 0, "stderr": 0}, cwd="/w",
            )
    path = session.path
    session.close()
    return path


def test_messages_are_held_as_lines_and_decode_to_what_was_written(tmp_path: Path) -> None:
    path = _conversation(tmp_path, 40)
    written = [json.loads(line) for p in _segment_files(path) for line in p.read_bytes().splitlines()]
    session = Session.load(path, lazy=True)
    assert len(session.segments) > 3
    nodes = session.entries.nodes
    messages = [n for n in nodes.values() if n.kind == "message"]
    assert messages and all(n.raw is not None for n in messages)  # the line, not a dict
    by_id = {e["id"]: e for e in written if e["type"] not in ("session", "checkpoint")}
    assert dict(session.entries.items()) == by_id
    branch = session.branch()
    assert isinstance(branch, Branch) and branch == [by_id[i] for i in branch.ids()]
    assert branch.kinds()[-1] == "message" and branch[-1] == by_id[branch.ids()[-1]]


def test_a_replayed_session_retains_far_less_than_its_decoded_entries(tmp_path: Path) -> None:
    path = _conversation(tmp_path, 300)
    size = sum(p.stat().st_size for p in _segment_files(path))
    tracemalloc.start()
    try:
        session = Session.load(path, lazy=True)
        held, _ = tracemalloc.get_traced_memory()
        decoded = list(session.entries.values())
        with_dicts, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(decoded) > 1200
    # The lines and one small node per entry: under twice the log, and less than the entries' dicts alone.
    assert held < 2 * size, (held, size)
    assert held < with_dicts - held, (held, with_dicts - held, size)


def test_transcript_and_microcompaction_are_the_same_from_the_lines_as_from_dicts(tmp_path: Path) -> None:
    path = _conversation(tmp_path, 60, 6000, StoreOptions(max_bytes=64 * 1024, backups=0))
    session = Session.load(path, lazy=True)
    assert len(session.segments) > 3
    branch = session.branch()
    decoded = list(branch)
    assert build_transcript(branch, session.header) == build_transcript(decoded, session.header)
    assert session_transcript(session) == build_transcript(decoded, session.header)
    assert output_entries(branch) == output_entries(decoded) and len(output_entries(decoded)) == 60 + 12
    settings = MicroSettings(window=40_000, keep_recent_tokens=2_000, idle_minutes=0)
    for tokens in (12_000, 21_000):  # soft trim, then hard clear
        plans = [
            plan_microcompaction(b, tokens, settings, now=0.0, counter=TokenCounter()) for b in (branch, decoded)
        ]
        assert plans[0] == plans[1] and plans[0] is not None
    idle = MicroSettings(window=40_000, idle_minutes=1)
    assert plan_microcompaction(branch, 10, idle, now=4e9) == plan_microcompaction(decoded, 10, idle, now=4e9)


def test_lines_by_default_and_decoded_entries_on_request(tmp_path: Path) -> None:
    path = _conversation(tmp_path, 20)
    small = Session.load(path, lazy=False)
    assert all(n.raw is None for n in small.entries.nodes.values())
    big = Session.load(path)
    assert all(n.raw is not None for n in big.entries.nodes.values() if n.kind == "message")
    assert dict(small.entries.items()) == dict(big.entries.items()) and small.branch() == big.branch()


def test_a_resumed_branch_grows_by_its_appends(tmp_path: Path) -> None:
    path = _conversation(tmp_path, 5)
    session = Session.open(path, options=KEEP_ALL, lazy=True)
    try:
        before = session.branch()
        entry = session.append({"type": "message", "role": "user", "content": [{"type": "text", "text": "more"}]})
        after = session.branch()
        assert after.ids() == [*before.ids(), entry["id"]] and after[-1] == entry
        session.set_leaf(before.ids()[3])
        assert session.branch().ids() == before.ids()[:4]
    finally:
        session.close()


def test_request_body_bytes_are_json_dumps_of_the_whole_body() -> None:
    body = {
        "stream": True,
        "model": "m",
        "messages": [{"role": "user", "content": "é😀 \u2028 \x00"}, {"role": "assistant", "content": None}],
        "tools": [],
        "extra": {"nested": [1, 2.5, "x"]},
    }
    order = ["model", "stream", "messages", "extra", "tools"]
    expected = json.dumps({k: body[k] for k in order}, ensure_ascii=False, separators=(",", ":")).encode()
    assert encode_body(body, ("model", "stream", "messages")) == expected
    assert encode_body({}) == b"{}"
