"""A huge memory file cannot push a segment past ``session.max_bytes``: the stored system prompt is capped.

The header (with its ``systemPrompt``) is written again at the top of every
segment, so two 64 KiB memory files once made every segment over 128 KiB.
Real ``lime`` with 30,000-byte segments, real bash, the loopback provider.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.fake_providers import FakeProviderServer, Reply
from support.lime_env import LimeEnv

MAX = 30000
ENV = {"LIME_SESSION_MAX_BYTES": str(MAX), "LIME_SESSION_BACKUPS": "1", "LIME_DISABLE_AUTOCOMPACT": "1"}
SK = "sk-" + "Q7w9E2r4T6y8U1i3O5p7A9s2D4f6G8h1J3k5"
SUMMARY = "## Goal\n- keep going"


def _is_summary(body: Any) -> bool:
    return "precise, structured summaries" in json.dumps(body)


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        srv.responder = lambda wire, body: Reply(text=SUMMARY) if _is_summary(body) else Reply(text="ok")
        yield srv


def _memory(path: Path, tag: str) -> None:
    body = "".join(f"- {tag} rule {i:05d}: keep the code tidy and the tests honest\n" for i in range(1200))
    text = f"HEAD-{tag}\nkey: {SK}\n{body}TAIL-{tag}\n"
    path.write_bytes(text.encode()[: 64 * 1024 - 16] + f"\nTAIL-{tag}\n".encode())


def _turns(server: FakeProviderServer) -> list[dict]:
    return [b for b in server.requests if not _is_summary(b)]


def test_huge_memory_files_leave_every_segment_within_max_bytes_and_resume_identically(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    _memory(lime_env.cwd / "AGENTS.md", "AGENTS")
    _memory(lime_env.cwd / "LIME.md", "LIME")
    env = {**server.env("openai", "gpt-5.4"), **ENV}
    commands = "".join(f"!seq 1 1600 | sed 's/^/out{i}-/'\n" for i in range(20))
    first = lime_env.run(input="first question\n" + commands + "last question\n", extra_env=env, timeout=180)
    assert first.returncode == 0, first.stderr
    assert b"Traceback" not in first.stderr
    [path] = lime_env.session_files()
    header = json.loads(path.read_text().splitlines()[0])
    assert header["segment"] >= 4, "the session must have rotated many times"
    for segment in sorted(path.parent.glob(path.name + "*")):
        if segment.name.endswith((".lock", ".torn")):
            continue
        assert segment.stat().st_size <= MAX, (segment.name, segment.stat().st_size)
    prompt = header["systemPrompt"]
    assert "bytes truncated" in prompt and "HEAD-AGENTS" in prompt and "TAIL-LIME" in prompt
    assert SK not in prompt and SK[:12] not in json.dumps(_turns(server))
    running = _turns(server)[-1]
    assert running["messages"][0] == {"role": "system", "content": prompt}

    second = lime_env.run("-r", path.name[:8], input="and now?\n", extra_env=env, timeout=60)
    assert second.returncode == 0, second.stderr
    resumed = _turns(server)[-1]
    assert resumed is not running
    assert {k: v for k, v in resumed.items() if k != "messages"} == {
        k: v for k, v in running.items() if k != "messages"
    }
    prefix = resumed["messages"][: len(running["messages"])]
    assert json.dumps(prefix, sort_keys=True) == json.dumps(running["messages"], sort_keys=True)
    assert resumed["messages"][len(running["messages"]) :] == [
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "and now?"},
    ]
