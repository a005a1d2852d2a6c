"""Fuzzing the record parser, the segment reader and session replay (hypothesis, real files).

Random bytes, truncated lines, JSON of the wrong type, unknown entry types,
ids of the wrong type, duplicate ids, cycles in ``parentId`` and missing
parents: nothing may raise, and every skipped line or entry is named in a
warning (file and line number for lines, the id or type for entries).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fuzz_strategies import FUZZ, FUZZ_MORE, LINE, SEGMENT_BYTES, SEGMENT_FILES
from hypothesis import given
from hypothesis import strategies as st

from lime_repl.context.transcript import build_transcript
from lime_repl.store.files import UnsafeFile, has_header
from lime_repl.store.records import BadRecord, dumps, parse_line, session_header
from lime_repl.store.segments import read_segment, segment_paths
from lime_repl.store.session import Session

_COUNTER = itertools.count()


@pytest.fixture
def scratch_root() -> Iterator[Path]:
    """A temporary directory, in memory (``/dev/shm``) when there is one: these tests fuzz parsing,
    not the disk, and thousands of fsyncs on a real disk would only make them slow."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    root = Path(tempfile.mkdtemp(prefix="lime-fuzz-", dir=base))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _scratch(tmp_path: Path) -> Path:
    """An empty directory for one example (hypothesis runs many examples in one test call)."""
    directory = tmp_path / "case"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    return directory


@FUZZ
@given(st.one_of(st.binary(max_size=300), LINE, LINE.map(lambda b: b[: len(b) // 2])))
def test_parse_line_returns_an_entry_or_raises_bad_record(raw: bytes) -> None:
    try:
        entry = parse_line(raw)
    except BadRecord as exc:
        assert str(exc)  # says why
    else:
        assert isinstance(entry, dict) and isinstance(entry["type"], str)


@FUZZ
@given(SEGMENT_BYTES)
def test_read_segment_keeps_good_lines_and_names_every_skipped_one(scratch_root: Path, data: bytes) -> None:
    directory = _scratch(scratch_root)
    path = directory / "s.jsonl"
    path.write_bytes(data)
    segment = read_segment(path)
    end = data.rfind(b"\n") + 1
    assert segment.torn == data[end:]
    assert segment.size == len(data)
    numbered = [(n, raw + b"\n") for n, raw in enumerate(data[:end].split(b"\n")[:-1], 1)]
    kept = {line.lineno for line in segment.lines}
    skipped = {int(w.split(":")[-3]) for w in segment.warnings}
    for lineno, raw in numbered:
        if raw.strip() == b"":
            assert lineno not in kept and lineno not in skipped
        elif lineno in kept:
            assert lineno not in skipped
        else:
            assert lineno in skipped
    for line in segment.lines:
        assert numbered[line.lineno - 1][1] == line.raw
        assert line.entry == parse_line(line.raw)
    for warning in segment.warnings:
        assert warning.startswith(f"{path}:") and "skipped bad line" in warning


def _check_branch(session: Session) -> None:
    branch = session.branch()
    ids = [e["id"] for e in branch]
    assert len(ids) == len(set(ids))
    for parent, child in zip(branch, branch[1:], strict=False):
        assert child.get("parentId") == parent["id"]
    if branch:
        assert branch[-1]["id"] == session.leaf_id
    for entry_id in session.entries:
        session.branch(entry_id)
    session.children()
    list(session.iter_messages())
    system, messages = build_transcript(branch, session.header)
    assert isinstance(system, str)
    for message in messages:
        assert message["role"] in ("user", "assistant")
        assert message["content"] and all(isinstance(b, dict) for b in message["content"])


@FUZZ_MORE
@given(SEGMENT_FILES)
def test_session_load_never_raises_and_warns_about_what_it_skipped(
    scratch_root: Path, files: list[bytes]
) -> None:
    directory = _scratch(scratch_root)
    active = directory / f"{next(_COUNTER):032x}.jsonl"
    # Oldest first: .N ... .1, then the active file.
    names = [Path(f"{active}.{n}") for n in range(len(files) - 1, 0, -1)] + [active]
    for path, data in zip(names, files, strict=True):
        path.write_bytes(data)
    assert segment_paths(active) == names
    session = Session.load(active)
    segments = [read_segment(p) for p in names]
    bad_lines = sum(len(s.warnings) for s in segments)
    assert sum("skipped bad line" in w for w in session.warnings) == bad_lines
    torn = sum(1 for s in segments if s.torn)
    assert sum("torn last line" in w for w in session.warnings) == torn
    no_id = sum(
        1
        for s in segments
        for line in s.lines
        if line.entry.get("type") not in ("session", "checkpoint")
        and not isinstance(line.entry.get("id"), str)
    )
    assert sum("without a string id" in w for w in session.warnings) == no_id
    assert all(isinstance(k, str) for k in session.entries)
    _check_branch(session)


@FUZZ_MORE
@given(SEGMENT_BYTES)
def test_open_repairs_the_tail_and_appends_after_damage(scratch_root: Path, data: bytes) -> None:
    directory = _scratch(scratch_root)
    active = directory / f"{next(_COUNTER):032x}.jsonl"
    active.write_bytes(data)
    fd = os.open(active, os.O_RDONLY)
    try:
        lime_log = has_header(fd)
    finally:
        os.close(fd)
    if not lime_log:  # a file that does not open with a session header is refused and left as it is
        with pytest.raises(UnsafeFile):
            Session.open(active)
        assert active.read_bytes() == data and not Path(f"{active}.torn").exists()
        data = dumps(session_header("00000000", active.stem, "/w", created="2026-01-01T00:00:00.000Z")) + data
        active.write_bytes(data)
    end = data.rfind(b"\n") + 1
    session = Session.open(active)
    try:
        entry = session.append(
            {"type": "message", "role": "user", "content": [{"type": "text", "text": "ok"}]}
        )
        session.sync()
    finally:
        session.close()
    after = active.read_bytes()
    if end or not data:
        assert after.startswith(data[:end])
    assert after.endswith(b"\n")
    if data[end:]:
        assert Path(f"{active}.torn").read_bytes() == data[end:] + b"\n"
    again = Session.load(active)
    assert again.leaf_id == entry["id"] and again.entries[entry["id"]] == entry
    _check_branch(again)
