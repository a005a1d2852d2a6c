"""Fuzzing the transcript builder with branches of entries of every shape (hypothesis).

``build_transcript`` gets what a damaged or foreign log can hold: content that
is not a list, blocks that are not objects, tool ids that are lists, bash
triples cut short, ``microcompaction`` entries whose ``pruned`` is a number,
compactions whose ``firstKeptEntryId`` names nothing. It must not raise, must
return alternating-role messages of blocks, and must log a warning that names
every block it skipped.
"""

from __future__ import annotations

import logging

import pytest
from fuzz_strategies import ENTRY, FUZZ, FUZZ_MORE, IDS
from hypothesis import given
from hypothesis import strategies as st

from lime_repl.context.transcript import build_transcript

HEADER = st.one_of(st.none(), ENTRY, st.fixed_dictionaries({"systemPrompt": st.text(max_size=10)}))


def _check(system: object, messages: list) -> None:
    assert isinstance(system, str)
    for message in messages:
        assert set(message) == {"role", "content"}
        assert message["role"] in ("user", "assistant")
        assert message["content"] and all(isinstance(b, dict) for b in message["content"])
    for before, after in zip(messages, messages[1:], strict=False):
        assert before["role"] != after["role"]


@FUZZ
@given(st.lists(ENTRY, max_size=8), HEADER)
def test_build_transcript_never_raises(branch: list, header: object) -> None:
    system, messages = build_transcript(branch, header)  # type: ignore[arg-type]
    _check(system, messages)


@FUZZ_MORE
@given(st.lists(IDS, min_size=1, max_size=4), st.integers(0, 3))
def test_tool_pairs_survive_and_unpaired_halves_are_dropped(ids: list, cut: int) -> None:
    calls = [{"type": "tool_use", "id": i, "name": "read", "input": {}} for i in ids]
    results = [
        {"type": "tool_result", "tool_use_id": i, "content": "x", "is_error": False} for i in ids[cut:]
    ]
    branch = [
        {"type": "message", "id": "u", "role": "user", "content": [{"type": "text", "text": "go"}]},
        {"type": "message", "id": "a", "parentId": "u", "role": "assistant", "content": calls},
        {"type": "message", "id": "r", "parentId": "a", "role": "user", "content": results},
    ]
    _, messages = build_transcript(branch)
    used = [b["id"] for m in messages for b in m["content"] if b["type"] == "tool_use"]
    answered = [b["tool_use_id"] for m in messages for b in m["content"] if b["type"] == "tool_result"]
    assert set(used) == set(answered) == set(ids[cut:])


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        (
            {"type": "message", "id": "x1", "role": "user", "content": [7, {"type": "text", "text": "ok"}]},
            "x1",
        ),
        (
            {
                "type": "message",
                "id": "x2",
                "role": "assistant",
                "content": [{"type": "tool_use", "id": ["not", "hashable"], "name": "read", "input": {}}],
            },
            "x2",
        ),
        ({"type": "microcompaction", "id": "x3", "pruned": 5, "trimmed": None}, "x3"),
    ],
)
def test_skipped_parts_are_named_in_a_warning(
    entry: dict, named: str, caplog: pytest.LogCaptureFixture
) -> None:
    branch = [
        {"type": "message", "id": "u0", "role": "user", "content": [{"type": "text", "text": "hi"}]},
        entry,
    ]
    with caplog.at_level(logging.WARNING, logger="lime"):
        _check(*build_transcript(branch))
    assert any(named in record.getMessage() and "skipped" in record.getMessage() for record in caplog.records)
