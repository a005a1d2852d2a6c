"""Compaction end to end: real lime, a real loopback model server, real `!` output."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pexpect
import pytest
from support.fake_providers import FakeProviderServer, Reply
from support.lime_env import LimeEnv

from lime_repl.agent.providers.openai import build_messages
from lime_repl.context.transcript import build_transcript
from lime_repl.store.session import Session

SUMMARY = "## Goal\n- SUMMARY-MARKER keep going\n## Progress\n- ran many seq commands"
RULE = "Always answer in haiku (AGENTS-RULE-7731)."


def _is_summary(body: Any) -> bool:
    return "precise, structured summaries" in json.dumps(body)


class Scripted:
    """Answers by request content: summaries get SUMMARY, turns get 'ok' with usage from the request size."""

    def __init__(self) -> None:
        self.turns = 0
        self.summaries = 0
        self.overflow_at: int | None = None
        self.summary_delay = 0.0
        self.summary_started: float | None = None
        self.usage_by_turn: dict[int, int] = {}
        self.lock = threading.Lock()

    def __call__(self, wire: str, body: Any) -> Reply:
        size = len(json.dumps(body)) // 4
        with self.lock:
            if _is_summary(body):
                self.summaries += 1
                self.summary_started = time.monotonic()
                chunks = [SUMMARY[i : i + 8] for i in range(0, len(SUMMARY), 8)]
                return Reply(text=chunks, chunk_delay=self.summary_delay / max(1, len(chunks)))
            self.turns += 1
            if self.overflow_at == self.turns:
                return Reply(status=400, error_code="context_length_exceeded",
                             error_message="This model's maximum context length is 3000 tokens.")
            size = self.usage_by_turn.get(self.turns, size)
        return Reply(text="ok", usage={"input_tokens": size, "output_tokens": 2})


@pytest.fixture
def scripted() -> Iterator[tuple[FakeProviderServer, Scripted]]:
    with FakeProviderServer() as server:
        script = Scripted()
        server.responder = script
        yield server, script


def _env(server: FakeProviderServer) -> dict[str, str]:
    return {
        **server.env("openai", "gpt-5.4"),
        "LIME_CODE_AUTO_COMPACT_INPUT_TOKENS": "3000",
        "LIME_TIME_BASED_MICROCOMPACT_MIN": "0",
    }


def _turn_requests(server: FakeProviderServer) -> list[dict]:
    return [b for b in server.requests if not _is_summary(b)]


def test_long_session_compacts_by_itself(lime_env: LimeEnv, scripted: tuple[FakeProviderServer, Scripted]) -> None:
    server, script = scripted
    (lime_env.cwd / "AGENTS.md").write_text(RULE + "\n")
    lines = []
    for i in range(20):
        for j in range(3):
            lines.append(f"!seq 1000 1399 | sed 's/^/run{i}.{j}-/'")
        lines.append(f"question {i}")
    result = lime_env.run(input="\n".join(lines) + "\n", extra_env=_env(server), timeout=120)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    [path] = lime_env.session_files()
    segments = sorted(path.parent.glob(path.name + ".[0-9]"), reverse=True) + [path]
    text = "".join(p.read_text() for p in segments)
    log = [json.loads(line) for line in text.splitlines()]
    kinds = [e["type"] for e in log]
    assert "microcompaction" in kinds and "compaction" in kinds
    compaction = [e for e in log if e["type"] == "compaction"][-1]
    assert compaction["trigger"] == "auto" and compaction["tokensAfter"] < compaction["tokensBefore"]
    assert script.summaries >= 1
    last = json.dumps(_turn_requests(server)[-1])
    assert "SUMMARY-MARKER" in last
    assert "AGENTS-RULE-7731" in last
    assert "run0.0-1000" not in last and "run1.0-1000" not in last  # cleared and summarized outputs are gone
    assert "run19.2-1000" in last  # the newest output is kept
    # The full outputs stay in the log.
    assert "run0.0-1000" in text
    micro = [e for e in log if e["type"] == "microcompaction"]
    assert all(e["trigger"] == "threshold" and e["tokensSaved"] > 0 for e in micro)

    # Resume: the transcript rebuilt from the files is exactly what the running session sent last
    # (the last entry is the answer to that request).
    resumed = Session.load(path)
    branch = resumed.branch()
    assert branch[-1]["role"] == "assistant"
    system, messages = build_transcript(branch[:-1], resumed.header)
    rebuilt = json.dumps(build_messages(system, messages), sort_keys=True)
    assert rebuilt == json.dumps(_turn_requests(server)[-1]["messages"], sort_keys=True)
    again = lime_env.run("-r", path.name[:8], input="one more\n", extra_env=_env(server), timeout=60)
    assert again.returncode == 0 and again.stdout == b"ok\n", again.stderr


def test_overflow_compacts_and_retries_once(lime_env: LimeEnv, scripted: tuple[FakeProviderServer, Scripted]) -> None:
    server, script = scripted
    env = {**_env(server), "LIME_DISABLE_AUTOCOMPACT": "1"}
    script.overflow_at = 4
    lines = [f"!seq 1 400 | sed 's/^/out{i}-/'\nquestion {i}" for i in range(4)]
    result = lime_env.run(input="\n".join(lines) + "\n", extra_env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(b"ok\n") == 4
    assert script.turns == 5  # four turns plus exactly one retry
    [path] = lime_env.session_files()
    log = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["trigger"] for e in log if e["type"] == "compaction"] == ["overflow"]
    assert "SUMMARY-MARKER" in json.dumps(_turn_requests(server)[-1])


@pytest.mark.pty
def test_prompt_takes_input_while_compaction_runs(
    lime_env: LimeEnv, scripted: tuple[FakeProviderServer, Scripted]
) -> None:
    server, script = scripted
    script.summary_delay = 6.0
    child = pexpect.spawn(
        sys.executable,
        ["-m", "lime_repl"],
        cwd=str(lime_env.cwd),
        env=dict(lime_env.env, **_env(server)),
        dimensions=(40, 120),
        timeout=30,
    )
    child.expect_exact("lime> ")
    # Turn 2 reports a context over the threshold, so the compaction starts after it, in the background.
    script.usage_by_turn = {1: 100, 2: 3500}
    for i in range(2):
        child.sendline(f"!seq 1 800 | sed 's/^/big{i}-/'")
        child.expect_exact(f"big{i}-800")
        child.expect_exact("lime> ")
        child.sendline(f"question {i}")
        child.expect_exact("ok")
        child.expect_exact("lime> ")
    deadline = time.monotonic() + 10
    while script.summary_started is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert script.summary_started is not None, "the background compaction did not start"
    child.sendline("!echo typed-while-compacting")
    child.expect_exact("typed-while-compacting\r\n")
    assert time.monotonic() - script.summary_started < 5.0  # the summary is still streaming
    child.expect_exact("lime> ")
    child.sendcontrol("d")
    child.expect(pexpect.EOF, timeout=30)
