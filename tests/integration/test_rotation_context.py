"""Rotation and the model's context (DESIGN.md section 3): what rotation prunes never vanishes from the model's view.

Real `lime` with tiny segments, real bash, the loopback provider server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_providers import FakeProviderServer, Reply
from support.lime_env import LimeEnv

SUMMARY = "## Goal\n- SUMMARY-MARKER-4411 keep going\n## Progress\n- asked the first question"
SMALL = {"LIME_SESSION_MAX_BYTES": "6000", "LIME_SESSION_BACKUPS": "1", "LIME_DISABLE_AUTOCOMPACT": "1"}


def _is_summary(body: Any) -> bool:
    return "precise, structured summaries" in json.dumps(body)


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        srv.responder = lambda wire, body: Reply(text=SUMMARY) if _is_summary(body) else Reply(text="ok")
        yield srv


def _turns(server: FakeProviderServer) -> list[dict]:
    return [b for b in server.requests if not _is_summary(b)]


def _surviving(path: Path) -> list[dict]:
    files = sorted(path.parent.glob(path.name + ".[0-9]"), reverse=True) + [path]
    return [json.loads(line) for p in files for line in p.read_text().splitlines()]


def _outputs(tag: str, count: int, lines: int = 300) -> str:
    return "".join(f"!seq 1 {lines} | sed 's/^/{tag}{i}-/'\n" for i in range(count))


def test_rotated_compaction_resumes_byte_identical(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    # Each ~16 KB output is cut to a quarter of a 30,000-byte segment, so every few rotate and the last rotation
    # comes well before the final questions (the running session's request is taken after it).
    env = {**server.env("openai", "gpt-5.4"), **SMALL, "LIME_SESSION_MAX_BYTES": "30000"}
    lime_env.home.mkdir(parents=True, exist_ok=True)
    (lime_env.home / "config.toml").write_text("[compaction]\nkeep_recent_tokens = 10\n")
    (lime_env.cwd / "AGENTS.md").write_text("Rule of the first run: RULE-ONE-5501.\n")
    script = (
        "first question about early things\nsecond question\n/compact\n"
        + _outputs("mid", 10, lines=1600)
        + "last question\n"
    )
    first = lime_env.run(input=script, extra_env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    assert b"Traceback" not in first.stderr
    [path] = lime_env.session_files()
    kept = _surviving(path)
    assert not any(e.get("trigger") == "manual" for e in kept), "the /compact entry must have been rotated away"
    assert not any("early things" in json.dumps(e) for e in kept if e["type"] == "message")
    running = _turns(server)[-1]
    assert "SUMMARY-MARKER-4411" in json.dumps(running)

    # A memory file changed between runs must not change what the resumed session sends.
    (lime_env.cwd / "AGENTS.md").write_text("Rule of the second run: RULE-TWO-5502.\n")
    second = lime_env.run("-r", path.name[:8], input="and now?\n", extra_env=env, timeout=60)
    assert second.returncode == 0, second.stderr
    resumed = _turns(server)[-1]
    assert resumed is not running
    assert {k: v for k, v in resumed.items() if k != "messages"} == {
        k: v for k, v in running.items() if k != "messages"
    }
    prefix = resumed["messages"][: len(running["messages"])]
    assert json.dumps(prefix, sort_keys=True) == json.dumps(running["messages"], sort_keys=True)
    assert resumed["messages"][0]["role"] == "system" and "RULE-ONE-5501" in resumed["messages"][0]["content"]
    assert "RULE-TWO-5502" not in json.dumps(resumed)
    assert resumed["messages"][len(running["messages"]) :] == [
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "and now?"},
    ]


def test_recorded_shell_commands_rotated_away_reach_the_model(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    early = "!echo alpha-first-7712\n!false\n!sh -c 'exit 3'\n"
    # Segments several exchanges long: a line is cut to a quarter of a segment, and a preamble that
    # carries a compaction must leave room for a whole exchange after it.
    roomy = {**SMALL, "LIME_SESSION_MAX_BYTES": "16000"}
    recorded = lime_env.run(input=early + _outputs("bulk", 14), extra_env=roomy, timeout=120)
    assert recorded.returncode == 1 or recorded.returncode == 0, recorded.stderr
    assert b"Traceback" not in recorded.stderr
    [path] = lime_env.session_files()
    kept = _surviving(path)
    messages = [e for e in kept if e["type"] == "message"]
    assert not any("alpha-first-7712" in json.dumps(m) for m in messages), "the early commands were rotated away"
    [compaction] = [e for e in kept if e["type"] == "compaction"][-1:]
    assert compaction["trigger"] == "rotation"

    # A model configured after the fact: the resumed session's first request names the early commands.
    env = {**server.env("openai", "gpt-5.4"), **roomy}
    asked = lime_env.run("-r", path.name[:8], input="what did I run first?\n", extra_env=env, timeout=60)
    assert asked.returncode == 0, asked.stderr
    request = json.dumps(_turns(server)[-1], ensure_ascii=False)
    assert "`echo alpha-first-7712` → exit 0" in request
    assert "`false` → exit 1" in request
    assert "`sh -c 'exit 3'` → exit 3" in request
