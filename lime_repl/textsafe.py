"""Text made safe for a terminal: the one sanitizer for everything lime prints from storage or a model.

DESIGN.md section 4 ("What the model and the terminal are shown"). Text that
lime prints and did not get from the user's own live ``!`` command (session
tables, ``session show``/``search``, ``/status``, listings, exports, streamed
answers) goes through :func:`safe_text` first:

* escape sequences are dropped whole: CSI (``ESC [`` … final byte), OSC
  (``ESC ]`` … BEL or ST), DCS/SOS/PM/APC (``ESC P``/``X``/``^``/``_`` … ST),
  their 8-bit C1 introducers (U+009B, U+009D, U+0090, U+0098, U+009E,
  U+009F), and the two-character ``ESC`` sequences (ECMA-48 section 5.3);
* every other C0 control but newline and tab, and DEL, is made visible in
  caret notation (``^G`` for BEL, ``^M`` for a carriage return, ``^?`` for
  DEL), the way ``cat -v`` shows them; a CRLF line end becomes a newline;
* the remaining C1 controls (U+0080–U+009F) and the bidirectional overrides
  and isolates (U+202A–U+202E, U+2066–U+2069, the "Trojan Source" characters
  of CVE-2021-42574) are shown as ``<U+XXXX>``.

A sequence with no terminator loses only its introducer; the text after it
is shown as text. :class:`StreamSanitizer` does the same for text that
arrives in pieces (a model's streamed answer), holding back a sequence split
across pieces. Pure: no lime imports, no I/O.
"""

from __future__ import annotations

import re

__all__ = ["StreamSanitizer", "safe_line", "safe_text", "strip_sequences"]

# The patterns are strings, compiled at first use by the re module's own cache: most runs (a `!` line,
# a listing) never show text that needs them, and compiling them all costs about a millisecond.
_ST = r"(?:\x1b\\|\x9c|\x07)"
# Whole escape sequences (terminated), in the order a terminal would parse them.
_SEQUENCE = (
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*" + _ST +  # OSC, ended by BEL or ST
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c\x07]*" + _ST +  # DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-OQ-WYZ\\`-~]"  # two-character (and nF) escapes
)
# Introducers left without their terminator: dropped alone.
_INTRODUCER = r"\x1b[\[\]PX^_]?|[\x90\x98\x9b\x9d\x9e\x9f]"
# Any character that can open a sequence: ESC or a C1 control (one regex scan, not a loop in Python).
_ANY_INTRODUCER = r"[\x1b\x90-\x9f]"
_VISIBLE = r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
# A possibly unfinished sequence at the end of a streamed piece.
_PENDING = r"(?:\x1b[\[\]PX^_]?|[\x90\x98\x9b\x9d\x9e\x9f])[^\x1b]*\Z"
_HOLD_LIMIT = 4096


def _show(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return f"<U+{code:04X}>"


def strip_sequences(text: str) -> str:
    """``text`` without its terminal escape sequences (CSI, OSC, DCS, SOS, PM, APC, two-character ESC).

    Unterminated sequences lose their introducer only. Other control
    characters are left as they are (see :func:`safe_text`).
    """
    if re.search(_ANY_INTRODUCER, text) is None:
        return text
    return re.sub(_INTRODUCER, "", re.sub(_SEQUENCE, "", text))


def safe_text(text: str) -> str:
    """``text`` that cannot drive a terminal: sequences dropped, other controls made visible.

    Newlines and tabs are kept; ``\\r\\n`` becomes ``\\n``. Idempotent.
    """
    if text.isascii() and text.isprintable():  # the common cell: printable ASCII holds no control at all
        return text
    if re.search(_VISIBLE, text) is None:  # no control at all (ESC, C1 and CR are controls): nothing to change
        return text
    text = strip_sequences(text).replace("\r\n", "\n")
    return re.sub(_VISIBLE, _show, text)


def safe_line(text: str) -> str:
    """:func:`safe_text` on one line: newlines and tabs become spaces (for table cells and status lines)."""
    return safe_text(text).replace("\n", " ").replace("\t", " ")


class StreamSanitizer:
    """:func:`safe_text` for text that arrives in pieces.

    ``feed(piece)`` returns the safe text that can be shown now; a trailing
    piece that may be the start of an escape sequence is held (at most 4,096
    characters) until the next piece or :meth:`close`.
    """

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        text = self._held + piece
        self._held = ""
        match = re.search(_PENDING, text)
        if match is not None and len(text) - match.start() <= _HOLD_LIMIT:
            tail = text[match.start() :]
            if re.match(_SEQUENCE, tail) is None:
                self._held, text = tail, text[: match.start()]
        if text.endswith("\r"):
            self._held, text = "\r" + self._held, text[:-1]
        return safe_text(text)

    def close(self) -> str:
        """What is still held, made safe (an unfinished sequence loses its introducer)."""
        text, self._held = self._held, ""
        return safe_text(text)
