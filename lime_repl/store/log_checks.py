"""The checks of ``lime doctor`` that only read: segment headers and checkpoints, and the entry tree.

The rules come from DESIGN.md section 3 (see :mod:`lime_repl.store.doctor`,
which runs these checks, adds the ones that can repair, and says what each
finding means). Each check appends :class:`Finding` objects to ``out``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .records import Entry, is_tree_node
from .segments import Segment

__all__ = ["Finding", "check_segments", "check_tree", "format_finding"]


@dataclass(slots=True)
class Finding:
    """One result of a check.

    ``session`` is the session id (the file stem; '' for a directory-wide
    finding), ``path`` the file concerned, ``message`` one line of text.
    ``problem`` is False for a note that needs no action; ``repaired`` holds
    what ``--repair`` did about it (None when nothing was done).
    """

    session: str
    path: Path
    message: str
    problem: bool = True
    repaired: str | None = None

    @property
    def open(self) -> bool:
        """A problem that is still there (not repaired)."""
        return self.problem and self.repaired is None


def format_finding(finding: Finding) -> str:
    """``<id8>  problem|note|repaired  <message>`` (one line)."""
    label = "repaired" if finding.repaired else ("problem" if finding.problem else "note")
    text = f"{finding.message}; {finding.repaired}" if finding.repaired else finding.message
    return f"{(finding.session[:8] or '-'):<8}  {label:<8}  {text}"


def check_segments(sid: str, segments: list[Segment], out: list[Finding]) -> None:
    previous: int | None = None
    for index, seg in enumerate(segments):
        if seg.size == 0:
            out.append(
                Finding(sid, seg.path, f"{seg.path}: empty segment (the next resume writes its header)")
            )
            continue
        for warning in seg.warnings:
            out.append(Finding(sid, seg.path, f"{warning} (readers skip it)"))
        first = seg.lines[0] if seg.lines else None
        header = first.entry if first is not None and first.lineno == 1 else None
        if header is None or header.get("type") != "session":
            out.append(
                Finding(sid, seg.path, f"{seg.path}:1: the segment does not open with a session header")
            )
            continue
        if header.get("sessionId") != sid:
            out.append(
                Finding(sid, seg.path, f"{seg.path}:1: header names session {header.get('sessionId')!r}")
            )
        number = header.get("segment")
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            out.append(Finding(sid, seg.path, f"{seg.path}:1: header has no segment number"))
            continue
        if previous is not None and number <= previous:
            out.append(
                Finding(
                    sid, seg.path, f"{seg.path}:1: segment number {number} after {previous} (out of order)"
                )
            )
        previous = number
        if number > 0:
            second = seg.lines[1].entry if len(seg.lines) > 1 else None
            if second is None or second.get("type") != "checkpoint":
                out.append(Finding(sid, seg.path, f"{seg.path}:2: segment {number} has no checkpoint line"))
            elif "droppedEntries" in second:
                dropped = second["droppedEntries"]
                if not isinstance(dropped, int) or isinstance(dropped, bool) or dropped < 0:
                    out.append(
                        Finding(
                            sid,
                            seg.path,
                            f"{seg.path}:2: droppedEntries {dropped!r} is not a count of entries",
                        )
                    )
        if index < len(segments) - 1 and seg.torn:
            out.append(Finding(sid, seg.path, f"{seg.path}: rotated segment ends in a torn line"))


def check_tree(sid: str, active: Path, segments: list[Segment], out: list[Finding]) -> None:
    nodes: dict[str, Entry] = {}
    leaf: str | None = None
    dropped = False
    for seg_index, seg in enumerate(segments):
        for line in seg.lines:
            entry = line.entry
            kind = entry.get("type")
            if kind == "session":
                if seg_index == 0 and isinstance(entry.get("segment"), int) and entry["segment"] > 0:
                    dropped = True
                continue
            if kind == "checkpoint":
                if seg_index == 0 and isinstance(entry.get("leafId"), str):
                    leaf = entry["leafId"]
                continue
            entry_id = entry.get("id")
            where = f"{seg.path}:{line.lineno}"
            if not isinstance(entry_id, str):
                out.append(Finding(sid, seg.path, f"{where}: a {kind!r} entry without a string id"))
                continue
            if entry_id in nodes:
                out.append(Finding(sid, seg.path, f"{where}: duplicate entry id {entry_id}"))
                continue
            nodes[entry_id] = entry
            if kind == "leaf":
                target = entry.get("targetId")
                leaf = target if isinstance(target, str) else None
            elif is_tree_node(entry):
                leaf = entry_id
    missing: dict[str, int] = {}
    for entry_id, entry in nodes.items():
        parent = entry.get("parentId")
        if parent is None:
            continue
        if not isinstance(parent, str):
            out.append(Finding(sid, active, f"entry {entry_id} has a parentId that is not a string"))
        elif parent not in nodes:
            missing[parent] = missing.get(parent, 0) + 1
    for parent, count in missing.items():
        if dropped:
            out.append(
                Finding(
                    sid, active, f"{count} entries continue from {parent}, dropped by rotation", problem=False
                )
            )
        else:
            out.append(Finding(sid, active, f"{count} entries name a missing parent {parent}"))
    for entry_id in _cycle_members(nodes):
        out.append(Finding(sid, active, f"entry {entry_id} is in a parentId cycle"))
    if leaf is not None and leaf not in nodes and not dropped:
        out.append(Finding(sid, active, f"the leaf {leaf} names no entry"))


def _cycle_members(nodes: dict[str, Entry]) -> list[str]:
    """Ids of the entries on a parentId cycle (each cycle reported once, by its smallest id)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    found: list[str] = []
    for start in nodes:
        path: list[str] = []
        current: object = start
        while isinstance(current, str) and current in nodes and state.get(current) is None:
            state[current] = 1
            path.append(current)
            current = nodes[current].get("parentId")
        if isinstance(current, str) and state.get(current) == 1:
            found.append(min(path[path.index(current) :]))
        for entry_id in path:
            state[entry_id] = 2
    return found
