"""Token accounting, the microcompaction policy, the compaction cut and the background keeper."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from lime_repl.context.compaction import CompactionSettings, find_cut, load_settings, plan_compaction
from lime_repl.context.microcompact import MicroSettings, plan_microcompaction
from lime_repl.context.scheduler import ContextKeeper
from lime_repl.context.summary import SECTIONS, extractive_summary
from lime_repl.context.tokens import TokenCounter, context_tokens, estimate_text
from lime_repl.context.transcript import CLEARED, build_transcript
from lime_repl.store.session import Session

BIG = "line of output\n" * 600  # 9,000 characters


def _session(tmp_path: Path) -> Session:
    return Session.create(tmp_path / "s", "/w", system_prompt="SYSTEM with AGENTS.md rules")


def _user(session: Session, text: str) -> None:
    session.append({"type": "message", "role": "user", "content": [{"type": "text", "text": text}]})


def _assistant(session: Session, text: str, usage: int | None = None, tool: dict | None = None) -> None:
    content: list[dict] = [{"type": "text", "text": text}]
    if tool:
        content.append({"type": "tool_use", "id": tool["id"], "name": tool["name"], "input": tool["input"]})
    entry: dict = {"type": "message", "role": "assistant", "content": content, "stopReason": "end_turn"}
    if usage is not None:
        entry["usage"] = {"input_tokens": usage, "output_tokens": 10}
    session.append(entry)


def _tool_result(session: Session, call_id: str, text: str) -> None:
    session.append(
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call_id, "content": text, "is_error": False}],
        }
    )


def _bang(session: Session, command: str, out: str) -> None:
    session.append_bash(command, out, "", exit_code=0, duration_ms=1, truncated_bytes={"stdout": 0, "stderr": 0}, cwd="/w")


def test_estimate_is_monotonic_and_reasonable() -> None:
    assert estimate_text("") == 0
    assert estimate_text("hello world") == 4  # two words of 5 chars: 2 tokens each
    assert 900 < estimate_text("word " * 1000) <= 1000
    assert estimate_text("a" * 400) == 100


def test_usage_is_the_truth_and_later_text_is_estimated(tmp_path: Path) -> None:
    session = _session(tmp_path)
    _user(session, "hi")
    _assistant(session, "hello", usage=5000)
    counter = TokenCounter()
    assert context_tokens(session.branch(), counter) == 5010
    _bang(session, "cat big", BIG)
    assert context_tokens(session.branch(), counter) > 5010 + 1000
    session.close()


def test_soft_trim_then_hard_clear_outside_protected_tail(tmp_path: Path) -> None:
    session = _session(tmp_path)
    for i in range(6):
        _user(session, f"request {i}")
        _assistant(session, "reading", tool={"id": f"c{i}", "name": "read", "input": {"path": f"f{i}"}})
        _tool_result(session, f"c{i}", BIG)
    _assistant(session, "done", usage=10)
    branch = session.branch()
    settings = MicroSettings(window=20_000, reserved=0, keep_recent_tokens=100, idle_minutes=0)
    now = time.time()
    assert plan_microcompaction(branch, 9_000, settings, now=now) is None  # pressure 0.45
    soft = plan_microcompaction(branch, 11_000, settings, now=now)
    assert soft is not None and soft.trigger == "threshold" and not soft.pruned
    assert len(soft.trimmed) == 3  # six results, the last three protected
    hard = plan_microcompaction(branch, 15_000, settings, now=now)
    assert hard is not None and len(hard.pruned) == 3 and hard.tokens_saved > 0
    session.append(hard.entry())
    _, messages = build_transcript(session.branch(), session.header)
    results = [b for m in messages for b in m["content"] if b.get("type") == "tool_result"]
    assert [r["content"] == CLEARED for r in results] == [True, True, True, False, False, False]
    # the log keeps the full output
    assert BIG in session.path.read_text().replace("\\n", "\n")
    session.close()


def test_idle_rule_uses_injected_clock(tmp_path: Path) -> None:
    session = _session(tmp_path)
    for i in range(8):
        _bang(session, f"cmd {i}", "x" * 100)
    _assistant(session, "ok")
    branch = session.branch()
    settings = MicroSettings(window=1_000_000, idle_minutes=60)
    start = time.time()
    assert plan_microcompaction(branch, 10, settings, now=start + 59 * 60) is None
    plan = plan_microcompaction(branch, 10, settings, now=start + 61 * 60)
    assert plan is not None and plan.trigger == "idle"
    # 8 exchanges (stdout entries with output, empty stderr entries): all but the last 5 cleared
    assert len(plan.pruned) == 3
    disabled = MicroSettings(window=1_000_000, idle_minutes=0)
    assert plan_microcompaction(branch, 10, disabled, now=start + 10**6) is None
    session.close()


def test_cut_never_lands_on_tool_result_or_inside_triple(tmp_path: Path) -> None:
    session = _session(tmp_path)
    _user(session, "first")
    _assistant(session, "calling", tool={"id": "c1", "name": "bash", "input": {"command": "ls"}})
    _tool_result(session, "c1", "result " * 50)
    _bang(session, "echo", "out " * 50)
    _assistant(session, "bye")
    messages = [e for e in session.branch() if e["type"] == "message"]
    counter = TokenCounter()
    for keep in range(1, 400, 7):
        cut = find_cut(messages, keep, counter)
        if cut is None:
            continue
        first = messages[cut]
        assert not any(b.get("type") == "tool_result" for b in first["content"])
        if "shell" in first:
            assert first["content"][0]["text"].startswith("<bash-input>")
    session.close()


def test_compaction_keeps_recent_and_updates_previous_summary(tmp_path: Path) -> None:
    session = _session(tmp_path)
    for i in range(10):
        _user(session, f"request number {i} " + "pad " * 200)
        _assistant(session, f"answer {i} " + "pad " * 200)
    keeper = ContextKeeper(
        CompactionSettings(keep_recent_tokens=600),
        window=100_000,
        catalog_threshold=None,
        summarize=lambda entries, previous, hint: extractive_summary(entries, previous, hint),
    )
    first = keeper.compact_now(session, "manual", "keep the numbers")
    assert first is not None and first["trigger"] == "manual" and first["hint"] == "keep the numbers"
    assert first["tokensAfter"] < first["tokensBefore"]
    system, messages = build_transcript(session.branch(), session.header)
    assert system == "SYSTEM with AGENTS.md rules"
    assert messages[0]["content"][0]["text"].startswith("Summary of the earlier conversation:")
    for section in SECTIONS:
        assert f"## {section}" in first["summary"]
    assert "request number 0" in first["summary"]
    kept_texts = [b["text"] for m in messages[1:] for b in m["content"]]
    assert any("answer 9" in t for t in kept_texts) and not any("request number 0 " in t for t in kept_texts)
    for i in range(10, 14):
        _user(session, f"request number {i} " + "pad " * 200)
        _assistant(session, f"answer {i} " + "pad " * 200)
    second = keeper.compact_now(session, "manual")
    assert second is not None
    assert "Earlier summary:" in second["summary"] and "request number 0" in second["summary"]
    resumed = Session.load(session.path)
    assert build_transcript(resumed.branch(), resumed.header) == build_transcript(session.branch(), session.header)
    session.close()


def test_background_compaction_swaps_in_only_if_branch_has_not_moved(tmp_path: Path) -> None:
    session = _session(tmp_path)
    for i in range(6):
        _user(session, f"q{i} " + "pad " * 300)
        _assistant(session, f"a{i} " + "pad " * 300, usage=(i + 1) * 700)
    release = threading.Event()
    calls: list[int] = []

    def slow_summary(entries: list, previous: str | None, hint: str | None) -> str:
        calls.append(len(entries))
        release.wait(10)
        return extractive_summary(entries, previous, hint)

    keeper = ContextKeeper(
        CompactionSettings(threshold_override=3000, keep_recent_tokens=20_000),
        window=100_000,
        catalog_threshold=None,
        summarize=slow_summary,
    )
    keeper.start()
    try:
        keeper.observe(session.branch())
        deadline = time.monotonic() + 10
        while keeper.state != "compacting" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert keeper.state == "compacting"  # the summary runs on the worker while we go on
        _user(session, "typed while compacting")  # the main thread keeps appending
        release.set()
        assert keeper.wait_idle(10)
        written = keeper.boundary(session)
        kinds = [e["type"] for e in written]
        assert "compaction" in kinds and len(calls) == 1
        # A result for a branch that moved away is dropped, not written.
        keeper.observe(session.branch())
        keeper.wait_idle(10)
        session.set_leaf(session.branch()[0]["id"])
        assert [e for e in keeper.boundary(session) if e["type"] == "compaction"] == []
    finally:
        release.set()
        keeper.stop()
        session.close()


def test_settings_from_config_and_env() -> None:
    settings = load_settings(
        {"compaction": {"auto": True, "keep_recent_tokens": 5000, "soft_trim_ratio": 0.4}},
        {"LIME_CODE_AUTO_COMPACT_INPUT_TOKENS": "3000", "LIME_TIME_BASED_MICROCOMPACT_MIN": "0"},
    )
    assert settings.threshold(200_000, 180_000) == 3000
    assert settings.keep_tokens(3000) == 1500
    assert settings.idle_minutes == 0 and settings.soft_trim_ratio == 0.4
    assert not load_settings({}, {"LIME_DISABLE_AUTOCOMPACT": "1"}).auto
    assert not load_settings({"compaction": {"auto": False}}, {}).auto
    assert load_settings({}, {}).threshold(200_000, None) == 200_000 - 16_384


def test_plan_compaction_none_when_too_short(tmp_path: Path) -> None:
    session = _session(tmp_path)
    _user(session, "one")
    assert plan_compaction(session.branch(), 10, 1000, TokenCounter()) is None
    session.close()
