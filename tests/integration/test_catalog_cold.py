"""A cold catalog: listings from listing facts alone, full text filled in by the next search, never stale.

Sessions are written by real line-mode ``lime`` runs, by ``lime import`` and
by the store itself (for rotation); every listing and search is the real
``lime`` as a subprocess, with the catalog's index deleted where the test
says so.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from support.lime_env import LimeEnv

from lime_repl.store.session import Session, StoreOptions

_FIXTURE = Path(__file__).resolve().parents[1] / "data" / "foreign" / "claude-code" / "sample_session.jsonl"


def _index_files(env: LimeEnv) -> list[Path]:
    roots = [env.home, Path(env.env["XDG_CACHE_HOME"])] if "XDG_CACHE_HOME" in env.env else [env.home]
    return [p for root in roots for p in root.rglob("index.sqlite*")]


def _drop_index(env: LimeEnv) -> None:
    found = _index_files(env)
    for path in found:
        path.unlink()


def _list(env: LimeEnv) -> list[dict]:
    done = env.run("session", "list", "--all", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _search(env: LimeEnv, pattern: str, *args: str) -> list[dict]:
    done = env.run("session", "search", pattern, "--all", "--format", "json", *args)
    assert done.returncode in (0, 1), done.stderr
    assert done.stderr == b"", done.stderr  # no progress bar off a terminal
    return json.loads(done.stdout)


def _say(session: Session, role: str, text: str) -> None:
    session.append({"type": "message", "role": role, "content": [{"type": "text", "text": text}]})


def _sessions_dir(env: LimeEnv) -> Path:
    """The sessions directory of the working directory (where ``lime`` runs there write)."""
    done = env.run("session", "list", "--format", "json")
    assert done.returncode == 0, done.stderr
    (found,) = {Path(s["path"]).parent for s in json.loads(done.stdout)}
    return found


@pytest.fixture
def varied(lime_env: LimeEnv) -> LimeEnv:
    """Sessions with rotation (and retention), titles set and cleared, ``!`` triples and an import."""
    made = lime_env.run(input="!echo alpha-shell-words\n/rename Shell one\n!echo second line\n")
    assert made.returncode == 0, made.stderr
    untitled = lime_env.run(input="!echo beta-untitled\n")
    assert untitled.returncode == 0, untitled.stderr
    imported = lime_env.run("import", str(_FIXTURE))
    assert imported.returncode == 0, imported.stderr
    directory = _sessions_dir(lime_env)
    rotated = Session.create(directory, str(lime_env.cwd), options=StoreOptions(max_bytes=1500, backups=2))
    for i in range(30):
        _say(rotated, "user", f"rotword{i:03d} " + "pad " * 40)
        if i % 9 == 0:
            rotated.rename(f"Rotated {i}")
    rotated.close()
    kept = Session.create(directory, str(lime_env.cwd), options=StoreOptions(max_bytes=1500, backups=0))
    for i in range(12):
        _say(kept, "assistant", f"keptword{i:03d} " + "pad " * 40)
    kept.rename(None)  # a cleared title: the listing falls back to no title
    kept.close()
    return lime_env


def test_a_cold_listing_is_exactly_the_fully_indexed_one(varied: LimeEnv) -> None:
    _drop_index(varied)
    cold = _list(varied)
    assert len(cold) == 5
    assert any(s["dropped"] > 0 for s in cold) and any(len(s["segments"]) > 1 for s in cold)
    assert {"Shell one", "Rotated 27"} <= {s["title"] for s in cold}
    # The full text is indexed by the next search (it was not by the listing) ...
    assert len(_search(varied, r"rotword\d{3}")) > 0
    # ... and the listing after it, and one from an index rebuilt by a search alone, are the same.
    assert _list(varied) == cold
    _drop_index(varied)
    _search(varied, "anything")
    assert _list(varied) == cold
    # Entry counts are those of the lines on disk (header and checkpoint lines are not entries).
    for info in cold:
        lines = [json.loads(line) for seg in info["segments"] for line in Path(seg).read_bytes().splitlines()]
        assert info["entries"] == sum(1 for e in lines if e["type"] not in ("session", "checkpoint"))
        assert info["bytes"] == sum(Path(seg).stat().st_size for seg in info["segments"])


def test_a_search_after_a_cold_listing_finds_everything(varied: LimeEnv) -> None:
    _drop_index(varied)
    _list(varied)
    words = set()
    for path in varied.home.glob("sessions/*/*.jsonl*"):
        if path.suffix != ".lock":  # checkpoints copy the first prompt (firstMessage); search reads messages
            lines = [line for line in path.read_bytes().splitlines() if not line.startswith(b'{"type":"checkpoint"')]
            words |= set(re.findall(rb"rotword\d{3}|keptword\d{3}", b"\n".join(lines)))
    hits = _search(varied, r"(rot|kept)word\d{3}")
    assert {h["match"].encode() for h in hits} == words and len(words) >= 15
    assert [h["match"] for h in _search(varied, "ALPHA-SHELL", "-i")] == ["alpha-shell"] * 2
    assert _search(varied, "ALPHA-SHELL") == []


def test_changes_after_indexing_are_seen_by_list_and_search(lime_env: LimeEnv) -> None:
    for word in ("one-first", "two-second", "three-third"):
        done = lime_env.run(input=f"!echo {word}\n")
        assert done.returncode == 0, done.stderr
    owner = {h["match"]: h["sessionId"] for h in _search(lime_env, "one-first|two-second|three-third")}
    assert len(owner) == 3
    first, moved_from, removed = owner["one-first"], owner["two-second"], owner["three-third"]
    before = {s["id"]: s for s in _list(lime_env)}
    directory = _sessions_dir(lime_env)

    # An append to a session already indexed.
    session = Session.open(directory / f"{first}.jsonl")
    _say(session, "user", "appended-later words")
    session.close()
    assert [h["sessionId"] for h in _search(lime_env, "appended-later")] == [first]
    assert {s["id"]: s["entries"] for s in _list(lime_env)}[first] == before[first]["entries"] + 1

    # A rotation of it: the renamed segment keeps its texts, the new one is read.
    session = Session.open(directory / f"{first}.jsonl", options=StoreOptions(max_bytes=1200, backups=0))
    for i in range(6):
        _say(session, "assistant", f"rotated-out{i} " + "pad " * 40)
    session.close()
    listed = {s["id"]: s for s in _list(lime_env)}[first]
    assert len(listed["segments"]) > 1 and listed["dropped"] > 0  # the session keeps 3 rotated segments
    assert listed["entries"] + listed["dropped"] == before[first]["entries"] + 7
    on_disk = set(re.findall(rb"rotated-out\d", b"".join(Path(p).read_bytes() for p in listed["segments"])))
    assert {h["match"].encode() for h in _search(lime_env, r"rotated-out\d")} == on_disk and on_disk

    # A file renamed (the session's id changes) and one removed, then a new file in the same
    # directory, so that the directory holds as many files as before.
    moved, newcomer = "f" * 32, "e" * 32
    os.rename(directory / f"{moved_from}.jsonl", directory / f"{moved}.jsonl")
    (directory / f"{removed}.jsonl").unlink()
    text = (directory / f"{moved}.jsonl").read_bytes().replace(b"two-second", b"new-fresh")
    (directory / f"{newcomer}.jsonl").write_bytes(text)
    assert {s["id"] for s in _list(lime_env)} == {first, moved, newcomer}
    found = {(h["match"], h["sessionId"]) for h in _search(lime_env, "two-second|three-third|new-fresh")}
    assert found == {("two-second", moved), ("new-fresh", newcomer)}


def test_an_append_with_the_mtime_put_back_is_seen(lime_env: LimeEnv) -> None:
    """The signature holds every segment's size as well as its mtime and inode."""
    for word in ("left-side", "right-side"):
        assert lime_env.run(input=f"!echo {word}\n").returncode == 0
    assert len(_search(lime_env, "side")) == 4
    directory = _sessions_dir(lime_env)
    path = sorted(directory.glob("*.jsonl"))[0]
    st = path.stat()
    with open(path, "ab") as fh:
        fh.write(
            b'{"type":"message","id":"0badc0de","parentId":null,"timestamp":"2026-01-01T00:00:00.000Z",'
            b'"role":"user","content":[{"type":"text","text":"hand-appended"}]}\n'
        )
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # the mtime is put back: the size still moved
    assert [h["match"] for h in _search(lime_env, "hand-appended")] == ["hand-appended"]


def test_the_quick_facts_equal_a_parse_of_every_line(
    varied: LimeEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing facts read without parsing every line are those of a line-by-line parse, also for a
    file with a blank, a malformed and a foreign line in it (which falls back to the line-by-line parse)."""
    import lime_repl.store.extract as extract
    from lime_repl.store.catalog import Catalog

    directory = _sessions_dir(varied)
    odd = next(p for p in directory.glob("*.jsonl") if b"beta-untitled" in p.read_bytes())
    with open(odd, "ab") as fh:
        fh.write(b'\n{"type":"message","id":"12345678", broken\n["not", "an", "object"]\n')
        fh.write(b'{ "type": "title", "title": "Spaced out" }\n')
    dirs = list(dict.fromkeys((Path(s["path"]).parent, s["scope"]) for s in _list(varied)))
    quick = [i.to_json() for i in Catalog(tmp_path / "quick.sqlite").sessions(dirs)]
    monkeypatch.setattr(extract, "_fast_facts", lambda *args: False)
    slow = [i.to_json() for i in Catalog(tmp_path / "slow.sqlite").sessions(dirs)]
    assert quick == slow and any(i["title"] == "Spaced out" for i in quick)
    _drop_index(varied)
    assert _list(varied) == quick
