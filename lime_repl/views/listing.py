"""The cells of a session listing, shared by ``lime session list`` and the picker (``lime -r``).

One formatter for each column, so a session shows the same UPDATED time and
the same aligned columns wherever it is listed:

* :func:`updated_cell`: the newest write as local time, ``YYYY-MM-DD HH:MM``,
  rounded down to the minute (the JSON listing keeps RFC 3339 UTC);
  :func:`minute_cells` gives the same text from nanoseconds since the epoch,
  with a cache per minute, for a listing of thousands of rows;
* :func:`fit`: text padded or cut to a width in terminal columns, where an
  East Asian wide or full-width character takes two columns and a combining
  mark none (Unicode's ``East_Asian_Width`` and general category, from
  :mod:`unicodedata`), so columns after it line up;
* :func:`cut`: text clipped to a width in columns, with no mark;
* :func:`path_cell`: a working directory cut from the left (``…/deep/dir``)
  to fit its column.

Text given to these functions is already safe to print
(:func:`~lime_repl.textsafe.safe_line`). Pure functions, no I/O.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Iterable
from datetime import datetime

__all__ = ["UPDATED_WIDTH", "column_width", "cut", "fit", "minute_cells", "path_cell", "text_width", "updated_cell"]

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


def minute_cells() -> Callable[[int], str]:
    """A formatter of ``mtime_ns`` (nanoseconds since the epoch) as :func:`updated_cell` shows it.

    The same text as ``updated_cell`` of the RFC 3339 form of ``mtime_ns``:
    local time (``time.localtime``, the process's ``TZ`` when the formatter
    was made), ``YYYY-MM-DD HH:MM``, the seconds dropped; ``-`` for a time the
    platform cannot convert. Each formatter keeps its own cache per UTC minute
    (valid while the zone's offset is whole minutes, as every zone's is since
    the 1970s; other offsets are computed per second), so one listing of
    10,000 sessions calls ``localtime`` once per distinct minute instead of
    parsing and formatting a ``datetime`` per row. Make one per listing.
    """
    cache: dict[int, str] = {}

    def cell(mtime_ns: int) -> str:
        seconds = mtime_ns // 1_000_000_000
        minute = seconds // 60
        text = cache.get(minute)
        if text is None:
            try:
                tm = time.localtime(seconds)
            except (OverflowError, OSError, ValueError):
                return "-"
            text = f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d} {tm.tm_hour:02d}:{tm.tm_min:02d}"
            if tm.tm_gmtoff % 60 == 0:
                cache[minute] = text
        return text

    return cell


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


def cut(text: str, width: int) -> str:
    """The start of ``text`` that fits in ``width`` columns, cut with no mark (as a terminal clips a line)."""
    if text.isascii() and text.isprintable():
        return text[: max(0, width)]
    out, used = [], 0
    for ch in text:
        w = _char_width(ch)
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out)


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
