"""The session store on real files: records, rotation, lock, repair, replay, catalog."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from lime_repl.store.catalog import AmbiguousSession, Catalog, SessionNotFound
from lime_repl.store.records import dumps, parse_line
from lime_repl.store.segments import LockHeld, segment_paths
from lime_repl.store.session import Session, StoreOptions

SMALL = StoreOptions(max_bytes=4096, backups=3)


def _bash(session: Session, i: int, size: int = 200) -> None:
    session.append_bash(
        f"echo {i}",
        "x" * size,
        "",
        exit_code=0,
        duration_ms=1,
        truncated_bytes={"stdout": 0, "stderr": 0},
        cwd="/tmp",
    )


def test_header_written_at_creation_and_compact_serialization(tmp_path: Path) -> None:
    session = Session.create(tmp_path / "s", "/work", system_prompt="sys")
    data = session.path.read_bytes()
    session.close()
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    header = json.loads(data)
    assert header["type"] == "session" and header["sessionId"] == session.session_id
    assert header["segment"] == 0 and header["systemPrompt"] == "sys" and header["parentId"] is None
    assert b", " not in data and b'": ' not in data
    assert len(session.session_id) == 32 and int(session.session_id, 16) >= 0


def test_entries_chain_and_keys_in_contract_order(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w")
    _bash(session, 1)
    session.close()
    lines = [json.loads(x) for x in session.path.read_text().splitlines()]
    triple = lines[1:]
    assert [list(e)[:4] for e in triple] == [["type", "id", "parentId", "timestamp"]] * 3
    assert triple[0]["parentId"] is None
    assert triple[1]["parentId"] == triple[0]["id"] and triple[2]["parentId"] == triple[1]["id"]
    assert triple[0]["content"][0]["text"] == "<bash-input>echo 1</bash-input>"
    assert triple[0]["shell"]["exitCode"] == 0 and triple[0]["shell"]["cwd"] == "/tmp"
    assert triple[0]["timestamp"].endswith("Z") and len(triple[0]["timestamp"]) == 24


def test_unicode_and_reserialization_is_byte_identical(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w", options=SMALL)
    session.append_bash(
        "echo ünïcødé ✓",
        "日本語\n",
        "",
        exit_code=0,
        duration_ms=1,
        truncated_bytes={"stdout": 0, "stderr": 0},
        cwd="/w",
    )
    for i in range(40):
        _bash(session, i)
    session.rename("Démo")
    session.close()
    loaded = Session.load(session.path)
    assert (
        "ünïcødé" in session.path.read_text(encoding="utf-8") or session.path.with_suffix(".jsonl.1").exists()
    )
    for seg in loaded.segments:
        assert b"".join(line.raw for line in seg.lines) == seg.path.read_bytes()
        for line in seg.lines:
            assert dumps(parse_line(line.raw)) == line.raw


def test_rotation_keeps_three_backups_with_headers_and_checkpoints(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w", options=SMALL)
    for i in range(120):
        _bash(session, i)
    session.rename("Rotated")
    leaf = session.leaf_id
    session.close()
    files = segment_paths(session.path)
    names = sorted(p.name.split(".jsonl")[1] for p in files)
    assert names == ["", ".1", ".2", ".3"]
    assert not Path(f"{session.path}.4").exists()
    for path in files:
        assert path.stat().st_size <= SMALL.max_bytes
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        assert lines[0]["type"] == "session" and lines[0]["sessionId"] == session.session_id
        assert lines[1]["type"] == "checkpoint"  # every surviving file here is past the first
        assert len(lines) > 2  # never an empty segment
    resumed = Session.open(session.path, options=SMALL)
    assert resumed.leaf_id == leaf and resumed.title == "Rotated"
    assert resumed.dropped_entries > 0 and resumed.first_segment > 0
    total_written = 120 * 3 + 1
    assert resumed.dropped_entries + len(resumed.entries) == total_written
    resumed.close()


def test_backups_zero_keeps_every_segment(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w", options=StoreOptions(max_bytes=2048, backups=0))
    for i in range(60):
        _bash(session, i)
    session.close()
    files = segment_paths(session.path)
    assert len(files) > 5
    loaded = Session.load(session.path)
    assert loaded.dropped_entries == 0 and len(loaded.entries) == 180


def test_second_writer_is_refused_with_pid(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w")
    with pytest.raises(LockHeld) as info:
        Session.open(session.path)
    assert info.value.pid == os.getpid()
    session.close(remove_if_empty=False)
    Session.open(session.path).close()


def test_torn_tail_is_moved_aside_and_earlier_lines_kept(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w")
    for i in range(5):
        _bash(session, i)
    session.close()
    whole = session.path.read_bytes()
    with open(session.path, "ab") as fh:
        fh.write(b'{"type":"message","id":"dead')
    resumed = Session.open(session.path)
    assert len(resumed.entries) == 15
    assert any(".torn" in w for w in resumed.warnings)
    assert Path(f"{session.path}.torn").read_bytes() == b'{"type":"message","id":"dead\n'
    _bash(resumed, 99)
    resumed.close()
    assert session.path.read_bytes().startswith(whole)
    assert all(json.loads(x) for x in session.path.read_text().splitlines())


def test_bad_middle_line_is_skipped_with_file_and_line(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w")
    _bash(session, 1)
    session.close()
    lines = session.path.read_bytes().splitlines(keepends=True)
    lines.insert(2, b"this is not json\n")
    lines.insert(3, b"[1,2]\n")
    session.path.write_bytes(b"".join(lines))
    loaded = Session.load(session.path)
    assert len(loaded.entries) == 3
    assert f"{session.path}:3: skipped bad line" in loaded.warnings[0]
    assert f"{session.path}:4: skipped bad line" in loaded.warnings[1]


def test_unknown_types_and_fields_are_kept(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w")
    _bash(session, 1)
    session.close()
    with open(session.path, "ab") as fh:
        fh.write(b'{"type":"future_thing","id":"abcd1234","parentId":null,"timestamp":"x","extra":{"a":1}}\n')
    loaded = Session.load(session.path)
    assert loaded.entries["abcd1234"]["extra"] == {"a": 1}
    assert loaded.segments[0].lines[-1].raw.endswith(b'"extra":{"a":1}}\n')


def test_vanished_file_is_recreated_with_header_and_checkpoint(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w")
    _bash(session, 1)
    session.rename("Keep")
    session.path.unlink()
    _bash(session, 2)
    session.close()
    lines = [json.loads(x) for x in session.path.read_text().splitlines()]
    assert lines[0]["type"] == "session" and lines[0]["segment"] == 1
    assert lines[1]["type"] == "checkpoint" and lines[1]["title"] == "Keep"
    assert lines[2]["content"][0]["text"] == "<bash-input>echo 2</bash-input>"
    assert any("vanished" in w for w in session.warnings)


def test_leaf_is_persisted_and_resume_continues_from_it(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w")
    _bash(session, 1)
    first_leaf = session.leaf_id
    _bash(session, 2)
    session.set_leaf(first_leaf)
    session.label(first_leaf, "here")
    session.close()
    resumed = Session.open(session.path)
    assert resumed.leaf_id == first_leaf and resumed.labels == {first_leaf: "here"}
    _bash(resumed, 3)
    branch = resumed.branch()
    assert len(branch) == 6 and branch[3]["parentId"] == first_leaf
    resumed.close()


def test_files_are_0600_and_dirs_0700(tmp_path: Path) -> None:
    session = Session.create(tmp_path / "a" / "b", "/w", options=SMALL)
    for i in range(40):
        _bash(session, i)
    session.close()
    for path in [*segment_paths(session.path), Path(f"{session.path}.lock")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for directory in (tmp_path / "a", tmp_path / "a" / "b"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_catalog_resolves_latest_prefix_path_and_reports_ambiguity(tmp_path: Path) -> None:
    d = tmp_path / "sessions"
    ids = ["abcd0001" + "0" * 24, "abcd0002" + "0" * 24, "ffff0000" + "0" * 24]
    for n, sid in enumerate(ids):
        made = Session.create(d, "/w", session_id=sid)
        _bash(made, n)
        made.close()
    os.utime(d / f"{ids[2]}.jsonl", ns=(2 * 10**18, 2 * 10**18))
    catalog = Catalog(tmp_path / "index.sqlite")
    local = [(d, "global")]
    assert catalog.resolve("latest", local, local) == d / f"{ids[2]}.jsonl"
    assert catalog.resolve("abcd0002", local, local) == d / f"{ids[1]}.jsonl"
    assert catalog.resolve(str(d / f"{ids[0]}.jsonl"), local, local) == d / f"{ids[0]}.jsonl"
    with pytest.raises(AmbiguousSession) as info:
        catalog.resolve("abcd", local, local)
    assert "abcd00010000" in str(info.value) and "abcd00020000" in str(info.value)
    with pytest.raises(SessionNotFound):
        catalog.resolve("0123", local, local)
    with pytest.raises(SessionNotFound):
        catalog.resolve("not-hex!", local, local)


def test_catalog_cache_follows_appends_and_title_changes(tmp_path: Path) -> None:
    d = tmp_path / "sessions"
    session = Session.create(d, "/w")
    catalog = Catalog(tmp_path / "index.sqlite")
    assert catalog.sessions([(d, "global")]) == []  # no entries yet: not listed
    _bash(session, 1)
    session.rename("Later")
    session.sync()
    [info] = Catalog(tmp_path / "index.sqlite").sessions([(d, "global")])
    assert (
        info.entries == 4
        and info.title == "Later"
        and info.first_message == "!echo 1"
    )
    session.close()


def test_corrupt_index_is_rebuilt(tmp_path: Path) -> None:
    d = tmp_path / "sessions"
    made = Session.create(d, "/w")
    _bash(made, 1)
    made.close()
    index = tmp_path / "index.sqlite"
    index.write_bytes(b"garbage" * 100)
    assert len(Catalog(index).sessions([(d, "global")])) == 1
    assert len(Catalog(index).sessions([(d, "global")])) == 1
