"""Importing sessions: every corpus file, synthetic pi/Claude Code trees, lime round trips, hostile input.

Everything runs against real files in a private LIME_HOME; the imported
session is read back from disk with ``Session.load``.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from support.exchange_helpers import FOREIGN, make_workspace, session_files, summarize

from lime_repl.context.transcript import build_transcript
from lime_repl.errors import LimeError, UsageError
from lime_repl.exchange.export import export_bytes
from lime_repl.exchange.guard import ImportRefused
from lime_repl.exchange.import_ import import_source
from lime_repl.store.session import Session, StoreOptions


@pytest.fixture
def ws(tmp_path: Path):
    return make_workspace(tmp_path)


def _import(ws, source: Path | str) -> Session:
    result = import_source(ws, str(source))
    session = Session.load(result.path)
    assert session.session_id == result.session_id
    return session


# -- the corpus: one test per file ------------------------------------------------
CORPUS = {
    # source: (tool, user, assistant, {tool_use_id: is_error}, title, first user text starts with, first timestamp)
    "pi/prompt-cache-replay-session.jsonl": (
        "pi",
        2,
        3,
        {"call_1": False},
        None,
        "<user_message_time>Monday, April 6, 2026",
        "2026-04-06T04:00:00.100Z",
    ),
    "claude-code/sample_session.jsonl": (
        "claude-code",
        2,
        3,
        {"toolu_001": False, "toolu_002": False},
        "Test session for JSONL parsing",
        "Create a hello world function",
        "2025-12-24T10:00:00.000Z",
    ),
    "codex/rollout-2026-02-23T13-19-38-019c8a70-dda7-7f33-98ea-f30553347322.jsonl": (
        "codex",
        4,
        3,
        {},
        "[REDACTED_MESSAGE len=86 sha=2239bcba]",
        "[REDACTED_TEXT len=3017 sha=f3ffd0ed]",
        "2026-02-23T12:19:42.562Z",
    ),
    "codex/rollout-2026-02-23T20-34-25-019c8bfe-ec25-79e0-97d7-bda6a9c575ff.jsonl": (
        "codex",
        3,
        17,
        {
            "call_OIMY41RetdVChp5U51mMLGOD": False,
            "call_SengCcPYInk46d62DPE6eqqb": False,
            "call_B6bYQ40tItkpgpg7DLdo8mEG": False,
            "call_wt673E9ScmRn47BB5LRf0kwk": False,
            "call_kTYGACDKLb03RGgGqdx4XgBl": False,
        },
        "[REDACTED_MESSAGE len=98 sha=c002ff99]",
        "[REDACTED_TEXT len=5296 sha=393c5edf]",
        "2026-02-23T19:34:26.098Z",
    ),
    "kimi/kimi-cli-legacy/tiny-hello-world": ("kimi-cli", 1, 1, {}, "hi", "hi", None),
    "kimi/kimi-cli-legacy/with-tool-calls": (
        "kimi-cli",
        2,
        1,
        {"tc1": True},
        "run echo hi",
        "run echo hi",
        "2026-03-31T09:36:25.232Z",
    ),
    "kimi/kimi-cli-legacy/recent-protocol-1.10": (
        "kimi-cli",
        2,
        2,
        {"Shell:0": False},
        "hi",
        "hi",
        "2026-05-12T05:32:30.730Z",
    ),
    "kimi/kimi-code/sample-main": (
        "kimi-code",
        1,
        1,
        {},
        "fixture: hello world",
        "hi",
        "2026-05-20T06:00:00.001Z",
    ),
    "kimi/kimi-code/sample-compaction": (
        "kimi-code",
        2,
        1,
        {},
        "fixture: compaction",
        "before compaction",
        "2026-05-20T06:00:00.001Z",
    ),
}


def test_every_corpus_file_is_covered():
    sources = {str(p.relative_to(FOREIGN)) for p in FOREIGN.glob("*/*.jsonl")}
    sources |= {str(p.relative_to(FOREIGN)) for p in FOREIGN.glob("kimi/*/*") if p.is_dir()}
    assert sources == set(CORPUS)


@pytest.mark.parametrize("source", sorted(CORPUS))
def test_corpus_file_imports(ws, source):
    tool, users, assistants, pairs, title, first_text, first_stamp = CORPUS[source]
    session = _import(ws, FOREIGN / source)
    summary = summarize(session)
    assert session.header["importedFrom"]["tool"] == tool
    assert session.header["importedFrom"]["path"] == str(FOREIGN / source)
    assert (summary.user, summary.assistant) == (users, assistants)
    assert summary.tool_results == pairs
    assert set(pairs) <= set(summary.tool_uses)  # every result has its call
    assert session.title == title
    assert summary.first_user is not None and summary.first_user.startswith(first_text)
    stamps = [e["timestamp"] for e in session.branch() if e.get("type") == "message"]
    if first_stamp is not None:
        assert stamps[0] == first_stamp  # the source's time, not the import's
    assert stamps == sorted(stamps)
    # The model would be sent every pair intact.
    _, messages = build_transcript(session.branch(), session.header)
    sent_results = [b for m in messages for b in m["content"] if b.get("type") == "tool_result"]
    assert {b["tool_use_id"]: b["is_error"] for b in sent_results} == pairs


def test_kimi_compaction_becomes_a_lime_compaction(ws):
    session = _import(ws, FOREIGN / "kimi/kimi-code/sample-compaction")
    compaction = next(e for e in session.branch() if e["type"] == "compaction")
    assert (compaction["summary"], compaction["tokensBefore"], compaction["tokensAfter"]) == (
        "compacted summary",
        100,
        30,
    )
    _, messages = build_transcript(session.branch(), session.header)
    texts = [b["text"] for m in messages for b in m["content"] if b.get("type") == "text"]
    assert texts == ["Summary of the earlier conversation:\ncompacted summary", "after compaction"]


def test_a_file_inside_a_kimi_folder_imports_the_folder(ws):
    whole = summarize(_import(ws, FOREIGN / "kimi/kimi-cli-legacy/with-tool-calls"))
    one = _import(ws, FOREIGN / "kimi/kimi-cli-legacy/with-tool-calls/wire.jsonl")
    assert summarize(one) == whole and one.title == "run echo hi"
    nested = _import(ws, FOREIGN / "kimi/kimi-code/sample-main/agents/main/wire.jsonl")
    assert nested.title == "fixture: hello world"


def test_foreign_records_nothing_is_dropped(ws):
    session = _import(
        ws, FOREIGN / "codex/rollout-2026-02-23T20-34-25-019c8bfe-ec25-79e0-97d7-bda6a9c575ff.jsonl"
    )
    lines = (
        FOREIGN / "codex/rollout-2026-02-23T20-34-25-019c8bfe-ec25-79e0-97d7-bda6a9c575ff.jsonl"
    ).read_text()
    kept = [e for e in session.entries.values() if e["type"] in ("message", "custom", "compaction")]
    assert len(kept) == len(lines.splitlines())
    customs = {e["customType"] for e in kept if e["type"] == "custom"}
    assert {"codex:session_meta", "codex:turn_context", "codex:event_msg/token_count"} <= customs
    # Foreign reasoning is never replayed to a provider.
    reasoning = [b for e in kept if e["type"] == "message" for b in e["content"] if b["type"] == "reasoning"]
    assert reasoning and {b["provider"] for b in reasoning} == {"codex"}
    # A foreign session gets lime's own system prompt; the source's stays in a custom entry.
    assert "lime" in session.header["systemPrompt"]


# -- lime formats ---------------------------------------------------------------------
def _lime_session(ws, options: StoreOptions | None = None) -> Session:
    session = Session.create(
        ws.sessions_dir, str(ws.cwd), system_prompt="be brief", options=options or StoreOptions()
    )
    root = session.append({"type": "message", "role": "user", "content": [{"type": "text", "text": "hello"}]})
    session.append(
        {
            "type": "message",
            "role": "assistant",
            "content": [
                {"type": "text", "text": "hi"},
                {"type": "tool_use", "id": "x1", "name": "read", "input": {"path": "a"}},
            ],
        }
    )
    session.append(
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "x1", "content": "A" * 300, "is_error": False}
            ],
        }
    )
    for n in range(12):
        session.append_bash(
            f"echo {n}",
            f"{n}\n" * 40,
            "",
            exit_code=n % 2,
            duration_ms=3,
            truncated_bytes={"stdout": 0, "stderr": 0},
            cwd=str(ws.cwd),
        )
    session.append({"type": "future_kind", "payload": {"k": [1, 2, 3]}})
    session.set_leaf(root["id"])
    session.append(
        {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "branch two"}]}
    )
    session.label(root["id"], "first")
    session.rename("Round trip")
    session.close()
    assert session.path is not None
    return Session.load(session.path)


@pytest.mark.parametrize("fmt", ["json", "jsonl", "zip"])
def test_lime_export_import_round_trip(ws, tmp_path, fmt):
    source = _lime_session(ws)
    exported = tmp_path / f"out.{fmt}"
    exported.write_bytes(export_bytes(fmt, path=source.path))
    copy = _import(ws, exported)
    assert copy.session_id != source.session_id
    assert copy.header["importedFrom"] == {
        "tool": "lime",
        "id": source.session_id,
        "path": str(exported),
        "cwd": source.cwd,
        "created": source.header["created"],
    }
    assert list(copy.entries.values()) == list(source.entries.values())
    assert (copy.leaf_id, copy.title, copy.labels) == (source.leaf_id, source.title, source.labels)
    assert build_transcript(copy.branch(), copy.header) == build_transcript(source.branch(), source.header)
    assert build_transcript(copy.branch(next(iter(copy.entries))), copy.header)[0] == "be brief"


def test_rotated_session_round_trips_through_jsonl_and_json(ws, tmp_path):
    source = _lime_session(ws, StoreOptions(max_bytes=4096, backups=0))
    assert len(source.segments) > 2
    for fmt in ("jsonl", "json"):
        exported = tmp_path / f"rot.{fmt}"
        exported.write_bytes(export_bytes(fmt, path=source.path))
        copy = _import(ws, exported)
        assert list(copy.entries.values()) == list(source.entries.values())
        assert build_transcript(copy.branch(), copy.header) == build_transcript(
            source.branch(), source.header
        )


def test_checkpoint_carries_what_rotation_deleted(ws, tmp_path):
    source = _lime_session(ws, StoreOptions(max_bytes=4096, backups=1))
    assert source.dropped_entries > 0 and source.first_segment > 0
    exported = tmp_path / "partial.json"
    exported.write_bytes(export_bytes("json", path=source.path))
    assert "checkpoint" in json.loads(exported.read_bytes())
    copy = _import(ws, exported)
    assert copy.title == "Round trip"


# -- hostile input: refused with one line, nothing written --------------------------------
def _zip(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _refused(ws, source: Path | str, fragment: str, error: type[LimeError] = ImportRefused) -> None:
    before = session_files(ws)
    with pytest.raises(error) as caught:
        import_source(ws, str(source))
    message = str(caught.value)
    assert fragment in message and "\n" not in message
    assert session_files(ws) == before == []


def test_tampered_zip_is_refused(ws, tmp_path):
    source = _lime_session(ws)
    good = export_bytes("zip", path=source.path)
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    segment = next(n for n in members if n.startswith("session/"))
    for path in session_files(ws):
        path.unlink()
    (tmp_path / "bad.zip").write_bytes(
        _zip({**members, segment: members[segment].replace(b"hello", b"HELLO")})
    )
    _refused(ws, tmp_path / "bad.zip", "does not match its sha256")
    (tmp_path / "extra.zip").write_bytes(_zip({**members, "session/more.jsonl": b"{}\n"}))
    _refused(ws, tmp_path / "extra.zip", "is not listed in manifest.json")
    (tmp_path / "nomanifest.zip").write_bytes(_zip({segment: members[segment]}))
    _refused(ws, tmp_path / "nomanifest.zip", "no manifest.json")


@pytest.mark.parametrize(
    "name", ["../evil.jsonl", "/etc/evil.jsonl", "a/../../evil.jsonl", "C:/evil", "a\\..\\b"]
)
def test_zip_slip_is_refused(ws, tmp_path, name):
    (tmp_path / "slip.zip").write_bytes(_zip({"manifest.json": b"{}", name: b"x"}))
    _refused(ws, tmp_path / "slip.zip", "would unpack outside the archive")


def test_zip_symlink_member_is_refused(ws, tmp_path):
    (tmp_path / "link.zip").write_bytes(_zip({"manifest.json": b"{}"}, symlink="session/x.jsonl"))
    _refused(ws, tmp_path / "link.zip", "is a symbolic link")


def test_zip_bomb_is_refused(tmp_path):
    ws = make_workspace(tmp_path, LIME_IMPORT_MAX_BYTES="100000")
    bomb = _zip({"manifest.json": b"{}", "session/a.jsonl": b"\0" * 1_100_000})
    assert len(bomb) < 100_000
    (tmp_path / "bomb.zip").write_bytes(bomb)
    _refused(ws, tmp_path / "bomb.zip", "a zip bomb")


def test_file_over_the_cap_is_refused(tmp_path):
    ws = make_workspace(tmp_path, LIME_IMPORT_MAX_BYTES="1000")
    (tmp_path / "big.jsonl").write_text('{"type":"session","id":"p"}\n' + '{"type":"x"}\n' * 100)
    _refused(ws, tmp_path / "big.jsonl", "over the import cap")


def test_long_line_is_refused(ws, tmp_path):
    path = tmp_path / "long.jsonl"
    with open(path, "wb") as fh:
        fh.write(
            b'{"type":"session","id":"p","cwd":"/"}\n{"type":"message","message":{"role":"user","content":"'
        )
        fh.write(b"x" * (16 * 1024 * 1024 + 1))
        fh.write(b'"}}\n')
    _refused(ws, path, "over the 16 MiB line limit")


def test_invalid_utf8_is_refused(ws, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"type":"session","id":"p"}\n{"type":"message","message":{"content":"\xff\xfe"}}\n')
    _refused(ws, path, "invalid UTF-8 on line 2")


@pytest.mark.parametrize("where", ["line", "field", "document"])
def test_deep_json_is_refused(ws, tmp_path, where):
    deep = "[" * 1000 + "]" * 1000
    text = {
        "line": '{"type":"session","id":"p"}\n' + deep + "\n",
        "field": '{"type":"session","id":"p"}\n{"type":"x","v":' + deep + "}\n",
        "document": '{"session":{"type":"session"},\n"entries":[' + deep + "]}\n",
    }[where]
    (tmp_path / "deep.jsonl").write_text(text)
    _refused(ws, tmp_path / "deep.jsonl", "nested deeper than")


def test_symlinks_are_refused(ws, tmp_path):
    real = FOREIGN / "claude-code/sample_session.jsonl"
    (tmp_path / "link.jsonl").symlink_to(real)
    _refused(ws, tmp_path / "link.jsonl", "symbolic link")
    folder = tmp_path / "kimi"
    folder.mkdir()
    (folder / "context.jsonl").symlink_to(FOREIGN / "kimi/kimi-cli-legacy/tiny-hello-world/context.jsonl")
    _refused(ws, folder, "symbolic link")


def test_special_files_unknown_and_missing_input(ws, tmp_path):
    os.mkfifo(tmp_path / "fifo")
    _refused(ws, tmp_path / "fifo", "not a regular file")
    (tmp_path / "notes.txt").write_text("just some notes\n")
    _refused(ws, tmp_path / "notes.txt", "it is text that is not JSON, starting 'just some notes'; lime reads")
    (tmp_path / "doc.json").write_text('{\n  "title": "x",\n  "items": []\n}\n')
    _refused(ws, tmp_path / "doc.json", "it is one JSON document (keys items, title); lime reads lime jsonl")
    (tmp_path / "rows.jsonl").write_text('{"kind": 1}\n{"kind": 2}\n')
    _refused(ws, tmp_path / "rows.jsonl", "it is 2 JSON lines, the first with keys kind; lime reads")
    (tmp_path / "empty.jsonl").write_text("\n\n")
    _refused(ws, tmp_path / "empty.jsonl", "it is empty")
    _refused(ws, tmp_path / "missing.jsonl", "no such file", UsageError)
    _refused(ws, "ftp://example.invalid/x.jsonl", "only http and https")
