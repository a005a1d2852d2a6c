"""The model's context across rotation, the protected tail of microcompaction, and the two text cleaners.

The store is the real one (files in tmp_path); nothing of lime's is mocked."""

from __future__ import annotations

import time
from pathlib import Path

from lime_repl.context.clean import clean_output
from lime_repl.context.microcompact import MicroSettings, plan_microcompaction
from lime_repl.context.rotation import compact_before_prune, plan_prune_compaction, segment_entry_ids
from lime_repl.context.tokens import TokenCounter
from lime_repl.context.transcript import build_transcript, checkpoint_compaction, session_transcript
from lime_repl.store.session import Session, StoreOptions
from lime_repl.textsafe import StreamSanitizer, safe_line, safe_text

BIG = "\n".join(f"line {i} of a long output" for i in range(400))


def _user(session: Session, text: str) -> dict:
    return session.append({"type": "message", "role": "user", "content": [{"type": "text", "text": text}]})


def _bang(session: Session, command: str, out: str, code: int = 0) -> list[dict]:
    return session.append_bash(
        command, out, "", exit_code=code, duration_ms=1, truncated_bytes={"stdout": 0, "stderr": 0}, cwd="/w"
    )


def _small(tmp_path: Path) -> Session:
    return Session.create(
        tmp_path / "s", "/w", system_prompt="SYSTEM", options=StoreOptions(max_bytes=3000, backups=1)
    )


def test_checkpoint_compaction_is_used_when_rotation_deleted_the_entry(tmp_path: Path) -> None:
    session = _small(tmp_path)
    first = _user(session, "early request")
    session.append({"type": "message", "role": "assistant", "content": [{"type": "text", "text": "ok"}]})
    kept = _user(session, "kept request")
    session.append(
        {
            "type": "compaction",
            "summary": "CHECKPOINT-SUMMARY-88",
            "firstKeptEntryId": kept["id"],
            "tokensBefore": 10,
            "tokensAfter": 5,
            "trigger": "manual",
            "hint": None,
            "files": {},
        }
    )
    for i in range(8):
        _bang(session, f"echo {i}", "x" * 700)
    session.close()
    resumed = Session.load(session.path)
    assert first["id"] not in resumed.entries and kept["id"] not in resumed.entries
    assert not any(e.get("type") == "compaction" for e in resumed.branch()), "the entry itself was rotated away"
    rotated = checkpoint_compaction(resumed.segments)
    assert rotated is not None and rotated["summary"] == "CHECKPOINT-SUMMARY-88"
    system, messages = session_transcript(resumed)
    assert system == "SYSTEM"
    assert messages[0]["content"][0]["text"] == "Summary of the earlier conversation:\nCHECKPOINT-SUMMARY-88"
    shells = [b["command"] for m in messages for b in m["content"] if b.get("type") == "local_shell"]
    surviving = [e for e in resumed.branch() if str(e["content"][0]["text"]).startswith("<bash-input>")]
    assert shells == [f"echo {i}" for i in range(8 - len(surviving), 8)]
    assert "CHECKPOINT-SUMMARY-88" not in str(build_transcript(resumed.branch(), resumed.header))


def test_prune_compaction_covers_the_doomed_live_entries_and_keeps_a_survivor(tmp_path: Path) -> None:
    session = _small(tmp_path)
    _user(session, "first request")
    _bang(session, "false", "", code=1)
    doomed_path = Path(f"{session.path}.1")
    for i in range(6):
        _bang(session, f"echo {i}", "y" * 600)
        if doomed_path.exists() and "first request" in doomed_path.read_text():
            break
    assert doomed_path.exists()
    doomed = segment_entry_ids(doomed_path)
    plan = plan_prune_compaction(session.branch(), doomed)
    assert plan is not None
    assert plan.first_kept_id not in doomed and plan.first_kept_id in session.entries
    kept_entry = session.entries[plan.first_kept_id]
    assert kept_entry["content"][0]["text"].startswith("<bash-input>"), "the cut never splits a ! exchange"
    entry = compact_before_prune(session, doomed_path, TokenCounter())
    assert entry is not None and entry["trigger"] == "rotation"
    assert "`false` → exit 1" in entry["summary"] and "first request" in entry["summary"]
    assert plan_prune_compaction(session.branch(), doomed) is None, "a second call has nothing left to cover"
    session.close()


def test_microcompaction_protects_recent_results_by_tokens(tmp_path: Path) -> None:
    session = Session.create(tmp_path / "s", "/w", system_prompt="S")
    old = [_bang(session, f"cat old{i}", BIG)[1]["id"] for i in range(4)]
    recent_start = len(session.branch())
    for i in range(8):
        _bang(session, f"cat new{i}", BIG)
    session.append({"type": "message", "role": "assistant", "content": [{"type": "text", "text": "done"}]})
    branch = session.branch()
    counter = TokenCounter()
    keep = sum(counter.entry(e) for e in branch[recent_start:])
    settings = MicroSettings(window=100_000, reserved=0, keep_recent_tokens=keep, idle_minutes=0)
    plan = plan_microcompaction(branch, 90_000, settings, now=time.time(), counter=counter)
    assert plan is not None and plan.trigger == "threshold"
    assert sorted(plan.pruned) == sorted(old), "the 8 recent results lie within keep_recent_tokens"
    session.close()


def test_clean_output_for_the_model() -> None:
    assert clean_output("\x1b[31mred\x1b[0m a\r50%\r100%\n") == "100%\n"
    assert clean_output("ok\r\nnext\r\n") == "ok\nnext\n"
    assert clean_output("title \x1b]0;x\x07done") == "title done"
    assert clean_output("b\x08bo\x08ol\x08ld") == "bold"
    assert clean_output("nul\x00byte\x7f") == "nul\ufffdbyte\ufffd"
    assert clean_output("tab\tand\nnewline") == "tab\tand\nnewline"
    binary = (bytes(range(256)) * 2).decode("utf-8", "replace")
    assert clean_output(binary).startswith("[binary output: ") and clean_output(binary).endswith(" bytes]")
    assert clean_output("\ufffd" * 100) == "[binary output: 100 bytes]"
    assert clean_output("") == ""


def test_safe_text_for_the_terminal() -> None:
    assert safe_text("T\x1b]0;pwned\x07X\x1b[2JY") == "TXY"
    assert safe_text("a\x1bP1$r\x1b\\b\x1b_apc\x1b\\c\x9b31md\x9d0;t\x9ce") == "abcde"
    assert safe_text("bell\x07 cr\r nul\x00 del\x7f c1\x85") == "bell^G cr^M nul^@ del^? c1<U+0085>"
    assert safe_text("\u202eevil\u202c \u2066iso\u2069") == "<U+202E>evil<U+202C> <U+2066>iso<U+2069>"
    assert safe_text("keep\ttabs\nand lines\r\n") == "keep\ttabs\nand lines\n"
    assert safe_text("lone \x1b] intro") == "lone  intro"
    assert safe_line("two\nlines\tx") == "two lines x"
    assert safe_text(safe_text("x\x1b[1mb\x07")) == safe_text("x\x1b[1mb\x07")


def test_stream_sanitizer_holds_sequences_split_across_pieces() -> None:
    text = "plain \x1b]2;PWNED\x07 then \x1b[1;31mcolour\x1b[0m\r\nend \x1b"
    for size in (1, 2, 3, 7):
        stream = StreamSanitizer()
        out = "".join(stream.feed(text[i : i + size]) for i in range(0, len(text), size)) + stream.close()
        assert out == "plain  then colour\nend ", size


def test_rotation_compaction_never_splits_a_shell_exchange(tmp_path: Path) -> None:
    # Segments big enough that the entry guard (a quarter of a segment a line) never cuts a summary.
    session = Session.create(tmp_path / "s", "/w", options=StoreOptions(max_bytes=40_000, backups=1))
    session.on_prune = lambda path: compact_before_prune(session, path)
    _user(session, "go")
    for i in range(400):
        _bang(session, f"echo {i}", "z" * (200 + 97 * i % 1500))
    branch = session.branch()
    compactions = [i for i, e in enumerate(branch) if e["type"] == "compaction"]
    assert len(compactions) >= 5 and all(branch[i]["trigger"] == "rotation" for i in compactions)
    for j, entry in enumerate(branch):
        if entry["type"] == "message" and entry["content"][0]["text"].startswith("<bash-input>"):
            exchange = entry["shell"]["exchange"]
            assert [e.get("shell", {}).get("exchange") for e in branch[j + 1 : j + 3]] == [exchange, exchange]
    session.close()
    resumed = Session.load(session.path)
    assert session_transcript(resumed) == build_transcript(branch, session.header)
    latest = branch[compactions[-1]]["summary"]
    assert len(latest) < 6_000 and "Earlier summary:" in latest and "characters of earlier summaries cut" in latest
