"""Token accounting that does not grow with the session: each entry is estimated once, a turn estimates only what is new."""

from __future__ import annotations

import re
from typing import Any

from lime_repl.context.tokens import TokenCounter, calibrate_from_usage, context_tokens, estimate_text


def _user(n: int, text: str) -> dict[str, Any]:
    return {"type": "message", "id": f"u{n}", "role": "user", "content": [{"type": "text", "text": text}]}


def _assistant(n: int, text: str, input_tokens: int, output_tokens: int = 10) -> dict[str, Any]:
    return {
        "type": "message",
        "id": f"a{n}",
        "role": "assistant",
        "content": [{"type": "text", "text": text}],
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def _long_branch(turns: int) -> list[dict[str, Any]]:
    branch: list[dict[str, Any]] = []
    for n in range(turns):
        branch += [_user(n, "old words " * 50), _assistant(n, "ok", input_tokens=1000 + n * 200)]
    return branch


def test_estimate_counts_word_pieces_and_symbols() -> None:
    # A run of n word characters is ceil(n / 4) tokens; every other non-space character is one.
    for text, expected in [
        ("", 0),
        ("a", 1),
        ("abcd", 1),
        ("abcde", 2),
        ("héllo wörld_12345 !!", 2 + 3 + 2),
        ("日本語テキスト", 2),
        ("a-b", 3),
        ("x" * 4001, 1001),
    ]:
        assert estimate_text(text) == expected, text
    sample = "def f(x):\n    return x ** 2  # squares — Ünïcödé ١٢٣٤٥"
    slow = sum(
        1 if len(m.group()) <= 4 else (len(m.group()) + 3) // 4 for m in re.finditer(r"\w+|[^\s\w]", sample)
    )
    assert estimate_text(sample) == slow


def test_calibration_estimates_only_the_entries_since_the_previous_request() -> None:
    branch = _long_branch(500)
    new = _user(500, "fresh words " * 40)
    reported_before = 1000 + 499 * 200
    added = 4 + estimate_text("fresh words " * 40)  # the entry estimate: its text plus 4
    branch += [new, _assistant(500, "done", input_tokens=reported_before + 10 + 2 * added)]
    counter = TokenCounter()
    calibrate_from_usage(branch, counter)
    assert counter.calibration == 2.0  # the provider counted twice the estimate of what was added
    assert set(counter._cache) == {"u500"}  # none of the 1,000 older entries was estimated
    counter.calibration = 1.5
    calibrate_from_usage(branch, counter)  # the same report again: already used, nothing to do
    assert counter.calibration == 1.5 and set(counter._cache) == {"u500"}


def test_context_figure_is_usage_plus_estimates_after_it() -> None:
    branch = _long_branch(300)
    counter = TokenCounter()
    last = 1000 + 299 * 200
    assert context_tokens(branch, counter) == last + 10
    branch.append(_user(300, "more"))
    assert context_tokens(branch, counter) == last + 10 + 4 + estimate_text("more")
    assert set(counter._cache) == {"u300"}


def test_first_report_calibrates_over_the_whole_request() -> None:
    branch = [_user(0, "word " * 100), _assistant(0, "ok", input_tokens=2 * (4 + estimate_text("word " * 100)))]
    counter = TokenCounter()
    calibrate_from_usage(branch, counter)
    assert counter.calibration == 2.0


def test_small_deltas_keep_the_calibration() -> None:
    branch = _long_branch(3) + [_user(3, "hi"), _assistant(3, "ok", input_tokens=10**6)]
    counter = TokenCounter()
    counter.calibration = 1.25
    calibrate_from_usage(branch, counter)
    assert counter.calibration == 1.25
