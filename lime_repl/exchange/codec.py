"""A streamed import's JSON codec: orjson where it gives exactly what ``json`` gives, ``json`` elsewhere.

Source: the import figure of DESIGN.md section 8 (``import_large``) and the
rule that what lime writes stays valid, byte for byte, for lime's own reader
(DESIGN.md section 3). orjson parses and serializes the same values as
Python's ``json`` with lime's options (``separators=(",", ":")``,
``ensure_ascii=False``) except for these, where :class:`LineCodec` leaves the
work to ``json``:

* a float: orjson writes some differently (``1e-05`` as ``0.00001``);
* an integer beyond 64 bits: orjson reads it as a float and refuses to write it;
* ``NaN`` and ``Infinity``, and numbers that overflow to them: orjson refuses
  to read them and writes ``null`` for them;
* a lone surrogate (a ``\\udcff`` escape, lime's mark of a byte that was not
  UTF-8): orjson refuses it both ways;
* invalid UTF-8 and any other line orjson refuses: ``json`` gives the error
  the import reports.

Each line is read by orjson unless it holds a run of 19 digits (maybe an
integer over 64 bits; also in strings, where it merely takes the slower path):
orjson reads every float as ``json`` does (the same double). Each entry is
written by orjson unless its line holds a float orjson writes differently:
only floats under 10^-4 differ (``0.00001`` for ``1e-05``, ``1e-9`` for
``1e-09``), and :func:`_small_float` finds every such number (checked against
``json`` over a million floats: ``tests/unit/test_import_codec.py``).
Once any line was read by ``json``, :meth:`LineCodec.dump` gives None for the
rest of the import (the caller serializes with ``json``): an entry may then
hold a ``NaN`` or an infinity, which orjson writes as ``null``.
orjson is imported when the first codec is made, so no other command pays for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ["LineCodec", "exact"]

#: Every byte but the ASCII digits made ``x``, the digits ``0``: a run of 19 digits becomes :data:`_DIGITS`.
_DIGIT_MAP = bytes(48 if 48 <= i <= 57 else 120 for i in range(256))
_DIGITS = b"0" * 19
_STRUCTURAL = frozenset(b",]}")  # what follows a number in orjson's compact output of an object


def _small_float(line: bytes) -> bool:
    """True when orjson's ``line`` may hold a float ``json`` writes otherwise (also true of some strings).

    Such a float is written ``0.0000…`` or with a one-digit negative exponent (``1.5e-7``): a digit,
    ``e-``, one digit, then the ``,``, ``]`` or ``}`` after the number (``e-`` in a uuid is followed by hex).
    """
    if b"0.0000" in line:
        return True
    at = line.find(b"e-")
    while at > 0:
        if 48 <= line[at - 1] <= 57 and line[at + 2 : at + 3].isdigit() and line[at + 3 : at + 4]:
            if line[at + 3] in _STRUCTURAL:
                return True
        at = line.find(b"e-", at + 2)
    return False


#: Every place :func:`_small_float`'s exponent test can hold, searched once over a batch's joined lines.
_EXPONENT = re.compile(rb"e-[0-9][,\]}]")


def _small_floats(lines: list[bytes]) -> bool:
    """True when any of ``lines`` may hold a float ``json`` writes otherwise (:func:`_small_float` of each)."""
    joined = b"\n".join(lines)
    return b"0.0000" in joined or _EXPONENT.search(joined) is not None


#: What :meth:`LineCodec.parse` gives for a line left to ``json``.
SLOW: Any = object()


class LineCodec:
    """Parses the JSON lines of one import and serializes its entries; see the module docstring."""

    __slots__ = ("_dumps", "_error", "_loads", "plain")

    def __init__(self) -> None:
        import orjson

        self._loads = orjson.loads
        self._dumps = orjson.dumps
        self._error = orjson.JSONDecodeError
        #: True while every line parsed so far was parsed by orjson (no ``NaN`` or infinity can be in an entry).
        self.plain = True

    def parse(self, raw: bytes) -> Any:
        """The value of the JSON line ``raw`` (bytes), or :data:`SLOW`: parse it with ``json`` instead.

        :data:`SLOW` also ends :meth:`dump`'s part: the caller is to parse the line with ``json``.
        """
        if _DIGITS not in raw.translate(_DIGIT_MAP):
            try:
                return self._loads(raw)
            except self._error:
                pass
        self.plain = False
        return SLOW

    def dump(self, entry: dict[str, Any]) -> bytes | None:
        """``entry``'s log line as :func:`lime_repl.store.records.dumps` writes it (UTF-8, no newline), or None.

        None once a line was parsed by ``json`` (see the module docstring), for a line that may hold a
        float orjson writes otherwise, and for an entry orjson refuses (a lone surrogate, an integer over
        64 bits, nesting over its limit): serialize it with ``json``.
        """
        if not self.plain:
            return None
        try:
            line: bytes = self._dumps(entry)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            return None
        return None if _small_float(line) else line

    def dump_many(self, entries: Sequence[dict[str, Any]], *, floats: bool = True) -> list[bytes | None]:
        """:meth:`dump` of each of ``entries``, in order; the small-float test made once for them all first.

        ``floats=False`` leaves that test out: the caller makes it, with :func:`exact`, before a line is used.
        """
        if not self.plain:
            return [None] * len(entries)
        dumps = self._dumps
        try:
            lines: list[bytes | None] = [dumps(entry) for entry in entries]
        except TypeError:  # one entry orjson refuses: each on its own
            return [self.dump(entry) for entry in entries]
        return exact(lines) if floats else lines


def exact(lines: list[bytes | None]) -> list[bytes | None]:
    """``lines`` (orjson's) with each one that may hold a float ``json`` writes otherwise made None.

    The test is made once over them all (:func:`_small_floats`), and line by line only when it finds something.
    """
    known = [line for line in lines if line is not None]
    if not _small_floats(known):
        return lines
    return [None if line is None or _small_float(line) else line for line in lines]
