"""What a session holds on disk and what rotation took from it (DESIGN.md section 3, Retention).

A session's ``retain`` (rotated segments kept, 0 = all) is set by its
``session`` headers and by ``retention`` entries (``lime session keep``); the
last one written wins. What rotation has dropped is the ``droppedEntries`` of
the oldest surviving segment's ``checkpoint`` (its second line): every entry
of the segments before it, which rotation deleted.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .segments import segment_paths

__all__ = ["Holding", "holding"]

_HEAD_LINES = 2
_HEAD_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Holding:
    """``bytes`` in the surviving segments, ``dropped`` entries rotation deleted, ``segments`` surviving."""

    bytes: int
    dropped: int
    segments: int


def _head(path: Path) -> list[dict[str, object]]:
    """The first two JSON objects of a segment (the header and, after segment 0, its checkpoint)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(_HEAD_BYTES)
    except OSError:
        return []
    result = []
    for raw in data.split(b"\n")[:_HEAD_LINES]:
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            break
        if isinstance(value, dict):
            result.append(value)
    return result


def holding(active: Path) -> Holding:
    """The bytes, dropped entries and segment count of the session whose active file is ``active``.

    Reads only the oldest segment's first two lines; missing files count as empty.
    """
    paths = segment_paths(active)  # oldest first
    total = 0
    for path in paths:
        try:
            total += os.stat(path).st_size
        except OSError:
            continue
    dropped = 0
    if paths:
        head = _head(paths[0])
        if len(head) == 2 and head[0].get("type") == "session" and head[0].get("segment") != 0:
            value = head[1].get("droppedEntries") if head[1].get("type") == "checkpoint" else None
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                dropped = value
    return Holding(total, dropped, len(paths))
