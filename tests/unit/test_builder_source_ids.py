"""The importers' Builder: source ids (Claude Code uuids) kept compactly, resolved exactly, never confused.

A canonical lowercase uuid is kept as its 16 bytes (``_src_key``); every other id as its text. The
tests build entries with a sink, as the streamed import does, and with none, as the whole-file read does.
"""

from __future__ import annotations

import uuid

import pytest

from lime_repl.exchange.foreign.builder import Builder, NotStreamable, _src_key
from lime_repl.store.records import Entry

TIME = "2026-01-01T00:00:00.000Z"


def _builder(sink: bool) -> tuple[Builder, list[Entry]]:
    out: list[Entry] = []
    return Builder("claude-code", TIME, sink=out.append if sink else None), out


@pytest.mark.parametrize("sink", [True, False])
def test_ids_that_differ_only_in_case_or_dashes_stay_apart(sink: bool) -> None:
    lower = str(uuid.UUID(int=0xABCDEF0123456789ABCDEF0123456789))
    ids = [lower, lower.upper(), lower.replace("-", ""), lower[:8] + lower[9:13] + "-" + lower[13:]]
    assert len(set(ids)) == 4
    b, out = _builder(sink)
    parents = {src: b.add({"type": "custom"}, time=TIME, src=src, parent=None) for src in ids}
    children = [b.add({"type": "message"}, time=TIME, parent=None, parent_src=src) for src in ids]
    b.flush()
    entries = b.finish() if not sink else (b.finish(), out)[1]
    by_id = {e["id"]: e for e in entries}
    for src, child in zip(ids, children, strict=True):
        assert by_id[child["id"]]["parentId"] == parents[src]["id"]
    assert b.dangling == 0
    assert [b.lime_id(src) for src in ids] == [parents[src]["id"] for src in ids]


def test_a_canonical_uuid_is_kept_as_16_bytes_and_any_other_id_as_text() -> None:
    lower = str(uuid.uuid4())
    assert _src_key(lower) == uuid.UUID(lower).bytes
    for other in (lower.upper(), lower.replace("-", ""), "msg-001", "z" * 8 + lower[8:], lower + " "):
        assert _src_key(other) == other


def test_an_id_registered_again_after_a_child_took_it_is_not_streamed() -> None:
    b, _ = _builder(sink=True)
    src = str(uuid.uuid4())
    b.add({"type": "message"}, time=TIME, src=src, parent=None)
    b.add({"type": "message"}, time=TIME, parent=None, parent_src=src)  # resolved at once: taken
    with pytest.raises(NotStreamable):
        b.add({"type": "message"}, time=TIME, src=src, parent=None)


def test_an_id_registered_again_before_any_child_took_it_follows_the_last_copy() -> None:
    b, out = _builder(sink=True)
    src = str(uuid.uuid4())
    b.add({"type": "message"}, time=TIME, src=src, parent=None)
    second = b.add({"type": "message"}, time=TIME, src=src, parent=None)
    child = b.add({"type": "message"}, time=TIME, parent=None, parent_src=src)
    b.finish()
    assert {e["id"]: e for e in out}[child["id"]]["parentId"] == second["id"]
