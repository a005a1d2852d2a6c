"""Output capping: first and last 16 KiB of a stream kept, the cut marked (DESIGN.md section 3)."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lime_repl.outputs.capping import DEFAULT_LIMIT, HeadTailBuffer, cap_text, truncation_marker


def fed(data: bytes, limit: int, chunk: int) -> HeadTailBuffer:
    buf = HeadTailBuffer(limit)
    for i in range(0, len(data), chunk):
        buf.feed(data[i : i + chunk])
    return buf


def test_default_limit_is_16_kib() -> None:
    assert DEFAULT_LIMIT == 16384
    assert HeadTailBuffer().limit == 16384


def test_short_stream_is_kept_whole() -> None:
    buf = HeadTailBuffer(8)
    buf.feed(b"hello ")
    buf.feed(b"world")
    assert (buf.text(), buf.total, buf.truncated) == ("hello world", 11, 0)


def test_nothing_is_cut_up_to_twice_the_limit() -> None:
    data = bytes(range(65, 65 + 20))
    assert fed(data, 10, 3).text() == data.decode()
    assert fed(data, 10, 3).truncated == 0
    buf = fed(data + b"!", 10, 3)
    assert buf.truncated == 1
    assert buf.text() == "ABCDEFGHIJ\n[… 1 bytes truncated …]\nLMNOPQRST!"


def test_marker_stands_on_its_own_line() -> None:
    ends_a_line = fed(b"line one\n" + b"x" * 100 + b"\nlast line\n", 9, 4)
    assert ends_a_line.truncated == 120 - 18
    assert ends_a_line.text() == "line one\n[… 102 bytes truncated …]\nast line\n"
    mid_line = fed(b"a" * 30, 4, 7)
    assert mid_line.text() == "aaaa\n" + truncation_marker(22) + "\naaaa"


@given(
    data=st.binary(max_size=300),
    limit=st.integers(min_value=0, max_value=40),
    chunk=st.integers(min_value=1, max_value=70),
)
def test_chunked_feed_matches_the_rule(data: bytes, limit: int, chunk: int) -> None:
    ascii_data = bytes(b & 0x7F for b in data)  # no multi-byte characters: exact byte rule
    buf = fed(ascii_data, limit, chunk)
    assert buf.total == len(ascii_data)
    cut = max(0, len(ascii_data) - 2 * limit)
    assert buf.truncated == cut
    if cut:
        head, tail = ascii_data[:limit].decode(), ascii_data[len(ascii_data) - limit :].decode()
        sep = "" if not head or head.endswith("\n") else "\n"
        assert buf.text() == f"{head}{sep}{truncation_marker(cut)}\n{tail}"
    else:
        assert buf.text() == ascii_data.decode()


@given(
    text=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\ufffd"),
        max_size=120,
    ),
    limit=st.integers(min_value=1, max_value=30),
    chunk=st.integers(min_value=1, max_value=50),
)
def test_cut_never_splits_a_character(text: str, limit: int, chunk: int) -> None:
    buf = fed(text.encode(), limit, chunk)
    out = buf.text()
    if not buf.truncated:
        assert out == text
        return
    head, marker, tail = out.partition(truncation_marker(buf.truncated))
    assert marker
    assert "\ufffd" not in out
    head, tail = head.removesuffix("\n"), tail.removeprefix("\n")
    assert text.startswith(head) and text.endswith(tail)
    assert len(head.encode()) + len(tail.encode()) + buf.truncated == buf.total
    assert buf.total - 2 * limit <= buf.truncated <= buf.total - 2 * limit + 6


def test_multibyte_characters_at_the_cut() -> None:
    buf = fed("é".encode() * 20, 5, 3)  # 40 bytes; 5 bytes = 2.5 characters
    assert buf.text() == "éé\n[… 32 bytes truncated …]\néé"
    assert buf.truncated == 32


def test_invalid_utf8_is_replaced() -> None:
    buf = HeadTailBuffer(4)
    buf.feed(b"ok\xff\xfe")
    assert buf.text() == "ok\ufffd\ufffd"


def test_limit_zero_keeps_only_the_marker() -> None:
    buf = fed(b"abc", 0, 1)
    assert (buf.text(), buf.truncated) == ("[… 3 bytes truncated …]\n", 3)


def test_negative_limit_is_rejected() -> None:
    with pytest.raises(ValueError):
        HeadTailBuffer(-1)


def test_hundred_megabytes_is_fast_and_flat() -> None:
    chunk = b"z" * 65536
    tracemalloc.start()
    try:
        started = time.perf_counter()
        buf = HeadTailBuffer()
        for _ in range(1600):  # 100 MiB
            buf.feed(chunk)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert buf.total == 1600 * 65536
    assert buf.truncated == buf.total - 2 * DEFAULT_LIMIT
    assert peak < 256 * 1024
    assert elapsed < 1.0


def test_small_chunks_keep_memory_bounded() -> None:
    buf = HeadTailBuffer(100)
    for i in range(10_000):
        buf.feed(b"%05d\n" % i)
    assert buf.total == 60_000
    assert buf.text().endswith("09999\n")
    assert buf.text().startswith("00000\n")
    assert buf.truncated == 60_000 - 200


def test_cap_text_str_and_bytes() -> None:
    short = "a short string"
    capped, cut = cap_text(short)
    assert capped is short and cut == 0
    assert cap_text(b"abc\xff") == ("abc\ufffd", 0)
    text, cut = cap_text("x" * 50, limit=10)
    assert cut == 30
    assert text == "x" * 10 + "\n[… 30 bytes truncated …]\n" + "x" * 10
    assert cap_text(b"y" * 50, limit=10) == (text.replace("x", "y"), 30)


def test_cap_text_measures_utf8_bytes() -> None:
    text = "ж" * 20  # 40 bytes
    assert cap_text(text, limit=20) == (text, 0)
    capped, cut = cap_text(text, limit=5)
    assert cut == 32
    assert capped == "жж\n[… 32 bytes truncated …]\nжж"


# -- skip(): bytes that went past unseen (spliced by the kernel) ---------------------------------


def test_skip_counts_the_bytes_and_the_tail_starts_again() -> None:
    buf = HeadTailBuffer(limit=8)
    buf.feed(b"H" * buf.keep)
    assert buf.head_full
    buf.feed(b"old tail")
    buf.skip(1000)
    buf.feed(b"t" * buf.keep)
    reference = HeadTailBuffer(limit=8)
    reference.feed(b"H" * buf.keep + b"old tail" + b"?" * 1000 + b"t" * buf.keep)
    assert buf.total == reference.total
    assert buf.truncated == reference.truncated
    assert buf.text() == reference.text()


def test_skip_needs_a_full_head() -> None:
    buf = HeadTailBuffer(limit=8)
    buf.feed(b"short")
    with pytest.raises(ValueError):
        buf.skip(10)
    buf.skip(0)  # nothing skipped: always fine
    assert buf.total == 5 and buf.text() == "short"
