"""Talking to the model, in line mode against the loopback provider: compaction notices, ``/compact`` after
an automatic compaction, ``/model`` key checks and unknown models, and ``/status``'s one context figure."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from support.fake_providers import FakeProviderServer, Reply
from support.lime_env import LimeEnv

SUMMARY = "## Goal\n- keep going\n## Progress\n- printed numbers"


def _is_summary(body: Any) -> bool:
    return "precise, structured summaries" in json.dumps(body)


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def test_automatic_compaction_is_announced_and_compact_then_says_what_and_when(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    turns = {"n": 0}

    def respond(wire: str, body: Any) -> Reply:
        if _is_summary(body):
            return Reply(text=SUMMARY)
        turns["n"] += 1  # the first answer reports a context over the 1,500-token threshold
        return Reply(text=f"answer {turns['n']}", usage={"input_tokens": 2400 if turns["n"] == 1 else 300, "output_tokens": 5})

    server.responder = respond
    env = {**server.env("openai", "gpt-5.4"), "LIME_CODE_AUTO_COMPACT_INPUT_TOKENS": "1500"}
    script = "!seq 1 400\n!seq 1 400\n!seq 1 400\nfirst question\nsecond question\n/compact\n"
    ran = lime_env.run(input=script, extra_env=env)
    err = ran.stderr.decode()
    assert ran.returncode == 0, err
    lines = err.splitlines()
    started = [line for line in lines if line.startswith("compacting the context (auto")]
    landed = [line for line in lines if line.startswith("compacted (auto): ")]
    assert len(started) == 1 and len(landed) == 1, err
    assert re.fullmatch(r"compacting the context \(auto, [\d,]+ tokens\)…", started[0]), started
    before, after = (int(n.replace(",", "")) for n in re.findall(r"[\d,]+", landed[0].split(": ", 1)[1]))
    assert before >= 1500 and after < before, landed
    assert lines.index(started[0]) < lines.index(landed[0])
    [nothing] = [line for line in lines if "compact" in line and "nothing" in line]
    assert "nothing to compact yet" not in nothing
    assert re.search(r"the auto compaction at \d\d:\d\d:\d\d \((just now|\d+ seconds ago)\) summarized \d+ earlier messages?", nothing), nothing
    assert f"{before:,} → {after:,} tokens" in nothing
    log = [json.loads(line) for path in lime_env.session_files() for line in path.read_text().splitlines()]
    assert [e["trigger"] for e in log if e["type"] == "compaction"] == ["auto"]


def test_manual_compaction_says_what_it_did_in_one_line(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.responder = lambda wire, body: Reply(text=SUMMARY if _is_summary(body) else "ok",
                                                usage={"input_tokens": 900, "output_tokens": 3})
    lime_env.home.mkdir(parents=True, exist_ok=True)
    (lime_env.home / "config.toml").write_text("[compaction]\nkeep_recent_tokens = 100\n")
    env = {**server.env("openai", "gpt-5.4"), "LIME_CODE_AUTO_COMPACT_INPUT_TOKENS": "100000"}
    ran = lime_env.run(input="!seq 1 300\n!seq 1 300\nhello\n/compact\n", extra_env=env)
    err = ran.stderr.decode().splitlines()
    assert ran.returncode == 0, err
    compaction = [line for line in err if "compact" in line]
    assert len(compaction) == 1 and re.fullmatch(r"compacted \(manual\): [\d,]+ → [\d,]+ tokens", compaction[0]), err


def test_model_switch_checks_the_providers_key(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_text("still here")
    ran = lime_env.run(input="/model claude-opus-4-6\n/model\nhello\n", extra_env=server.env("openai", "gpt-5.4"))
    out, err = ran.stdout.decode(), ran.stderr.decode()
    [error] = [line for line in err.splitlines() if "claude-opus-4-6" in line]
    assert error == (
        "lime: claude-opus-4-6 needs the anthropic provider, which has no key: set ANTHROPIC_API_KEY "
        "(or ANTHROPIC_AUTH_TOKEN); the model stays gpt-5.4 (openai)"
    )
    assert "gpt-5.4 (openai)" in out and "still here" in out  # unchanged, and the next turn works
    assert "Traceback" not in err
    log = [json.loads(line) for path in lime_env.session_files() for line in path.read_text().splitlines()]
    assert all(e.get("model") != "claude-opus-4-6" for e in log)
    assert ran.returncode == 0


def test_unknown_model_is_said_and_status_shows_cost_unknown(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_text("hi", usage={"input_tokens": 150, "output_tokens": 10}, model="house-llm-7b")
    ran = lime_env.run(input="/model house-llm-7b\nhello\n/status\n", extra_env=server.env("openai", "gpt-5.4"))
    out, err = ran.stdout.decode(), ran.stderr.decode()
    assert ran.returncode == 0, err
    assert "house-llm-7b is not in the model catalog: lime assumes a 128,000-token window and its cost is unknown" in err
    [cost] = [line for line in out.splitlines() if line.startswith("cost ")]
    assert cost.split()[:4] == ["cost", "unknown", "for", "house-llm-7b:"] and "$" not in cost, cost
    [context] = [line for line in out.splitlines() if line.startswith("context ")]
    assert "not in the model catalog" in context


def test_status_shows_one_context_figure_and_how_it_was_measured(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    (lime_env.home).mkdir(parents=True, exist_ok=True)
    (lime_env.home / "config.toml").write_text('[models."house-model"]\nprovider = "openai"\ncontext_window = 64000\n')
    server.reply_text("first", usage={"input_tokens": 1234, "output_tokens": 6})
    env = server.env("openai", "house-model")
    ran = lime_env.run(input="hello\n/status\n!echo more\n/status\n", extra_env=env)
    out = ran.stdout.decode()
    assert ran.returncode == 0, ran.stderr.decode()
    contexts = [line for line in out.splitlines() if "context" in line and "tokens" in line]
    assert contexts[0] == "context    1,240 / 64,000 tokens, 1.9% (reported by the provider)", out
    assert contexts[1].startswith("context    1,") and contexts[1].endswith("(reported by the provider + estimate since)")
    assert len(contexts) == 2  # one figure per /status: no second "context ≈" count
    assert "≈" not in out
