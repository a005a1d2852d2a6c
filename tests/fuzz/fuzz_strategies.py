"""Hypothesis strategies for session logs: entries of every shape, right and wrong, and damaged lines.

Shared by the fuzz tests of the record parser, the segment reader, session
replay and the transcript builder; their budget is :mod:`fuzz_budget`'s
(``LIME_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import json
from typing import Any

from fuzz_budget import EXAMPLES, FUZZ, FUZZ_MORE
from hypothesis import strategies as st

from lime_repl.store.records import dumps

__all__ = ["ENTRY", "EXAMPLES", "FUZZ", "FUZZ_MORE", "IDS", "LINE", "SEGMENT_BYTES", "SEGMENT_FILES"]

#: A small pool of ids, so duplicates, cycles and missing parents come up often.
IDS = st.sampled_from(["a1", "b2", "c3", "d4", "e5", "f6", "0000abcd"])

_SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
#: Any JSON value, two levels deep at most (deeper nesting adds cost, not coverage).
JSON = _SCALAR | st.lists(_SCALAR, max_size=3) | st.dictionaries(st.text(max_size=6), _SCALAR, max_size=3)

TYPES = st.sampled_from(
    [
        "session",
        "checkpoint",
        "message",
        "compaction",
        "microcompaction",
        "branch_summary",
        "leaf",
        "title",
        "label",
        "model_change",
        "system_prompt",
        "future_type_v9",
    ]
)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The right kind of value most of the time, any JSON value sometimes."""
    return st.one_of(strategy, strategy, strategy, JSON)


BLOCK = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": _maybe(st.text(max_size=40))}),
    st.fixed_dictionaries(
        {"type": st.just("tool_use"), "id": _maybe(IDS), "name": _maybe(st.text(max_size=8)), "input": JSON}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("tool_result"),
            "tool_use_id": _maybe(IDS),
            "content": _maybe(st.text(max_size=40)),
            "is_error": _maybe(st.booleans()),
        }
    ),
    st.fixed_dictionaries({"type": st.just("reasoning"), "data": JSON}),
    st.fixed_dictionaries({"type": st.just("local_shell"), "command": JSON, "stdout": JSON, "stderr": JSON}),
    JSON,
)

BASH_TEXT = st.builds(
    lambda tag, body: f"<{tag}>{body}</{tag}>",
    st.sampled_from(["bash-input", "bash-stdout", "bash-stderr"]),
    st.text(max_size=20),
)

CONTENT = st.one_of(
    st.lists(BLOCK, max_size=4),
    st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": BASH_TEXT}), min_size=1, max_size=1),
    JSON,
)

_BASE = {
    "id": _maybe(IDS),
    "parentId": _maybe(st.none() | IDS),
}


def _kind(
    kind: st.SearchStrategy[Any], **fields: st.SearchStrategy[Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """Entries of one family: ``type`` from ``kind``, usually an id and parent, and optional ``fields``."""
    return st.fixed_dictionaries({"type": kind}, optional={**_BASE, **fields})


ENTRY = st.one_of(
    _kind(
        st.just("message"),
        role=_maybe(st.sampled_from(["user", "assistant", "system"])),
        content=CONTENT,
        shell=_maybe(
            st.fixed_dictionaries({"exchange": _maybe(IDS), "exitCode": _maybe(st.integers(0, 255))})
        ),
    ),
    _kind(st.just("message"), role=st.just("user"), content=CONTENT),
    _kind(st.just("message"), role=st.just("assistant"), content=CONTENT),
    _kind(st.just("compaction"), summary=_maybe(st.text(max_size=20)), firstKeptEntryId=_maybe(IDS)),
    _kind(
        st.just("microcompaction"),
        pruned=_maybe(st.lists(IDS, max_size=3)),
        trimmed=_maybe(st.lists(IDS, max_size=3)),
    ),
    _kind(
        st.sampled_from(["leaf", "title", "label"]),
        targetId=_maybe(st.none() | IDS),
        label=_maybe(st.none() | st.text(max_size=8)),
        title=_maybe(st.none() | st.text(max_size=8)),
    ),
    _kind(
        st.just("checkpoint"),
        leafId=_maybe(IDS),
        labels=_maybe(st.dictionaries(IDS, st.text(max_size=5), max_size=2)),
        compaction=JSON,
        droppedEntries=_maybe(st.integers(0, 10)),
        title=_maybe(st.text(max_size=5)),
    ),
    _kind(
        st.just("session"),
        segment=_maybe(st.integers(0, 5)),
        sessionId=_maybe(st.just("s" * 32)),
        systemPrompt=_maybe(st.text(max_size=10)),
    ),
    _kind(st.sampled_from(["branch_summary", "system_prompt", "model_change"]), summary=JSON, text=JSON),
    _kind(JSON.filter(lambda v: not isinstance(v, str)) | st.text(max_size=8), extra=JSON),
)


def _line(entry: dict[str, Any]) -> bytes:
    return dumps(entry)


#: One raw piece of a segment file: a good line, a damaged one, or junk. Each ends with ``\n``
#: except where a test cuts the last one.
LINE = st.one_of(
    ENTRY.map(_line),
    ENTRY.map(_line),
    ENTRY.map(_line),
    st.tuples(ENTRY.map(_line), st.integers(1, 200)).map(lambda t: t[0][: min(t[1], len(t[0]) - 1)] + b"\n"),
    JSON.map(lambda v: json.dumps(v).encode() + b"\n"),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"") + b"\n"),
    st.just(b"\n"),
    st.just(b'{"type":"message","n":' + b"9" * 5000 + b"}\n"),
    st.just(b"[" * 3000 + b"\n"),
)

#: Bytes after the last newline of a file: none, a cut-off line, or junk.
TORN = st.one_of(
    st.just(b""),
    st.just(b""),
    st.sampled_from([b'{"type":"message","id":"a1","content":[{"ty', b"\xff\xfe\x00", b"{", b"null"]),
    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")),
)

SEGMENT_BYTES = st.tuples(st.lists(LINE, max_size=8), TORN).map(lambda t: b"".join(t[0]) + t[1])


def _split(parts: tuple[list[bytes], list[int], list[bytes]]) -> list[bytes]:
    lines, cuts, torn = parts
    bounds = [0, *sorted(c % (len(lines) + 1) for c in cuts), len(lines)]
    files = [b"".join(lines[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    return [data + (torn[i] if i < len(torn) else b"") for i, data in enumerate(files)]


#: One to three segment files (oldest first) cut from one run of lines, each maybe with a torn tail.
SEGMENT_FILES = st.tuples(
    st.lists(LINE, max_size=10), st.lists(st.integers(0, 10), max_size=2), st.lists(TORN, max_size=3)
).map(_split)
