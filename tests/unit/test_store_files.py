"""Safe session files on real files: the header check, O_NOFOLLOW, UTF-8 re-encoding, the leaf fallback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lime_repl.store.encoding import find_bad_utf8, fix_line, repair_utf8
from lime_repl.store.files import UnsafeFile, has_header, open_file
from lime_repl.store.records import dumps
from lime_repl.store.session import Session


def _fd_header(path: Path, data: bytes) -> bool:
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        return has_header(fd)
    finally:
        os.close(fd)


def test_has_header_accepts_lime_logs_only(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    assert _fd_header(p, b"")
    assert _fd_header(p, b'{"type":"session","id":"1"}\n{"type":"message"}\n')
    assert _fd_header(p, b'{"type": "session", "id": "1"}\n')  # reformatted by hand, still a header
    assert _fd_header(p, b'{"type":"sess')  # a torn header
    assert _fd_header(p, b'{"type":"message","id')  # one torn entry: repair moves it to .torn
    assert not _fd_header(p, b'{"type":"message","id":"1"}\n')
    assert not _fd_header(p, b"hello\nworld")
    assert not _fd_header(p, b"[" * 5000 + b"\n")  # nesting too deep for json: not a header, no crash


def test_open_file_refuses_symlinks_and_directories(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"keep")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(UnsafeFile, match="is a symbolic link, not a lock file"):
        open_file(link, os.O_RDWR | os.O_CREAT, what="lock file")
    (tmp_path / "dir").mkdir()
    with pytest.raises(UnsafeFile, match="is a directory, not a session log"):
        open_file(tmp_path / "dir", os.O_RDONLY)
    assert target.read_bytes() == b"keep"


def test_fix_line_replaces_encoded_surrogates_and_undecodable_bytes() -> None:
    assert fix_line(b"caf\xed\xb3\xa9!") == "caf\ufffd!".encode()
    assert fix_line(b"a\xffb\xc3") == "a\ufffdb\ufffd".encode()
    assert fix_line("ok \u00e9".encode()) == "ok \u00e9".encode()


def test_repair_utf8_only_touches_lime_logs(tmp_path: Path) -> None:
    log = tmp_path / "a.jsonl"
    log.write_bytes(b'{"type":"session","id":"1"}\n{"type":"message","t":"caf\xed\xb3\xa9"}\n')
    assert find_bad_utf8(log) == [2]
    assert repair_utf8(log) == 1
    assert find_bad_utf8(log) == [] and "caf\ufffd".encode() in log.read_bytes()
    other = tmp_path / "b.jsonl"
    other.write_bytes(b"not a log \xff\n")
    with pytest.raises(UnsafeFile, match="does not start with a lime session header"):
        repair_utf8(other)
    assert other.read_bytes() == b"not a log \xff\n"


def test_a_leaf_in_a_cycle_falls_back_to_the_newest_sound_entry(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w")
    first = session.append({"type": "message", "role": "user", "content": []})
    session.close()
    with open(session.path, "ab") as fh:
        for entry_id, parent in (("c1c1c1c1", "c2c2c2c2"), ("c2c2c2c2", "c1c1c1c1")):
            fh.write(
                dumps({"type": "message", "id": entry_id, "parentId": parent, "role": "user", "content": []})
            )
    loaded = Session.load(session.path)
    assert loaded.leaf_id == first["id"]
    assert [w for w in loaded.warnings if "parentId cycle" in w]
    assert [e["id"] for e in loaded.branch()] == [first["id"]]
