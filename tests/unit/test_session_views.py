"""The pure pieces behind listings, recaps and automatic titles: cells, one-line tool forms, title cleaning."""

from __future__ import annotations

import pytest
from wcwidth import wcswidth

from lime_repl.context.title import clean_title, first_exchange
from lime_repl.views.exchanges import count_exchanges, recap, result_lines, tool_input_line
from lime_repl.views.listing import fit, path_cell, updated_cell


@pytest.mark.parametrize(
    ("answer", "title"),
    [
        ('"Fix the CSV parser."', "Fix the CSV parser"),
        ("**Title:** Refactor loader\nmore text", "Refactor loader"),
        ("# Add tests\n", "Add tests"),
        ("\n\n  « Nettoyer le cache »  ", "Nettoyer le cache"),
        ("   \n", None),
        ("x" * 200, "x" * 79 + "…"),
        ("bad\x1b]0;t\x07 title\x1b[31m", "bad title"),
    ],
)
def test_clean_title(answer: str, title: str | None) -> None:
    assert clean_title(answer) == title


def test_first_exchange_skips_bash_triples_and_waits_for_an_answer() -> None:
    triple = {"type": "message", "role": "user", "shell": {}, "content": [{"type": "text", "text": "<bash-input>ls</bash-input>"}]}
    user = {"type": "message", "role": "user", "content": [{"type": "text", "text": "fix it"}]}
    call = {"type": "message", "role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "bash", "input": {}}]}
    answer = {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "fixed"}]}
    assert first_exchange([triple, user, call]) is None
    assert first_exchange([triple, user, call, answer]) == ("fix it", "fixed")


@pytest.mark.parametrize("text", ["漢字のタイトルです", "plain title", "e\u0301t\u0301e\u0301", "a" * 70])
def test_fit_pads_and_cuts_by_display_width(text: str) -> None:
    cell = fit(text, 12)
    assert wcswidth(cell) == 12
    assert cell.rstrip() == text or cell.rstrip().endswith("…")


def test_path_cell_keeps_the_tail() -> None:
    assert path_cell("/short", 20) == "/short"
    cut = path_cell("/a/very/long/path/to/the/工作目录", 16)
    assert cut.startswith("…") and cut.endswith("工作目录") and wcswidth(cut) <= 16


def test_updated_cell_is_local_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert updated_cell("2026-12-01T15:21:59.999Z") == "2026-12-01 20:51"
        assert updated_cell("") == "-"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_tool_input_line_and_result_lines() -> None:
    assert tool_input_line("bash", {"command": "ls\n  -la"}) == "bash: ls -la"
    assert tool_input_line("edit", {"path": "a.py", "old_string": "x"}) == 'edit: a.py {"old_string": "x"}'
    assert tool_input_line("custom", {"n": 1}) == 'custom: {"n": 1}'
    assert result_lines("a\nb\nc\n", 2) == ["a", "b", "(+1 line)"]
    assert result_lines("", 3) == ["(no output)"]


def test_recap_counts_exchanges() -> None:
    def user(text: str) -> dict:
        return {"type": "message", "role": "user", "content": [{"type": "text", "text": text}]}

    entries = [user(f"q{i}") for i in range(5)]
    assert count_exchanges(entries) == 5
    lines, shown, earlier = recap(reversed(entries), 2)
    assert [line.text for line in lines] == ["› q3", "› q4"] and (shown, earlier) == (2, True)
    assert recap(reversed(entries), 5)[1:] == (5, False)
    assert recap(reversed(entries), 0) == ([], 0, False)


def test_fit_and_path_cell_cut_plain_ascii_as_the_per_character_rule_does() -> None:
    """The ASCII fast paths of views/listing.py give what the per-character width rule gives."""
    import random

    from lime_repl.views.listing import _char_width, fit, path_cell

    def fit_slow(text: str, width: int) -> str:
        out, used = [], 0
        for ch in text:
            if used + _char_width(ch) > width - 1:
                break
            out.append(ch)
            used += _char_width(ch)
        return "".join(out) + "…" + " " * (width - used - 1)

    def tail_slow(path: str, width: int) -> str:
        tail, used = [], 0
        for ch in reversed(path):
            if used + _char_width(ch) > width - 1:
                break
            tail.append(ch)
            used += _char_width(ch)
        return "…" + "".join(reversed(tail))

    rng = random.Random(7)
    for _ in range(2000):
        text = "".join(rng.choice("abc/ -_.XYZ019") for _ in range(rng.randrange(1, 80)))
        width = rng.randrange(2, 60)
        if len(text) > width:
            assert fit(text, width) == fit_slow(text, width)
            assert path_cell(text, width) == tail_slow(text, width)
        else:
            assert fit(text, width) == text + " " * (width - len(text))
            assert path_cell(text, width) == text


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/New_York", "Australia/Lord_Howe", "Europe/Dublin", "Africa/Monrovia"])
def test_minute_cells_are_updated_cell_of_the_same_time(monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    """Every minute of two days around both of the zone's DST changes, and odd seconds, as updated_cell shows them."""
    import time

    from lime_repl.store.catalog import _rfc3339_ns
    from lime_repl.views.listing import minute_cells

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        cell = minute_cells()
        starts = [1_774_000_000, 1_792_000_000, 0, -86_400 * 400]  # 2026-03, 2026-10, the epoch, 1968
        for start in starts:
            for second in range(start - 86_400, start + 86_400, 37):
                ns = second * 1_000_000_000 + 999_999_999
                assert cell(ns) == updated_cell(_rfc3339_ns(ns)), (zone, second)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_size_cells() -> None:
    from lime_repl.cli.printers import _size

    assert [_size(n) for n in (0, 1023, 1024, 10_342, (1 << 20) - 1, 1 << 20, 5 << 30, 3 << 40)] == [
        "0 B", "1023 B", "1.0 KiB", "10.1 KiB", "1024.0 KiB", "1.0 MiB", "5.0 GiB", "3072.0 GiB",
    ]  # fmt: skip
