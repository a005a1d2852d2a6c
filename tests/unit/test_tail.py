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
        expected_count = sum(p.read_bytes().count(b"\n") for p in segment_paths(session.path))
        deadline = time.monotonic() + 30
        while len(got) < expected_count and time.monotonic() < deadline:  # the reader catches up
            time.sleep(0.01)
    finally:
        session.close()
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


class _Reader:
    """``follow_lines`` on a thread; ``looks`` counts its idle waits, each one after a full look at the files."""

    def __init__(self, active: Path) -> None:
        self.got: list[bytes] = []
        self.looks = 0
        self.changed = threading.Condition()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(active,))
        self.thread.start()

    def _idle(self) -> None:
        with self.changed:
            self.looks += 1
            self.changed.notify_all()

    def _run(self, active: Path) -> None:
        for line in follow_lines(active, poll=0.01, stop=self.stop, on_idle=self._idle):
            with self.changed:
                self.got.append(line)
                self.changed.notify_all()

    def wait_lines(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.got) >= count, 30), self.got

    def wait_looks(self, more: int = 2) -> None:
        """Wait until the reader has looked at the files afresh after now (two idles: the first may end a
        look that began before)."""
        with self.changed:
            target = self.looks + more
            assert self.changed.wait_for(lambda: self.looks >= target, 30)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


def test_a_rotation_before_the_next_header_is_written_duplicates_nothing(tmp_path: Path) -> None:
    active = tmp_path / "abc.jsonl"
    first = b'{"type":"session","segment":0}\n{"type":"message","n":1}\n{"type":"message","raw":"a\rb"}\n'
    active.write_bytes(first)
    reader = _Reader(active)
    try:
        reader.wait_lines(3)
        with open(active, "ab") as fh:
            fh.write(b'{"type":"message","n":2}\n')
        active.rename(tmp_path / "abc.jsonl.1")  # rotated; the new active file has no header yet
        active.write_bytes(b"")
        reader.wait_lines(4)
        reader.wait_looks()  # seen: the rotated file read to its end, the new one empty
        assert len(reader.got) == 4
        second = b'{"type":"session","segment":1}\n{"type":"message","n":3}\n'
        with open(active, "ab") as fh:
            fh.write(second[:20])  # a header being written: not a whole line yet
            fh.flush()
            reader.wait_looks()  # seen: the half-written header; neither it nor segment 0 again is read
            assert active.read_bytes() == second[:20]
            assert len(reader.got) == 4
            fh.write(second[20:])
        reader.wait_lines(6)
        reader.wait_looks()
    finally:
        reader.close()
    assert reader.got == [
        b'{"type":"session","segment":0}\n',
        b'{"type":"message","n":1}\n',
        b'{"type":"message","raw":"a\rb"}\n',
        b'{"type":"message","n":2}\n',
        b'{"type":"session","segment":1}\n',
        b'{"type":"message","n":3}\n',
    ]
