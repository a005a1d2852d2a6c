"""Following a session log across rotations with a real writer thread and real files."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from lime_repl.store.segments import segment_paths
from lime_repl.store.session import Session, StoreOptions
from lime_repl.store.tail import follow_lines


def _write(session: Session, count: int, pause: float) -> None:
    for i in range(count):
        session.append(
            {"type": "message", "role": "user", "content": [{"type": "text", "text": f"line {i:04d}"}]}
        )
        if pause and i % 5 == 0:
            time.sleep(pause)


def test_follow_reads_every_line_once_across_many_rotations(tmp_path: Path) -> None:
    session = Session.create(tmp_path / "s", "/w", options=StoreOptions(max_bytes=1200, backups=0))
    stop = threading.Event()
    got: list[bytes] = []

    def follow() -> None:
        got.extend(follow_lines(session.path, poll=0.01, stop=stop))

    reader = threading.Thread(target=follow)
    reader.start()
    try:
        _write(session, 400, pause=0.002)  # several rotations between polls, and some during reads
    finally:
        session.close()
        time.sleep(0.05)
        stop.set()
        reader.join(timeout=10)
    segments = segment_paths(session.path)
    assert len(segments) > 40
    expected = b"".join(p.read_bytes() for p in segments)
    assert b"".join(got) == expected
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in got)


def test_without_follow_it_prints_what_exists_and_stops(tmp_path: Path) -> None:
    session = Session.create(tmp_path / "s", "/w", options=StoreOptions(max_bytes=1000, backups=2))
    _write(session, 60, pause=0)
    with open(session.path, "ab") as fh:
        fh.write(b'{"type":"message","torn')  # a torn tail is never printed
    lines = list(follow_lines(session.path, follow=False))
    session.close()
    expected = b"".join(
        p.read_bytes()[: p.read_bytes().rfind(b"\n") + 1] for p in segment_paths(session.path)
    )
    assert b"".join(lines) == expected and b"torn" not in expected
    assert list(follow_lines(tmp_path / "s" / "missing.jsonl", follow=False)) == []


def test_a_rotation_before_the_next_header_is_written_duplicates_nothing(tmp_path: Path) -> None:
    active = tmp_path / "abc.jsonl"
    first = b'{"type":"session","segment":0}\n{"type":"message","n":1}\n{"type":"message","raw":"a\rb"}\n'
    active.write_bytes(first)
    stop = threading.Event()
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.extend(follow_lines(active, poll=0.01, stop=stop)))
    reader.start()
    try:
        time.sleep(0.1)
        with open(active, "ab") as fh:
            fh.write(b'{"type":"message","n":2}\n')
        active.rename(tmp_path / "abc.jsonl.1")  # rotated; the new active file has no header yet
        active.write_bytes(b"")
        time.sleep(0.1)
        second = b'{"type":"session","segment":1}\n{"type":"message","n":3}\n'
        with open(active, "ab") as fh:
            fh.write(second[:20])  # a header being written: not a whole line yet
            time.sleep(0.1)
            fh.write(second[20:])
        time.sleep(0.1)
    finally:
        stop.set()
        reader.join(timeout=10)
    assert got == [
        b'{"type":"session","segment":0}\n',
        b'{"type":"message","n":1}\n',
        b'{"type":"message","raw":"a\rb"}\n',
        b'{"type":"message","n":2}\n',
        b'{"type":"session","segment":1}\n',
        b'{"type":"message","n":3}\n',
    ]
