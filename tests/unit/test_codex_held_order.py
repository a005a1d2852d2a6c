"""A Codex assistant message waiting for its ``token_count`` keeps its place in the log, however long the turn.

The streamed import holds an assistant message until the ``token_count`` that gives its usage. Past
``MAX_QUEUED`` entries queued behind it, a held entry used to be parked and written at the end of the
log; the assistant message is now written in its place without the usage (the ``token_count`` record
is kept as a ``custom`` entry, so nothing is lost). The rollout is written here in Codex's format
(``session_meta``, ``response_item`` messages, ``event_msg`` records), and imported by the real ``lime``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lime_repl.exchange.foreign.handover import MAX_QUEUED
from lime_repl.store.segments import segment_paths

STAMP = "2026-02-23T12:19:42.561Z"


def _line(kind: str, payload: dict) -> str:
    return json.dumps({"timestamp": STAMP, "type": kind, "payload": payload})


def _message(role: str, text: str) -> str:
    block = "output_text" if role == "assistant" else "input_text"
    return _line(
        "response_item", {"type": "message", "role": role, "content": [{"type": block, "text": text}]}
    )


def _token_count() -> str:
    usage = {"input_tokens": 120, "cached_input_tokens": 20, "output_tokens": 7}
    return _line("event_msg", {"type": "token_count", "info": {"last_token_usage": usage}})


def _rollout(path: Path, between: int) -> Path:
    lines = [
        _line(
            "session_meta", {"id": "019c8a70-dda7-7f33-98ea-f30553347322", "cwd": "/w", "timestamp": STAMP}
        ),
        _message("user", "build it"),
        _message("assistant", "the first answer"),
        *(
            _line("event_msg", {"type": "exec_command_output_delta", "chunk": f"line {i}"})
            for i in range(between)
        ),
        _token_count(),
        _message("user", "and now?"),
        _message("assistant", "the second answer"),
        _token_count(),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _imported(tmp_path: Path, source: Path) -> list[dict]:
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-m", "lime_repl", "import", str(source)],
        env=dict(os.environ, LIME_HOME=str(home)), cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (active,) = home.glob("sessions/*/*.jsonl")
    return [json.loads(line) for path in segment_paths(active) for line in path.read_text().splitlines()]


def _texts(entries: list[dict]) -> list[str]:
    """The conversation's texts and the deltas' chunks, in log order."""
    out = []
    for entry in entries:
        if entry["type"] == "message":
            out += [b.get("text", "") for b in entry["content"] if b.get("type") == "text"]
        elif entry["type"] == "custom" and entry["customType"] == "codex:event_msg/exec_command_output_delta":
            out.append(entry["data"]["payload"]["chunk"])
    return out


@pytest.mark.parametrize("between", [10, MAX_QUEUED + 500])
def test_the_assistant_message_keeps_its_place_before_a_long_turn(tmp_path: Path, between: int) -> None:
    entries = _imported(tmp_path, _rollout(tmp_path / "rollout.jsonl", between))
    texts = _texts(entries)
    expected = [
        "build it",
        "the first answer",
        *(f"line {i}" for i in range(between)),
        "and now?",
        "the second answer",
    ]
    assert texts == expected
    answers = [e for e in entries if e["type"] == "message" and e["role"] == "assistant"]
    assert len(answers) == 2
    second = answers[1]
    assert second["usage"]["input_tokens"] == 120 and second["usage"]["output_tokens"] == 7
    if between < MAX_QUEUED:  # the token_count came in time
        assert answers[0]["usage"]["output_tokens"] == 7
    counts = [
        e for e in entries if e["type"] == "custom" and e["customType"] == "codex:event_msg/token_count"
    ]
    assert len(counts) == 2  # the usage of a message written without it is still in the log
