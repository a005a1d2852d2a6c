"""The cells of a session listing, shared by ``lime session list`` and the picker (``lime -r``).

One formatter for each column, so a session shows the same UPDATED time and
the same aligned columns wherever it is listed:

* :func:`updated_cell`: the newest write as local time, ``YYYY-MM-DD HH:MM``,
  rounded down to the minute (the JSON listing keeps RFC 3339 UTC);
* :func:`fit`: text padded or cut to a width in terminal columns, where an
  East Asian wide or full-width character takes two columns and a combining
  mark none (Unicode's ``East_Asian_Width`` and general category, from
  :mod:`unicodedata`), so columns after it line up;
* :func:`path_cell`: a working directory cut from the left (``…/deep/dir``)
  to fit its column.

Text given to these functions is already safe to print
(:func:`~lime_repl.textsafe.safe_line`). Pure functions, no I/O.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime

__all__ = ["UPDATED_WIDTH", "column_width", "fit", "path_cell", "text_width", "updated_cell"]

#: Columns of :func:`updated_cell`'s text.
UPDATED_WIDTH = 16


def updated_cell(updated: str) -> str:
    """``updated`` (RFC 3339, as in ``SessionInfo.updated``) as local time ``YYYY-MM-DD HH:MM``, the
    seconds dropped (rounded down); ``-`` when it is empty or not a timestamp. The local zone is the
    process's (``TZ``)."""
    try:
        when = datetime.fromisoformat(updated.replace("Z", "+00:00"))
    except ValueError:
        return "-"
    if when.tzinfo is None:
        return when.strftime("%Y-%m-%d %H:%M")
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


def _char_width(ch: str) -> int:
    if ch.isascii():
        return 1 if ch.isprintable() else 0
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Terminal columns ``text`` takes (see the module docstring)."""
    if text.isascii():
        return len(text)
    return sum(_char_width(ch) for ch in text)


def fit(text: str, width: int, *, pad: bool = True) -> str:
    """``text`` in at most ``width`` columns: cut with ``…`` when longer, padded with spaces to exactly
    ``width`` when ``pad``."""
    if width <= 0:
        return ""
    used = text_width(text)
    if used > width and text.isascii() and text.isprintable():  # one column a character: a slice
        text, used = text[: width - 1] + "…", width
    elif used > width:
        out, used = [], 0
        for ch in text:
            w = _char_width(ch)
            if used + w > width - 1:
                break
            out.append(ch)
            used += w
        text = "".join(out) + "…"
        used += 1
    return text + " " * (width - used) if pad else text


def path_cell(path: str, width: int) -> str:
    """``path`` in at most ``width`` columns, cut from the left as ``…`` + its tail when longer (the
    tail names the directory); not padded."""
    if text_width(path) <= width:
        return path
    if width <= 1:
        return "…"[:width]
    if path.isascii() and path.isprintable():
        return "…" + path[len(path) - (width - 1) :]
    tail, used = [], 0
    for ch in reversed(path):
        w = _char_width(ch)
        if used + w > width - 1:
            break
        tail.append(ch)
        used += w
    return "…" + "".join(reversed(tail))


def column_width(cells: Iterable[str], *, least: int, most: int) -> int:
    """The width of a column holding ``cells``: the widest cell's, kept within ``least`` .. ``most``."""
    widest = max((text_width(cell) for cell in cells), default=0)
    return max(least, min(most, widest))
