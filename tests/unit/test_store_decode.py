"""How a resume reads its log once: the line decoder, the dicts kept for the first read, the lock's pid.

Real sessions on real files; the decoder is compared with ``json.loads`` itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lime_repl.context.transcript import build_transcript, session_transcript
from lime_repl.store.files import UnsafeFile, has_header
from lime_repl.store.records import BadRecord, decode_line, parse_line
from lime_repl.store.session import Session, StoreOptions

KEEP_ALL = StoreOptions(max_bytes=16 * 1024, backups=0)

LINES = [
    b'{"type":"message","id":"a","content":"\\u00e9\\ud83d\\ude00 \xc3\xa9 \xf0\x9f\x98\x80"}\n',
    b'{"type":"x","id":"b"}',  # no newline
    b'{"type":"x","id":"c"}  \t\r\n',  # JSON whitespace after the value
    b'{"type":"x","lone":"\\udcff"}\n',  # a lone surrogate escape
    b'{"type":"x","n":1e400,"f":-0.0,"i":123456789012345678901234567890}\n',
    '{"type":"x"}\n'.encode("utf-16-le"),  # NUL bytes: json.loads detects UTF-16
    b'\xef\xbb\xbf{"type":"x"}\n',  # a UTF-8 byte order mark
    b'  {"type":"x"}\n',  # leading whitespace
    b'{"type":"x"} {"type":"y"}\n',  # extra data
    b'{"type":"x"}\x0b\n',  # not JSON whitespace after the value
    b'{"type":"x","t":"\xff"}\n',  # not UTF-8
    b'{"type":1}\n',
    b'{"id":"no type"}\n',
    b'{"type":"x",}\n',
    b'{"type":"x","n":' + b"9" * 5000 + b"}\n",  # an int over the 4,300-digit limit
    b'{"type":"x","deep":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
    b"[1,2]\n",
    b"   \n",
]


def _reference(raw: bytes) -> object:
    """What parse_line must give: json.loads and the same three checks, or the BadRecord message."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return f"not valid JSON ({type(exc).__name__})"
    if not isinstance(value, dict):
        return f"a JSON {type(value).__name__}, not an object"
    if not isinstance(value.get("type"), str):
        return "no string 'type' field"
    return value


@pytest.mark.parametrize("raw", LINES, ids=range(len(LINES)))
def test_parse_line_gives_what_json_loads_gives(raw: bytes) -> None:
    expected = _reference(raw)
    if isinstance(expected, str):
        with pytest.raises(BadRecord) as caught:
            parse_line(raw)
        assert str(caught.value) == expected
    else:
        got = parse_line(raw)
        assert repr(got) == repr(expected)  # repr: -0.0 and inf compare as themselves
        assert repr(decode_line(raw)) == repr(expected)


def _session(root: Path, turns: int) -> Path:
    session = Session.create(root, "/w", system_prompt="sys", options=KEEP_ALL)
    for i in range(turns):
        session.append({"type": "message", "role": "user", "content": [{"type": "text", "text": f"q{i} é"}]})
        session.append(
            {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "a" * 500 + str(i)}]}
        )
    path = session.path
    session.close()
    return path


def test_open_hands_the_replayed_dicts_to_the_first_read_only(tmp_path: Path) -> None:
    path = _session(tmp_path, 30)
    session = Session.open(path, options=KEEP_ALL)
    try:
        nodes = [n for n in session.entries.nodes.values() if n.kind == "message"]
        assert nodes and all(n.once is not None and n.raw is not None for n in nodes)
        first = nodes[5].entry
        assert nodes[5].once is None  # handed over
        again = nodes[5].entry
        assert again == first and again is not first  # later reads decode the line again
        session.set_leaf(nodes[20].id)  # the later entries are off the branch: the transcript does not read them
        assert nodes[-1].once is not None
        system, messages = session_transcript(session)
        assert all(n.once is None for n in nodes)  # what the transcript did not take is dropped too
        assert (system, messages) == build_transcript(list(session.branch()), session.header)
        assert len(messages) == 21
    finally:
        session.close()


def test_the_kept_dicts_are_the_newest_within_the_budget(tmp_path: Path) -> None:
    path = _session(tmp_path, 40)
    sizes = [len(n.raw or b"") for n in Session.load(path).entries.nodes.values() if n.kind == "message"]
    budget = sum(sizes[-10:])
    session = Session.open(path, options=KEEP_ALL, keep_decoded=budget)
    try:
        kept = [n.once is not None for n in session.entries.nodes.values() if n.kind == "message"]
        assert kept == [False] * (len(kept) - 10) + [True] * 10
    finally:
        session.close()
    loaded = Session.load(path)  # a read-only load keeps none
    assert not any(n.once is not None for n in loaded.entries.nodes.values())
    unkept = Session.open(path, options=KEEP_ALL, keep_decoded=0)
    try:
        assert not any(n.once is not None for n in unkept.entries.nodes.values())
    finally:
        unkept.close()


def test_the_lock_file_names_this_process_after_a_longer_pid(tmp_path: Path) -> None:
    path = _session(tmp_path, 1)
    lock = Path(f"{path}.lock")
    lock.write_bytes(b"12345678901234\n")  # a holder long gone, with a longer pid than any real one
    session = Session.open(path, options=KEEP_ALL)
    try:
        assert lock.read_bytes() == f"{os.getpid()}\n".encode()
    finally:
        session.close()


def test_a_header_longer_than_a_page_still_opens(tmp_path: Path) -> None:
    session = Session.create(tmp_path, "/w", system_prompt="p" * 20_000)
    session.append({"type": "message", "role": "user", "content": [{"type": "text", "text": "hi"}]})
    path = session.path
    session.close()
    assert path.read_bytes().index(b"\n") > 4096
    again = Session.open(path)
    try:
        assert again.system_prompt == "p" * 20_000 and len(again.entries) == 1
    finally:
        again.close()


def test_a_long_first_line_that_is_no_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "abc.jsonl"
    line = json.dumps({"type": "message", "id": "a", "role": "user", "content": "x" * 9000}, separators=(",", ":"))
    line = line.encode() + b"\n"
    path.write_bytes(line)
    with open(path, "rb") as fh:
        assert not has_header(fh.fileno())
    with pytest.raises(UnsafeFile):
        Session.open(path)
    assert path.read_bytes() == line


def _segment_files(path: Path) -> list[Path]:
    return [p for p in path.parent.iterdir() if p.name == path.name or p.name[len(path.name) + 1 :].isdigit()]


def test_a_resumed_session_reads_its_lines_back_from_the_files(tmp_path: Path) -> None:
    path = _session(tmp_path, 60)
    assert len(_segment_files(path)) > 3
    loaded = Session.load(path)
    session = Session.open(path, options=KEEP_ALL, keep_decoded=0)
    try:
        nodes = [n for n in session.entries.nodes.values() if n.kind == "message"]
        assert nodes and all(n.src is not None and n._raw is None for n in nodes)  # where, not the line
        assert [n.raw for n in nodes] == [loaded.entries.nodes[n.id].raw for n in nodes]
        assert dict(session.entries.items()) == dict(loaded.entries.items())
        assert all(len(seg.lines) <= 2 for seg in session.segments)
        assert build_transcript(session.branch(), session.header) == build_transcript(loaded.branch(), loaded.header)
    finally:
        session.close()


def test_lines_read_back_survive_rotation_and_retention(tmp_path: Path) -> None:
    small = StoreOptions(max_bytes=8 * 1024, backups=1)
    session = Session.create(tmp_path, "/w", options=small)
    first = session.append({"type": "message", "role": "user", "content": [{"type": "text", "text": "first"}]})
    for _ in range(10):
        session.append({"type": "message", "role": "assistant", "content": [{"type": "text", "text": "x" * 900}]})
    path = session.path
    session.close()
    resumed = Session.open(path, options=small, keep_decoded=0)
    try:
        kept = [n.id for n in resumed.entries.nodes.values() if n.src is not None]
        before = {i: resumed.entries[i] for i in kept}
        for _ in range(40):  # rotations rename every file and retention deletes the oldest
            resumed.append({"type": "message", "role": "user", "content": [{"type": "text", "text": "y" * 900}]})
        assert kept and {i: resumed.entries[i] for i in kept} == before
        assert first["id"] not in {line.entry.get("id") for p in _segment_files(path) for line in _lines(p)}
    finally:
        resumed.close()


def _lines(path: Path) -> list[object]:
    from lime_repl.store.reading import read_segment

    return read_segment(path).lines


def test_a_session_of_more_segments_than_open_files_allow_keeps_its_lines(tmp_path: Path) -> None:
    import resource

    path = _session(tmp_path, 360)
    count = len(_segment_files(path))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(4 * (count - 1), hard), hard))  # room for count - 1
    try:
        session = Session.open(path, options=KEEP_ALL, keep_decoded=0)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        nodes = [n for n in session.entries.nodes.values() if n.kind == "message"]
        assert count > 16 and nodes and all(n.src is None and n._raw is not None for n in nodes)
    finally:
        session.close()
