"""The Claude Code reader's direct path for messages: usage, stop reason, model, and the Task calls a
sidechain hangs from, as the whole-file read gives them."""

from __future__ import annotations

import json

from lime_repl.exchange.import_ import read_bytes

STAMP = "2026-01-01T00:00:00.000Z"
BASE = {"sessionId": "s-1", "cwd": "/p", "timestamp": "2026-01-01T10:00:00.000Z"}


def _read(records: list[dict]) -> list[dict]:
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    return read_bytes(data, "log.jsonl", cap=1 << 30, fallback=STAMP).entries


def test_usage_model_and_stop_reason_are_mapped_and_an_empty_usage_is_left_out() -> None:
    usage = {"input_tokens": 3, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 7, "output_tokens": 11}
    records = [
        dict(BASE, type="user", uuid="u-1", parentUuid=None, message={"role": "user", "content": "hi"}),
        dict(BASE, type="assistant", uuid="a-1", parentUuid="u-1",
             message={"role": "assistant", "model": "claude-x", "stop_reason": "end_turn", "usage": usage,
                      "content": [{"type": "text", "text": "hello"}]}),
        dict(BASE, type="assistant", uuid="a-2", parentUuid="a-1",
             message={"role": "assistant", "usage": {}, "content": [{"type": "text", "text": "again"}]}),
    ]  # fmt: skip
    first, second, third = _read(records)
    assert "usage" not in first and first["role"] == "user"
    assert second["usage"] == {
        "input_tokens": 15, "output_tokens": 11, "cache_read_tokens": 5, "cache_write_tokens": 7, "raw": usage,
    }  # fmt: skip
    assert (second["model"], second["provider"], second["stopReason"]) == ("claude-x", "anthropic", "end_turn")
    assert "usage" not in third and "model" not in third and "stopReason" not in third
    assert third["parentId"] == second["id"]


def test_a_sidechain_hangs_from_the_task_call_that_gave_its_prompt() -> None:
    call = {"type": "tool_use", "id": "t-1", "name": "Task", "input": {"prompt": "  look around  "}}
    other = {"type": "tool_use", "id": "t-2", "name": "Bash", "input": {"prompt": "side task"}}
    records = [
        dict(BASE, type="user", uuid="u-1", parentUuid=None, message={"role": "user", "content": "go"}),
        dict(BASE, type="assistant", uuid="a-1", parentUuid="u-1", message={"role": "assistant", "content": [other]}),
        dict(BASE, type="assistant", uuid="a-2", parentUuid="a-1", message={"role": "assistant", "content": [call]}),
        dict(BASE, type="user", uuid="u-2", parentUuid="a-2", message={"role": "user", "content": "and then"}),
        dict(BASE, type="user", uuid="s-1", parentUuid=None, isSidechain=True,
             message={"role": "user", "content": "look around"}),
        dict(BASE, type="user", uuid="s-2", parentUuid=None, isSidechain=True,
             message={"role": "user", "content": "side task"}),
    ]  # fmt: skip
    _, bash, task, last, side, unmatched = _read(records)
    assert side["parentId"] == task["id"]  # matched by the Task call's prompt
    assert unmatched["parentId"] == last["id"]  # a Bash call's prompt is no sidechain's: the main chain's last node
    assert bash["content"][0]["input"] == {"prompt": "side task"}
