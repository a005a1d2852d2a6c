"""Lines read back from a resumed session's segments: a read-only mapping whose pages are handed back
(store/reading.py), so reading a big log back keeps little of it resident."""

from __future__ import annotations

import os
from pathlib import Path

from lime_repl.store import reading
from lime_repl.store.reading import open_segment


def _rss_file_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    raise AssertionError("no RssFile in /proc/self/status")


def test_reading_lines_back_hands_the_pages_back_and_keeps_the_bytes(tmp_path: Path) -> None:
    line = b'{"type":"message","pad":"' + b"x" * 4000 + b'"}\n'
    count = 16_000  # about 64 MB of segment files
    sources = []
    for n in range(8):
        path = tmp_path / f"s.jsonl.{n}"
        path.write_bytes(line * (count // 8))
        _, source = open_segment(path)
        sources.append(source)
    assert len(os.listdir("/proc/self/fd")) < 64  # a mapping needs no open descriptor
    before = _rss_file_kib()
    for source in sources:
        for k in range(count // 8):
            assert source.read(k * len(line), len(line)) == line
    grown_mib = (_rss_file_kib() - before) / 1024
    assert grown_mib < 2 * reading.RELEASE_EVERY / (1 << 20), grown_mib
    assert sources[0].read(0, len(line)) == line  # a released page is read again from the file


def test_a_line_no_longer_there_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"type":"x"}\n')
    _, source = open_segment(path)
    try:
        source.read(5, 100)
    except OSError as exc:
        assert "no longer where it was read" in str(exc)
    else:
        raise AssertionError("a short read must raise")


def test_a_source_read_from_is_unmapped_once_nothing_holds_it(tmp_path: Path) -> None:
    """The release bookkeeping must not keep a mapping alive: a session left behind unmaps at once."""
    path = tmp_path / "s.jsonl"
    line = b'{"type":"message","pad":"' + b"y" * 100 + b'"}\n'
    path.write_bytes(line * 10)
    _, source = open_segment(path)
    assert source.read(0, len(line)) == line

    def mapped() -> bool:
        return str(path) in Path("/proc/self/maps").read_text()

    assert mapped()
    del source
    assert not mapped()
