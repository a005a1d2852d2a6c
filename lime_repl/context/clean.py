"""Command and tool output as the model (and an export's reader) is shown it.

DESIGN.md section 4 ("What the model and the terminal are shown"). The log
keeps what a command printed (decoded with U+FFFD replacement); the transcript
builder and the Markdown and HTML exports pass each ``!`` output and tool
result through :func:`clean_output`:

* terminal escape sequences (SGR colour, cursor movement, OSC titles, …) are
  removed (:func:`lime_repl.textsafe.strip_sequences`);
* carriage-return overwrites collapse to the final text of each line
  (``"\\r50%\\r100%"`` becomes ``"100%"``; a CRLF line end becomes a newline),
  and a backspace removes the character before it (``man``-style overstrike);
* NUL and every other control character but newline and tab (C0, DEL, C1) is
  replaced by U+FFFD;
* an output of at least 64 characters of which more than 30 % is U+FFFD or a
  control character is mostly binary and becomes ``[binary output: N bytes]``,
  where N counts each U+FFFD as the one byte it replaced and every other
  character as its UTF-8 length.

Pure and deterministic, so a resumed session sends exactly what the running
one would.
"""

from __future__ import annotations

import re

from ..textsafe import strip_sequences

__all__ = ["BINARY_MIN_CHARS", "BINARY_RATIO", "clean_output"]

BINARY_MIN_CHARS = 64
BINARY_RATIO = 0.3

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BAD = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffd]")
_BACKSPACE = re.compile(r"[^\n\b]\x08")
# What _BAD matches in ASCII text: C0 controls but newline and tab, and DEL (as bytes, for bytes.translate).
_ASCII_BAD = bytes(range(0x00, 0x09)) + bytes(range(0x0B, 0x20)) + b"\x7f"


def _binary_size(text: str) -> int:
    return sum(1 if c == "\ufffd" else len(c.encode("utf-8", "replace")) for c in text)


def _final_text(line: str) -> str:
    parts = [part for part in line.split("\r") if part]
    return parts[-1] if parts else ""


def clean_output(text: str) -> str:
    """``text`` (a command's stdout or stderr, or a tool result) cleaned for the model; see the module doc."""
    if not text:
        return text
    if text.isascii():
        # One C-level pass over the bytes: ASCII text with no control character needs no cleaning.
        raw = text.encode("ascii")
        bad = len(raw) - len(raw.translate(None, _ASCII_BAD))
        if not bad:
            return text
    else:
        bad = len(_BAD.findall(text))
    if len(text) >= BINARY_MIN_CHARS and bad > BINARY_RATIO * len(text):
        return f"[binary output: {_binary_size(text)} bytes]"
    text = strip_sequences(text)
    if "\r" in text:
        text = "\n".join(_final_text(line) if "\r" in line else line for line in text.split("\n"))
    while "\x08" in text:
        stripped = _BACKSPACE.sub("", text)
        if stripped == text:
            break
        text = stripped
    return _CONTROL.sub("\ufffd", text)
