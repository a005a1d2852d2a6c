"""safe_text's printable-ASCII shortcut (textsafe.py) changes nothing the full rule would not."""

from __future__ import annotations

import random

from lime_repl.textsafe import safe_line, safe_text


def test_every_ascii_character_is_kept_or_made_visible_as_before() -> None:
    rng = random.Random(11)
    for code in range(128):
        ch = chr(code)
        for text in (ch, f"a{ch}b", ch * 3):
            shown = safe_text(text)
            if 0x20 <= code < 0x7F or ch in "\n\t":
                assert shown == text
            else:
                assert shown != text and "\x1b" not in shown and not any(c in shown for c in "\x00\x07\x7f")
    for _ in range(500):
        text = "".join(chr(rng.randrange(0x20, 0x7F)) for _ in range(rng.randrange(0, 60)))
        assert safe_text(text) == text and safe_line(text) == text
    assert safe_line("title\x1b[31m red") == "title red"
