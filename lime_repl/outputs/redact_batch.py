"""Which JSON lines of a batch no redaction rule can change, found in one pass over the whole batch.

:meth:`~lime_repl.outputs.redact.Redactor.for_json` decides this for one line:
no secret value, no gate literal (:mod:`~lime_repl.outputs.redact_gates`)
and no match of the gate patterns that hold when no literal is found. Each
of those searches costs about a microsecond per call on a short line, however
little it finds; :func:`quiet_lines` makes each search once over the batch's
lines joined by newlines and maps what it finds back to the lines, so a large
import pays per batch, not per entry. A line it calls quiet is one
``for_json`` leaves alone (a line holding a gate literal is not quiet, even
where ``for_json`` would then find that no rule's pattern applies):

* a JSON line never holds a newline (JSON escapes it), so a secret value's
  escaped form, found in the joined text, lies within one line;
* a literal found across a newline marks both lines (more work, same result);
* a gate pattern is used only if it can never match a newline and has no
  anchor, lookaround, word boundary or negated class (:func:`batchable`), so
  a match at a place of a line exists alone exactly when it does in the
  joined text, and each match lies within one line.

Only ASCII lines are scanned here (their byte and character offsets agree and
:func:`~lime_repl.outputs.redact_gates.fold` changes nothing in them but case);
any other line is left to ``for_json``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence

from .redact_gates import LiteralScan

__all__ = ["batchable", "quiet_lines"]

#: Escapes that could match a newline or look past a match (anchors, boundaries, negated and space classes,
#: character codes, back references); ``\\d``, ``\\w`` and escaped punctuation are safe.
_UNSAFE_ESCAPES = frozenset("bBAZzsSWDnrtfvxuUN0123456789")


def batchable(pattern: re.Pattern[str]) -> bool:
    """True when ``pattern`` may be searched over newline-joined lines (see the module docstring).

    It must hold no control character, no unescaped ``^``, ``$``, ``.`` or ``(?`` (anchors, any
    character, lookaround and flags) and none of :data:`_UNSAFE_ESCAPES`, and use no multi-line flag.
    """
    source = pattern.pattern
    if pattern.flags & (re.MULTILINE | re.DOTALL | re.VERBOSE):
        return False
    i = 0
    while i < len(source):
        ch = source[i]
        if ord(ch) < 0x20 or ch in "^$.":
            return False
        if ch == "\\":
            if i + 1 >= len(source) or source[i + 1] in _UNSAFE_ESCAPES:
                return False
            i += 2
            continue
        if ch == "(" and source[i + 1 : i + 2] == "?":
            return False
        i += 1
    return True


def quiet_lines(
    lines: Sequence[bytes | None],
    scan: LiteralScan,
    patterns: Sequence[re.Pattern[str]],
    values: Sequence[str],
) -> list[bool]:
    """For each of ``lines`` (UTF-8 JSON lines; None: not known), True when no redaction can change it.

    ``scan`` finds the gate literals; ``patterns`` are the gate patterns a line must not match when no
    literal is in it (each :func:`batchable`); ``values`` are the secret values as they read in JSON.
    A line is True only when it is ASCII and none of the three finds anything in it.
    """
    quiet = [False] * len(lines)
    if scan.bytes_automaton is None:
        return quiet
    if None not in lines and (joined := b"\n".join(lines)).isascii():  # type: ignore[arg-type]
        chosen: Sequence[int] = range(len(lines))  # the common case: every line, tested once
        parts: Sequence[bytes] = lines  # type: ignore[assignment]
    else:
        chosen = [i for i, line in enumerate(lines) if line is not None and line.isascii()]
        if not chosen:
            return quiet
        parts = [lines[i] for i in chosen]  # type: ignore[misc]
        joined = b"\n".join(parts)
    starts: list[int] = []  # where each part starts in ``joined``: made at the first thing found
    marked = [False] * len(parts)

    def mark(start: int, end: int) -> None:
        if not starts:
            at = 0
            for part in parts:
                starts.append(at)
                at += len(part) + 1
        first = bisect_right(starts, start) - 1
        last = bisect_right(starts, max(end - 1, start)) - 1
        for k in range(first, last + 1):
            marked[k] = True

    for _, start, end in scan.bytes_automaton.find_matches_as_indexes(joined.lower(), overlapping=True):
        mark(start, end)
    text = joined.decode("ascii")
    for pattern in patterns:
        for match in pattern.finditer(text):
            mark(match.start(), match.end())
    for value in values:
        found = text.find(value) if value else -1
        while found >= 0:
            mark(found, found + len(value))
            found = text.find(value, found + 1)
    if isinstance(chosen, range):
        return [not m for m in marked]
    for k, i in enumerate(chosen):
        quiet[i] = not marked[k]
    return quiet
