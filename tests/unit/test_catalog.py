"""The catalog's SQLite index on real session files: rebuilds, incremental parsing, rotation, FTS search."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lime_repl.store.catalog import Catalog
from lime_repl.store.records import dumps
from lime_repl.store.search import fts_query, required_literals, search
from lime_repl.store.segments import segment_paths
from lime_repl.store.session import Session, StoreOptions


def _say(session: Session, role: str, text: str) -> dict:
    return session.append({"type": "message", "role": role, "content": [{"type": "text", "text": text}]})


def _bash(session: Session, command: str, stdout: str = "", stderr: str = "") -> list[dict]:
    return session.append_bash(
        command,
        stdout,
        stderr,
        exit_code=0,
        duration_ms=1,
        truncated_bytes={"stdout": 0, "stderr": 0},
        cwd="/w",
    )


def _texts(index_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(index_path) as db:
        return db.execute("SELECT kind, text FROM texts ORDER BY id").fetchall()


def _files(index_path: Path) -> dict[str, tuple[int, int, int]]:
    with sqlite3.connect(index_path) as db:
        return {name: (size, offset, entries) for name, size, offset, entries in db.execute(
            "SELECT name, size, offset, entries FROM files"
        )}  # fmt: skip


@pytest.fixture
def sessions(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


def test_listing_facts_and_a_deleted_index_is_rebuilt(tmp_path: Path, sessions: Path) -> None:
    index = tmp_path / "cache" / "index.sqlite"
    s = Session.create(sessions, "/work/app")
    _say(s, "user", "first question")
    _say(s, "assistant", "an answer")
    s.rename("My title")
    s.close()
    dirs = [(sessions, "global")]
    [info] = Catalog(index).sessions(dirs)
    assert (info.id, info.title, info.cwd, info.entries) == (s.session_id, "My title", "/work/app", 3)
    assert info.created == s.header["created"] and info.bytes == s.path.stat().st_size
    assert info.first_message == "first question" and info.path == s.path and info.segments == [s.path]
    assert info.to_json()["updated"].endswith("Z") and index.exists()
    index.unlink()
    [again] = Catalog(index).sessions(dirs)
    assert again.to_json() == info.to_json() and index.exists()
    assert _texts(index) == []  # a listing reads listing facts only; the full text waits for a search
    assert len(search(Catalog(index), dirs, "question|answer")) == 2
    assert [t for _, t in _texts(index)] == ["first question", "an answer"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b"not a database at all " * 200),
        lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
        lambda p: sqlite3.connect(p).executescript("DROP TABLE texts_fts; DROP TABLE texts;"),
        lambda p: sqlite3.connect(p).executescript("PRAGMA user_version = 1;"),
    ],
    ids=["garbage", "truncated", "missing-tables", "old-schema"],
)
def test_a_corrupt_or_outdated_index_is_rebuilt(tmp_path: Path, sessions: Path, damage) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index.sqlite"
    s = Session.create(sessions, "/w")
    _bash(s, "echo needle-in-haystack", "needle-in-haystack\n")
    s.close()
    first = Catalog(index)
    assert [h.entry_id for h in search(first, [(sessions, "global")], "needle")]
    first.close()
    damage(index)
    catalog = Catalog(index)
    [info] = catalog.sessions([(sessions, "global")])
    assert info.entries == 3
    hits = search(catalog, [(sessions, "global")], r"needle-in-\w+")
    assert sorted(h.kind for h in hits) == ["shell", "stdout"]
    catalog.close()
    with sqlite3.connect(index) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_an_unusable_index_path_falls_back_to_memory(tmp_path: Path, sessions: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    s = Session.create(sessions, "/w")
    _say(s, "user", "still searchable")
    s.close()
    catalog = Catalog(blocker / "index.sqlite")
    assert [i.entries for i in catalog.sessions([(sessions, "global")])] == [1]
    assert [h.text for h in search(catalog, [(sessions, "global")], "searchable")] == ["still searchable"]
    assert catalog.index.in_memory


def test_appends_are_parsed_incrementally(tmp_path: Path, sessions: Path) -> None:
    index = tmp_path / "index.sqlite"
    s = Session.create(sessions, "/w")
    _say(s, "user", "alpha one")
    catalog = Catalog(index)
    assert catalog.sessions([(sessions, "global")])[0].entries == 1
    offset_before = _files(index)[s.path.name][1]
    assert offset_before == s.path.stat().st_size
    _bash(s, "printf beta", "beta two", "")
    _say(s, "assistant", "gamma three")
    s.sync()
    # A new Catalog (a new process, in effect) and the same one both see the appended entries.
    for cat in (catalog, Catalog(index)):
        [info] = cat.sessions([(sessions, "global")])
        assert info.entries == 5
    assert len(search(catalog, [(sessions, "global")], "alpha|beta|gamma")) == 4
    assert _texts(index) == [
        ("user", "alpha one"),
        ("shell", "printf beta"),
        ("stdout", "beta two"),
        ("assistant", "gamma three"),
    ]
    assert _files(index)[s.path.name][1] == s.path.stat().st_size > offset_before
    # A torn last line is not indexed until it is whole.
    with open(s.path, "ab") as fh:
        fh.write(dumps({"type": "message", "id": "0badf00d", "role": "user", "content": "delta four"})[:-9])
    assert catalog.sessions([(sessions, "global")])[0].entries == 5
    s.close()


def test_a_file_rewritten_in_place_is_parsed_again(tmp_path: Path, sessions: Path) -> None:
    index = tmp_path / "index.sqlite"
    s = Session.create(sessions, "/w")
    _say(s, "user", "original words")
    s.close()
    catalog = Catalog(index)
    assert search(catalog, [(sessions, "global")], "original")
    data = s.path.read_bytes().replace(b"original words", b"replaced words")
    st = s.path.stat()
    s.path.write_bytes(data)
    os.utime(s.path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert not search(catalog, [(sessions, "global")], "original")
    assert [h.text for h in search(catalog, [(sessions, "global")], "replaced")] == ["replaced words"]
    assert _texts(index) == [("user", "replaced words")]


def test_rotation_keeps_rows_of_renamed_files_and_drops_deleted_ones(tmp_path: Path, sessions: Path) -> None:
    index = tmp_path / "index.sqlite"
    s = Session.create(sessions, "/w", options=StoreOptions(max_bytes=1500, backups=2))
    catalog = Catalog(index)
    words = []
    for i in range(40):
        word = f"word{i:03d}x"
        words.append(word)
        _say(s, "user", f"{word} " + "pad " * 40)
        if i % 7 == 0:
            s.rename(f"Title {i}")
        # Refresh between writes so renames (active -> .1 -> .2) are seen one at a time.
        catalog.sessions([(sessions, "global")])
    s.close()
    [info] = catalog.sessions([(sessions, "global")])
    survivors = segment_paths(s.path)
    assert len(survivors) == 3 and info.segments == list(reversed(survivors))
    assert info.title == "Title 35" and info.bytes == sum(p.stat().st_size for p in survivors)
    # Checkpoints copy the first prompt (firstMessage) for the title; search indexes messages only.
    on_disk = b"".join(
        line for p in survivors for line in p.read_bytes().splitlines() if not line.startswith(b'{"type":"checkpoint"')
    )
    found = {h.text.split()[0] for h in search(catalog, [(sessions, "global")], r"word\d{3}x")}
    assert found == {w for w in words if w.encode() in on_disk}
    assert len(found) < len(words)  # rotation deleted the earliest segments and their rows
    rows = _texts(index)
    assert len(rows) == len(found)  # no text indexed twice across renames
    # The same answer from a fresh index built from the files alone.
    index.unlink()
    assert {h.text.split()[0] for h in search(Catalog(index), [(sessions, "global")], r"word\d{3}x")} == found


def test_titles_follow_rename_clear_and_checkpoints(tmp_path: Path, sessions: Path) -> None:
    index = tmp_path / "index.sqlite"
    s = Session.create(sessions, "/w", options=StoreOptions(max_bytes=2048, backups=0))
    catalog = Catalog(index)
    _say(s, "user", "hello")
    assert catalog.sessions([(sessions, "global")])[0].title is None
    s.rename("First")
    assert catalog.sessions([(sessions, "global")])[0].title == "First"
    s.rename(None)
    assert catalog.sessions([(sessions, "global")])[0].title is None
    s.rename("Kept across rotation")
    while len(segment_paths(s.path)) < 3:
        _say(s, "assistant", "filler " * 30)
    s.close()
    [info] = Catalog(index).sessions([(sessions, "global")])
    assert info.title == "Kept across rotation" and len(info.segments) == 3


def test_search_finds_messages_and_commands_with_their_ids(tmp_path: Path, sessions: Path) -> None:
    s = Session.create(sessions, "/w")
    asked = _say(s, "user", "How do I grep for Zebra stripes?")
    answered = _say(s, "assistant", "Use grep -r zebra .")
    command, out, err = _bash(s, "grep -r zebra .", "notes.txt: a zebra\n", "grep: warning\n")
    tool = s.append(
        {"type": "message", "role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "zebra from a tool"}]}
        ]}
    )  # fmt: skip
    s.close()
    catalog = Catalog(tmp_path / "index.sqlite")
    dirs = [(sessions, "global")]
    hits = {h.entry_id: h for h in search(catalog, dirs, "zebra")}
    assert set(hits) == {answered["id"], command["id"], out["id"], tool["id"]}
    assert hits[command["id"]].kind == "shell" and hits[command["id"]].text == "grep -r zebra ."
    assert hits[out["id"]].kind == "stdout" and hits[tool["id"]].kind == "tool"
    assert hits[answered["id"]].timestamp == answered["timestamp"]
    assert {h.entry_id for h in search(catalog, dirs, "zebra", ignore_case=True)} == {*hits, asked["id"]}
    assert [h.entry_id for h in search(catalog, dirs, "^grep: warn")] == [err["id"]]
    assert search(catalog, dirs, "Zeb") and not search(catalog, dirs, "ZEBRA")
    with pytest.raises(ValueError):
        search(catalog, dirs, "(unclosed")


@pytest.mark.parametrize(
    ("pattern", "ignore_case", "expected"),
    [
        ("zebra", False, [["zebra"]]),
        ("fix(ed)? the \\w+ bug", False, [["fix", " the ", " bug"]]),
        ("colou?r", False, [["colo"]]),
        ("abc+def", False, [["abc", "def"]]),
        ("foo|barbaz", False, [["foo"], ["barbaz"]]),
        ("foo|x", False, None),
        ("a.b", False, None),
        ("\\x41BCD", False, [["BCD"]]),
        ("\\p{L}abc", False, [["abc"]]),
        ("(?x) a b c d", False, None),
        ("(?i)session", False, [["sess"]]),
        ("session", True, [["sess"]]),
        ("ab{2}cdef", False, [["cdef"]]),
        ("x\\.py[co]", False, [["x.py"]]),
    ],
)
def test_required_literals(pattern: str, ignore_case: bool, expected: list[list[str]] | None) -> None:
    assert required_literals(pattern, ignore_case) == expected


def test_fts_query_quotes_trigrams() -> None:
    assert fts_query('say "hi"', False) == '("say" AND "ay " AND "y """ AND " ""h" AND """hi" AND "hi""")'
    assert fts_query("a|b", False) is None


_CORPUS = [
    "The quick brown fox jumps over the lazy dog",
    "fixed the parser bug in colour handling",
    "Straße and STRASSE and strasse",
    "İstanbul ıi Iİ kelvin \u212a",
    "path/to/file.py: line 12: error: unexpected indent",
    'JSON {"key": "value", "n": 42} and [brackets]',
    "tabs\tand\nnewlines\r\nand ünïcödé",
    "aaa aaaa aaaaa abcabc",
    "emoji 🦓 zebra 🦓🦓",
]
_PIECES = [
    "the", "The", "fix", "ed", "colou?r", "bug", "\\w+", "\\d+", ".", ".*", "[a-z]+", "(ed)?", "|", "a+",
    "strasse", "STRASSE", "İ", "ı", "i", "k", "\u212a", "\\.", "py", "error", "{", "}", "\\{", "n", "🦓",
    "zebra", " ", "\\s", "\\b", "^", "$", "json", "line", "x{2}", "(?i)", "ab", "c", "aa", '"', '"key"',
]  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Catalog, list[tuple[Path, str]]]:
    root = tmp_path_factory.mktemp("corpus")
    s = Session.create(root / "sessions", "/w")
    for i, text in enumerate(_CORPUS):
        _say(s, "user" if i % 2 else "assistant", text)
    s.close()
    catalog = Catalog(root / "index.sqlite")
    dirs = [(root / "sessions", "global")]
    catalog.sessions(dirs)
    return catalog, dirs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=5), ignore_case=st.booleans())
def test_narrowing_never_loses_a_match(corpus: tuple[Catalog, list[tuple[Path, str]]], pieces: list[str], ignore_case: bool) -> None:  # fmt: skip
    catalog, dirs = corpus
    pattern = "".join(pieces)
    try:
        compiled = regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)
    except regex.error:
        with pytest.raises(ValueError):
            search(catalog, dirs, pattern, ignore_case=ignore_case)
        return
    expected = sorted(t for t in _CORPUS if compiled.search(t))
    assert sorted(h.text for h in search(catalog, dirs, pattern, ignore_case=ignore_case)) == expected


def test_large_changes_are_indexed_in_several_transactions(
    tmp_path: Path, sessions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lime_repl.store.index as index_module

    for n in range(5):
        s = Session.create(sessions, "/w", options=StoreOptions(max_bytes=3000, backups=0))
        for i in range(12):
            _say(s, "user", f"session{n} message{i} " + "words " * 40)
        s.close()
    dirs = [(sessions, "global")]
    reference = {i.id: i.to_json() for i in Catalog(tmp_path / "reference.sqlite").sessions(dirs)}
    commits = []
    monkeypatch.setattr(index_module, "_PARSE_BUDGET", 2500)
    monkeypatch.setattr(index_module, "_FACTS_BUDGET", 2500)
    catalog = Catalog(tmp_path / "index.sqlite")
    catalog.index.db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    assert {i.id: i.to_json() for i in catalog.sessions(dirs)} == reference
    assert len(commits) > 5
    commits.clear()
    assert len(search(catalog, dirs, r"session\d message\d+")) == 60
    assert len(commits) > 5  # the full text, too, is indexed a budget at a time
    assert len(_texts(tmp_path / "index.sqlite")) == 60


def test_a_renamed_file_left_for_a_later_round_keeps_its_rows(
    tmp_path: Path, sessions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lime_repl.store.index as index_module

    dirs = [(sessions, "global")]
    written = [
        Session.create(sessions, "/w", options=StoreOptions(max_bytes=4000, backups=0)) for _ in range(3)
    ]
    for s in written:
        _say(s, "user", "early words " * 20)
    catalog = Catalog(tmp_path / "index.sqlite")
    catalog.sessions(dirs)
    for s in written:  # each indexed file grows and is renamed to .N; new segments follow
        for i in range(40):
            _say(s, "assistant", f"later{i:02d} " + "words " * 30)
        s.close()
    # With a tiny budget the renamed files cannot all be parsed in one round: some are only renamed
    # (keeping their rows and offsets) and parsed in a later transaction.
    monkeypatch.setattr(index_module, "_PARSE_BUDGET", 1000)
    monkeypatch.setattr(index_module, "_FACTS_BUDGET", 1000)
    got = {i.id: i.to_json() for i in catalog.sessions(dirs)}
    assert got == {i.id: i.to_json() for i in Catalog(tmp_path / "reference.sqlite").sessions(dirs)}
    assert all(len(info["segments"]) >= 4 for info in got.values())
    assert len(search(catalog, dirs, r"later\d\d|early")) == 3 * 41 == len(_texts(tmp_path / "index.sqlite"))
