"""Rotation inside an import's batch: one rename per rollover, the segments always in the naming's order.

A session that keeps every segment renames all of them at each rollover
(``.N`` -> ``.N+1``); an import of 180 segments made 16,653 renames. In a
batch (``Session.append_copies``) each rollover renames one file, and the
batch's end renumbers ``.1`` ... ``.N`` (DESIGN.md section 3, Rotation). The
renames are counted with an audit hook (``os.replace`` raises ``os.rename``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from lime_repl.store.records import Entry
from lime_repl.store.segments import segment_paths
from lime_repl.store.session import Session, StoreOptions

KEEP_ALL = StoreOptions(max_bytes=4096, backups=0)
_RENAMES: list[str] = []
_COUNTING = [False]


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "os.rename" and _COUNTING[0]:
        _RENAMES.append(str(args[1]))


sys.addaudithook(_audit)


def _entries(n: int, start: int = 0) -> Iterator[Entry]:
    parent = None if start == 0 else f"{start - 1:08x}"
    for i in range(start, start + n):
        entry_id = f"{i:08x}"
        yield {
            "type": "message",
            "id": entry_id,
            "parentId": parent,
            "timestamp": "2026-01-01T00:00:00.000Z",
            "role": "user",
            "content": [{"type": "text", "text": f"entry {i} " + "x" * 300}],
        }
        parent = entry_id


def _in_order(active: Path) -> list[int]:
    """The ``segment`` numbers of the headers, in the order the reader lists the files (oldest first)."""
    numbers = []
    for path in segment_paths(active):
        with open(path, "rb") as fh:
            numbers.append(json.loads(fh.readline())["segment"])
    return numbers


def _ids(active: Path) -> list[str]:
    ids = []
    for path in segment_paths(active):
        for line in path.read_bytes().splitlines():
            entry = json.loads(line)
            if entry["type"] == "message":
                ids.append(entry["id"])
    return ids


def _copied(session: Session, entries: Iterator[Entry]) -> int:
    _RENAMES.clear()
    _COUNTING[0] = True
    try:
        session.append_copies(entries, keep=False, batch_bytes=8192)
    finally:
        _COUNTING[0] = False
    return len(_RENAMES)


def test_a_batch_renames_each_segment_a_bounded_number_of_times(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w", options=KEEP_ALL, retain=0)
    renames = _copied(session, _entries(1000))
    session.close()
    files = segment_paths(session.path)
    rotated = len(files) - 1
    assert rotated > 80
    # Once into the gap and once renumbered at most: not rotated * (rotated + 1) / 2.
    assert renames <= 2 * rotated
    assert [p.name.rsplit(".", 1)[-1] for p in files[:-1]] == [str(n) for n in range(rotated, 0, -1)]
    assert _in_order(session.path) == list(range(rotated + 1))
    assert _ids(session.path) == [f"{i:08x}" for i in range(1000)]
    loaded = Session.load(session.path)
    assert loaded.dropped_entries == 0 and len(loaded.entries) == 1000


def test_mid_batch_the_reader_sees_every_segment_in_order(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w", options=KEEP_ALL, retain=0)
    session.append_copies(_entries(100), keep=False)  # segments from before the batch
    before = len(segment_paths(session.path))
    assert before > 5
    seen: list[list[int]] = []

    def watched() -> Iterator[Entry]:
        for i, entry in enumerate(_entries(400, start=100)):
            if i % 50 == 49:  # inside the batch: as a reader, or a process killed now, would find the files
                seen.append(_in_order(session.path))
            yield entry

    session.append_copies(watched(), keep=False, batch_bytes=4096)
    session.close()
    assert len(seen) == 8
    for numbers in seen:
        assert numbers == sorted(numbers) and len(numbers) == len(set(numbers))
        assert numbers[: before - 1] == list(range(before - 1))  # nothing older was lost or reordered
    assert max(len(n) for n in seen) > before
    assert _in_order(session.path) == list(range(len(segment_paths(session.path))))
    assert _ids(session.path) == [f"{i:08x}" for i in range(500)]


def test_rotations_after_a_batch_shift_as_before(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w", options=KEEP_ALL, retain=0)
    session.append_copies(_entries(200), keep=False)
    for entry in _entries(100, start=200):  # ordinary appends: every kept segment shifts by one
        session.append_copy(entry)
    session.close()
    files = segment_paths(session.path)
    assert [p.name.rsplit(".", 1)[-1] for p in files[:-1]] == [str(n) for n in range(len(files) - 1, 0, -1)]
    assert _in_order(session.path) == list(range(len(files)))
    assert _ids(session.path) == [f"{i:08x}" for i in range(300)]


def test_a_session_that_prunes_keeps_its_three_backups_in_a_batch(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w", options=StoreOptions(max_bytes=4096, backups=3))
    session.append_copies(_entries(300), keep=False)
    session.close()
    names = sorted(p.name.split(".jsonl")[1] for p in segment_paths(session.path))
    assert names == ["", ".1", ".2", ".3"]
    numbers = _in_order(session.path)
    assert numbers == sorted(numbers) and numbers[-1] - numbers[0] == 3
