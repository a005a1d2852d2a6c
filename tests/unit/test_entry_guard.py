"""The entry guard and the text rules behind it (lime_repl.store.entry_guard, capping, records, bridge.protocol).

Every string lime stores is valid UTF-8, redacted before it is cut, and capped;
no line outgrows a segment; the checkpoint's copied title and labels are short.
"""

from __future__ import annotations

import json
from pathlib import Path

from lime_repl.bridge.protocol import encode
from lime_repl.outputs.capping import DEFAULT_LIMIT, HeadTailBuffer
from lime_repl.outputs.guard import guard_entry
from lime_repl.outputs.redact import REDACTED, Redactor
from lime_repl.store.entry_guard import TITLE_CHARS, cap_title, line_budget, repair_text
from lime_repl.store.records import dumps, session_header
from lime_repl.store.session import Session, StoreOptions

KEY = "sk-" + "Q7w9E2r4T6y8U1i3O5p7A9s2D4f6G8h1J3k5"  # 40 characters


def test_repair_text_replaces_like_errors_replace() -> None:
    raw = b"caf\xe9 \xc3\xa9 \xed\xb3\xa9 ok"
    escaped = raw.decode("utf-8", "surrogateescape")
    assert repair_text(escaped) == raw.decode("utf-8", "replace")
    assert repair_text("a\udcffb\ud800c") == "a\ufffdb\ufffdc"
    assert repair_text("\ud83d\ude00") == "\U0001f600"  # a surrogate pair is its character
    plain = "nothing to do é"
    assert repair_text(plain) is plain


def test_dumps_and_the_bridge_encoder_never_emit_invalid_utf8() -> None:
    entry = {"type": "title", "title": "x\udce9\udcffy\ud800"}
    line = dumps(entry)
    assert json.loads(line.decode("utf-8"))["title"] == "x\ufffd\ufffdy\ufffd"
    out = encode({"jsonrpc": "2.0", "id": 1, "result": {"title": "t\udcff"}})
    assert json.loads(out.decode("utf-8"))["result"]["title"] == "t\ufffd"
    ok = {"type": "message", "text": "é\u2028"}
    assert dumps(ok) == (json.dumps(ok, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def test_titles_and_labels_are_capped_with_the_cut_marked() -> None:
    assert cap_title("short") == "short"
    long = cap_title("x" * 1000)
    assert long is not None and len(long) == TITLE_CHARS and long.endswith("…")
    title = guard_entry({"type": "title", "title": "t" * 300_000}, segment_bytes=262_144)
    assert title["title"] == "t" * (TITLE_CHARS - 1) + "…"
    label = guard_entry({"type": "label", "targetId": "ab", "label": "l" * 300}, segment_bytes=262_144)
    assert label["label"] == "l" * (TITLE_CHARS - 1) + "…" and label["targetId"] == "ab"


def test_every_string_field_is_capped_and_the_line_fits_the_budget() -> None:
    entry = {
        "type": "custom",
        "id": "1",
        "data": {"deep": ["z" * 1_000_000, {"k": "y" * 40_000}]},
        "name\udcff": "ok",
    }
    out = guard_entry(entry, segment_bytes=262_144)
    assert entry["data"]["deep"][0] == "z" * 1_000_000  # the argument is not modified
    deep = out["data"]["deep"]
    assert deep[0].startswith("z" * 4096) and deep[0].endswith("z" * 4096) and "bytes truncated …]" in deep[0]
    one = guard_entry({"type": "custom", "text": "z" * 1_000_000}, segment_bytes=262_144)["text"]
    assert one.startswith("z" * DEFAULT_LIMIT + "\n[… ") and one.endswith("…]\n" + "z" * DEFAULT_LIMIT)
    assert "bytes truncated …]" in deep[1]["k"]
    assert "name\ufffd" in out
    assert guard_entry({"type": "message", "text": "a\udce9"}, segment_bytes=262_144)["text"] == "a\ufffd"
    assert len(dumps(out)) <= line_budget(262_144)
    # Many fields, each under the per-string cap, are cut further so the line still fits.
    wide = {"type": "message", "content": [{"type": "text", "text": "w" * 30_000} for _ in range(40)]}
    capped = guard_entry(wide, segment_bytes=262_144)
    assert len(capped["content"]) == 40 and len(dumps(capped)) <= line_budget(262_144)
    # Text that JSON escaping inflates six-fold is measured as written.
    control = guard_entry({"type": "message", "text": "\x01" * 60_000}, segment_bytes=262_144)
    assert len(dumps(control)) <= line_budget(262_144)
    # An entry of a huge number of small fields keeps its structure and a marker.
    many = guard_entry({"type": "message", "id": "9", "content": ["ab"] * 100_000}, segment_bytes=262_144)
    assert many["id"] == "9" and "was cut" in many["content"][0]["text"]


def test_an_output_capped_as_a_stream_is_not_cut_again() -> None:
    buf = HeadTailBuffer()
    buf.feed(b"o" * 100_000)
    text = f"<bash-stdout>{buf.text()}</bash-stdout>"
    out = guard_entry({"type": "message", "content": [{"type": "text", "text": text}]}, segment_bytes=262_144)
    assert out["content"][0]["text"] == text and text.count("bytes truncated") == 1


def test_an_unchanged_entry_is_returned_as_it_is() -> None:
    entry = {"type": "message", "id": "1", "content": [{"type": "text", "text": "hello"}]}
    assert guard_entry(entry, segment_bytes=262_144, redact=Redactor({})) is entry


def test_redaction_runs_before_the_cut_and_skips_opaque_fields() -> None:
    text = (
        "x" * (DEFAULT_LIMIT - 15) + " " + KEY + " " + "y" * 40_000
    )  # the key straddles the 16 KiB head cut
    out = guard_entry(
        {"type": "message", "content": [{"type": "text", "text": text, "signature": KEY}]},
        segment_bytes=262_144,
        redact=Redactor({}),
    )
    block = out["content"][0]
    assert "bytes truncated" in block["text"]
    assert not any(KEY[i : i + 5] in block["text"] for i in range(len(KEY) - 4))
    assert block["signature"] == KEY  # a provider's opaque value goes back byte for byte


def test_head_tail_buffer_redacts_a_key_straddling_either_cut() -> None:
    for offset in (DEFAULT_LIMIT - 14, DEFAULT_LIMIT - 1, 2):
        buf = HeadTailBuffer()
        head = "h" * (offset - 1) + " " + KEY + " "
        buf.feed(head.encode())
        buf.feed(b"m" * 100_000)
        buf.feed(
            ("t" * 5 + " " + KEY + " " + "t" * (DEFAULT_LIMIT - 22)).encode()
        )  # the tail cut splits this key
        plain = buf.text()
        assert KEY[-14:] in plain or KEY[:14] in plain  # without redaction a part is kept
        text = buf.text(Redactor({}))
        assert not any(KEY[i : i + 5] in text for i in range(len(KEY) - 4)), offset
        assert f"[… {buf.truncated} bytes truncated …]" in text
    small = HeadTailBuffer()
    small.feed(f"a {KEY} b".encode())
    assert small.text(Redactor({})) == f"a {REDACTED} b"


def test_a_checkpoint_copies_a_long_title_from_an_old_log_capped(tmp_path: Path) -> None:
    path = tmp_path / "0123456789abcdef0123456789abcdef.jsonl"
    header = session_header("aaaaaaaa", path.stem, "/w", created="2026-01-01T00:00:00.000Z")
    old_title = {"type": "title", "id": "bbbbbbbb", "parentId": None, "timestamp": header["timestamp"]}
    old_label = {"type": "label", "id": "cccccccc", "parentId": None, "timestamp": header["timestamp"]}
    path.write_bytes(
        dumps(header)
        + dumps({**old_title, "title": "T" * 300_000})  # written before titles were capped
        + dumps({**old_label, "targetId": "bbbbbbbb", "label": "L" * 300_000})
    )
    session = Session.open(path, options=StoreOptions(max_bytes=400_000, backups=3))
    try:
        while session.segment == 0:
            session.append(
                {"type": "message", "role": "user", "content": [{"type": "text", "text": "m" * 30_000}]}
            )
    finally:
        session.close()
    lines = path.read_bytes().splitlines()
    checkpoint = json.loads(lines[1])
    assert checkpoint["type"] == "checkpoint"
    assert checkpoint["title"] == "T" * (TITLE_CHARS - 1) + "…"
    assert checkpoint["labels"] == {"bbbbbbbb": "L" * (TITLE_CHARS - 1) + "…"}
    assert path.stat().st_size < 100_000
