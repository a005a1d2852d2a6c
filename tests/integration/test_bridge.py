"""`lime bridge` end to end: a real `python -m lime_repl bridge` process driven over pipes.

Every response id, result and notification is checked against the session
files on disk, `lime session list --format json`, and the lines the command
line prints for the same errors.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.bridge_client import BridgeClient
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv

from lime_repl.store.session import Session

HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def bridge(lime_env: LimeEnv) -> Iterator[BridgeClient]:
    client = BridgeClient(lime_env)
    yield client
    client.kill()


def _log(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_bytes().splitlines()]


def _entries(events: list[dict[str, Any]], session_id: str) -> list[dict[str, Any]]:
    assert all(e["sessionId"] == session_id for e in events)
    return [e["entry"] for e in events if e["kind"] == "entry"]


def test_shell_tree_fork_clone_list_close(lime_env: LimeEnv, bridge: BridgeClient) -> None:
    created, events = bridge.call("session.create", {"title": "bridge work"})
    sid, path = created["sessionId"], created["path"]
    assert HEX32.match(sid) and Path(path).is_file() and Path(path).name == f"{sid}.jsonl"
    [title] = _entries(events, sid)
    assert title["type"] == "title" and title["title"] == "bridge work"

    sent, events = bridge.call("session.send", {"sessionId": sid, "text": "!echo x"})
    assert sent["exitCode"] == 0 and len(sent["entryIds"]) == 3
    deltas = [e for e in events if e["kind"] == "delta"]
    assert "".join(d["text"] for d in deltas if d["stream"] == "stdout") == "x\n"
    triple = _entries(events, sid)
    assert [e["id"] for e in triple] == sent["entryIds"]
    on_disk = {e["id"]: e for e in _log(path)}
    for entry in triple:
        assert on_disk[entry["id"]] == entry
    assert triple[0]["content"][0]["text"] == "<bash-input>echo x</bash-input>"
    assert triple[1]["content"][0]["text"] == "<bash-stdout>x\n</bash-stdout>"
    assert triple[2]["shell"]["exitCode"] == 0 and triple[1]["parentId"] == triple[0]["id"]

    failed, events = bridge.call("session.send", {"sessionId": sid[:8], "text": "!echo oops >&2; false"})
    assert failed["exitCode"] == 1 and len(failed["entryIds"]) == 3
    assert [d["text"] for d in events if d["kind"] == "delta"] == ["oops\n"]
    assert [d["stream"] for d in events if d["kind"] == "delta"] == ["stderr"]

    tree, events = bridge.call("session.tree", {"sessionId": sid})
    assert events == [] and tree["leafId"] == failed["entryIds"][-1]
    nodes = {n["id"]: n for n in tree["entries"]}
    assert list(nodes) == sent["entryIds"] + failed["entryIds"]
    first = nodes[sent["entryIds"][0]]
    assert first["parentId"] is None and first["type"] == "message" and first["role"] == "user"
    assert "echo x" in first["preview"] and first["label"] is None

    ok, events = bridge.call(
        "session.label", {"sessionId": sid, "entryId": sent["entryIds"][0], "label": "start"}
    )
    assert ok == {"ok": True}
    [label] = _entries(events, sid)
    assert label["type"] == "label" and label["targetId"] == sent["entryIds"][0] and label["label"] == "start"
    ok, events = bridge.call("session.setLeaf", {"sessionId": sid, "entryId": sent["entryIds"][2]})
    assert ok == {"ok": True} and _entries(events, sid)[0]["targetId"] == sent["entryIds"][2]
    ok, events = bridge.call("session.rename", {"sessionId": sid, "title": "renamed"})
    assert ok == {"ok": True} and _entries(events, sid)[0]["title"] == "renamed"
    tree, _ = bridge.call("session.tree", {"sessionId": sid})
    assert tree["leafId"] == sent["entryIds"][2]
    assert {n["id"]: n["label"] for n in tree["entries"]}[sent["entryIds"][0]] == "start"

    exported, _ = bridge.call("session.export", {"sessionId": sid, "format": "jsonl", "path": "out.jsonl"})
    assert exported == {"path": str(lime_env.cwd / "out.jsonl")}
    assert (lime_env.cwd / "out.jsonl").read_bytes() == Path(path).read_bytes()
    markdown, _ = bridge.call("session.export", {"sessionId": sid[:8], "format": "md"})
    assert "echo x" in Path(markdown["path"]).read_text()
    error = bridge.fail("session.export", {"sessionId": sid, "format": "bogus"})
    assert error["code"] == 2 and "bogus" in error["message"]

    before = Path(path).read_bytes()
    fork_at = sent["entryIds"][1]
    forked, events = bridge.call("session.fork", {"sessionId": sid, "entryId": fork_at})
    assert Path(path).read_bytes() == before
    fork_id, fork_path = forked["sessionId"], forked["path"]
    assert HEX32.match(fork_id) and fork_id != sid and forked["leafId"] == fork_at
    fork_log = _log(fork_path)
    assert fork_log[0]["type"] == "session"
    assert fork_log[0]["forkedFrom"] == {"sessionId": sid, "entryId": fork_at}
    assert [e["id"] for e in fork_log if e["type"] == "message"] == sent["entryIds"][:2]
    assert any(e["type"] == "label" and e["label"] == "start" for e in fork_log)

    cloned, _ = bridge.call("session.clone", {"sessionId": sid})
    assert Path(path).read_bytes() == before
    clone_log = _log(cloned["path"])
    assert clone_log[0]["forkedFrom"] == {"sessionId": sid, "entryId": sent["entryIds"][2]}
    assert [e["id"] for e in clone_log if e["type"] == "message"] == sent["entryIds"]

    # The fork is open in the bridge: it takes `!` lines and holds its lock.
    more, _ = bridge.call("session.send", {"sessionId": fork_id, "text": "!echo branch"})
    assert _log(fork_path)[-3]["id"] == more["entryIds"][0] and Path(path).read_bytes() == before

    listed, _ = bridge.call("session.list", {})
    cli = lime_env.run("session", "list", "--format", "json")
    assert cli.returncode == 0, cli.stderr
    assert listed["sessions"] == json.loads(cli.stdout)
    assert {s["id"] for s in listed["sessions"]} == {sid, fork_id, cloned["sessionId"]}
    assert next(s for s in listed["sessions"] if s["id"] == sid)["title"] == "renamed"
    limited, _ = bridge.call("session.list", {"limit": 1, "all": True})
    assert len(limited["sessions"]) == 1

    locked = lime_env.run("-r", fork_id[:8], input="!true\n")
    assert locked.returncode == 3
    for session_id in (sid, fork_id, cloned["sessionId"]):
        assert bridge.call("session.close", {"sessionId": session_id}) == ({"ok": True}, [])
    error = bridge.fail("session.send", {"sessionId": sid, "text": "!true"})
    assert error["code"] == 2 and "not open in this bridge" in error["message"]
    Session.open(Path(fork_path)).close()  # the lock was released
    status, stderr = bridge.finish()
    assert status == 0 and b"Traceback" not in stderr


def test_protocol_errors_and_recovery(lime_env: LimeEnv, bridge: BridgeClient) -> None:
    unknown = lime_env.run("session", "show", "deadbeef")
    assert unknown.returncode == 2
    cli_line = unknown.stderr.decode().strip().removeprefix("lime: ")
    for method in ("session.resume", "session.tree", "session.close", "session.fork"):
        assert bridge.fail(method, {"sessionId": "deadbeef"}) == {"code": 2, "message": cli_line}

    assert bridge.fail("session.nope", {}) == {"code": -32601, "message": "method not found: session.nope"}
    assert bridge.fail("session.send", {"text": "!true"})["code"] == -32602
    assert bridge.fail("session.send", {"sessionId": 7, "text": "!true"})["code"] == -32602
    assert bridge.fail("session.list", {"everything": True})["code"] == -32602
    assert bridge.fail("session.list", ["positional"])["code"] == -32602

    bridge.write(b'{"jsonrpc":"2.0","id":99,"method":\n')
    assert bridge.read() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32700, "message": "parse error: the line is not valid JSON"},
    }
    bridge.write(b"\xff\xfe not utf-8\n")
    assert bridge.read()["error"]["code"] == -32700
    bridge.write(b'{"id": 5, "method": "session.list"}\n')
    assert bridge.read() == {
        "jsonrpc": "2.0",
        "id": 5,
        "error": {"code": -32600, "message": "'jsonrpc' must be \"2.0\""},
    }
    bridge.write(b"[]\n")
    assert bridge.read()["error"]["code"] == -32600
    # A notification (no id) is run but never answered; the next line answers the next request.
    bridge.write(b'{"jsonrpc":"2.0","method":"session.nope"}\n')
    listed, _ = bridge.call("session.list")
    assert listed == {"sessions": []}
    # A batch is answered with an array, notifications left out.
    bridge.write(
        b'[{"jsonrpc":"2.0","id":"a","method":"session.list"},'
        b'{"jsonrpc":"2.0","method":"session.list"},{"jsonrpc":"2.0","id":"b","method":"nope"}]\n'
    )
    batch = bridge.read()
    assert [m["id"] for m in batch] == ["a", "b"]
    assert batch[0]["result"] == {"sessions": []} and batch[1]["error"]["code"] == -32601

    # U+2028 inside a string does not split the line; the output escapes it.
    title = "line\u2028separator\u2029and\x85nel"
    request = json.dumps(
        {"jsonrpc": "2.0", "id": "sep", "method": "session.create", "params": {"title": title}},
        ensure_ascii=False,
    )
    bridge.write(request.encode() + b"\n")
    raw = bridge.read_raw()
    assert b"\\u2028" in raw and "\u2028".encode() not in raw and "\x85".encode() not in raw
    event = json.loads(raw)
    assert event["params"]["entry"]["title"] == title
    response = bridge.read()
    assert response["id"] == "sep"
    assert _log(response["result"]["path"])[-1]["title"] == title

    # No provider: the same line line mode prints, code 1, nothing recorded.
    cli = lime_env.run("--no-session", input="hello\n")
    sid = response["result"]["sessionId"]
    error = bridge.fail("session.send", {"sessionId": sid, "text": "hello"})
    assert error == {"code": 1, "message": cli.stderr.decode().strip().removeprefix("lime: ")}
    assert bridge.fail("session.send", {"sessionId": sid, "text": "!"})["code"] == -32602
    assert bridge.fail("session.setLeaf", {"sessionId": sid, "entryId": "00000000"})["code"] == 2
    assert bridge.fail("session.export", {"sessionId": sid, "format": "md", "bogus": 1})["code"] == -32602
    assert [e["type"] for e in _log(response["result"]["path"])] == ["session", "title"]
    status, stderr = bridge.finish()
    assert status == 0 and stderr == b""


def test_locked_session(lime_env: LimeEnv, bridge: BridgeClient) -> None:
    made = lime_env.run(input="!true\n")
    assert made.returncode == 0, made.stderr
    [path] = lime_env.session_files()
    holder = Session.open(path)
    try:
        cli = lime_env.run("-r", path.stem[:8], input="!true\n")
        assert cli.returncode == 3
        error = bridge.fail("session.resume", {"sessionId": path.stem[:8]})
        assert error == {
            "code": 3,
            "message": cli.stderr.decode().strip().removeprefix("lime: "),
            "data": {"pid": os.getpid()},
        }
        # Reading does not need the lock.
        tree, _ = bridge.call("session.tree", {"sessionId": path.stem})
        assert len(tree["entries"]) == 3
    finally:
        holder.close()
    resumed, _ = bridge.call("session.resume", {"sessionId": "latest"})
    assert resumed["sessionId"] == path.stem and resumed["leafId"] == tree["leafId"]
    assert resumed["path"] == str(path) and resumed["warnings"] == []
    again, _ = bridge.call("session.resume", {"sessionId": str(path)})
    assert again["sessionId"] == path.stem


def test_sigint_cancels_a_running_command(bridge: BridgeClient) -> None:
    created, _ = bridge.call("session.create")
    sid = created["sessionId"]
    request_id = bridge.request("session.send", {"sessionId": sid, "text": "!echo started; sleep 30"})
    assert bridge.read()["params"]["text"] == "started\n"
    started = time.monotonic()
    bridge.proc.send_signal(signal.SIGINT)
    response, events = bridge.reply(request_id)
    assert time.monotonic() - started < 10
    assert response["result"]["exitCode"] == 130 and response["result"]["cancelled"] is True
    assert len(_entries(events, sid)) == 3
    after, _ = bridge.call("session.send", {"sessionId": sid, "text": "!echo still here"})
    assert after["exitCode"] == 0
    bridge.proc.send_signal(signal.SIGINT)  # idle: ignored
    assert bridge.call("session.list")[0]["sessions"][0]["id"] == sid


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def test_model_turn_deltas_and_compaction(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    lime_env.home.mkdir(parents=True, exist_ok=True)
    (lime_env.home / "config.toml").write_text("[compaction]\nkeep_recent_tokens = 1\n")
    client = BridgeClient(lime_env, extra_env=server.env("openai", "gpt-5.4"))
    try:
        sid = client.call("session.create")[0]["sessionId"]
        bang, _ = client.call("session.send", {"sessionId": sid, "text": "!echo hello > notes.txt"})
        server.reply_text(["Hel", "lo ", "there"], usage={"input_tokens": 5000, "output_tokens": 3})
        turn, events = client.call("session.send", {"sessionId": sid, "text": "hi there bridge"})
        deltas = [e for e in events if e["kind"] == "delta"]
        assert [d["text"] for d in deltas] == ["Hel", "lo ", "there"]
        assert {d["stream"] for d in deltas} == {"assistant"}
        entries = _entries(events, sid)
        assert [e["id"] for e in entries] == turn["entryIds"]
        assert turn["text"] == "Hello there" and turn["cancelled"] is False
        kinds = [(e["type"], e.get("role")) for e in entries]
        assert kinds[-2:] == [("message", "user"), ("message", "assistant")]
        assert entries[-1]["content"] == [{"type": "text", "text": "Hello there"}]
        assert entries[-1]["usage"]["input_tokens"] == 5000
        # The user entry is announced before the first delta.
        user_at = next(
            i for i, e in enumerate(events) if e["kind"] == "entry" and e["entry"].get("role") == "user"
        )
        assert user_at < events.index(deltas[0])
        assert "hi there bridge" in json.dumps(server.requests[0]["messages"][-1])

        server.reply_text("## Goal\n- say hello")
        compacted, events = client.call("session.compact", {"sessionId": sid, "hint": "keep the greeting"})
        assert compacted["type"] == "compaction" and compacted["trigger"] == "manual"
        assert compacted["summary"] == "## Goal\n- say hello" and compacted["hint"] == "keep the greeting"
        assert compacted["firstKeptEntryId"] in turn["entryIds"]
        assert compacted["tokensBefore"] > compacted["tokensAfter"] > 0
        assert set(compacted["files"]) == {"read", "modified"}
        assert [(e["kind"], e.get("phase")) for e in events] == [
            ("compaction", "started"),
            ("entry", None),
            ("compaction", "finished"),
        ]
        assert events[1]["entry"] == compacted == events[2]["entry"]
        [path] = lime_env.session_files()
        assert _log(path)[-1] == compacted
        assert "echo hello > notes.txt" in json.dumps(server.requests[-1])  # the `!` line was summarized
        assert bang["exitCode"] == 0
    finally:
        status, stderr = client.finish()
    assert status == 0 and b"Traceback" not in stderr


@pytest.mark.parametrize("yolo", [False, True])
def test_tool_approval(lime_env: LimeEnv, server: FakeProviderServer, yolo: bool) -> None:
    server.reply_tool_call("write", {"path": "out.txt", "content": "written\n"})
    server.reply_text("done")
    client = BridgeClient(lime_env, *(["--yolo"] if yolo else []), extra_env=server.env("openai", "gpt-5.4"))
    try:
        sid = client.call("session.create")[0]["sessionId"]
        turn, events = client.call("session.send", {"sessionId": sid, "text": "write the file"})
        assert turn["text"] == "done"
        results = [
            block
            for entry in _entries(events, sid)
            for block in entry.get("content", [])
            if block.get("type") == "tool_result"
        ]
        assert len(results) == 1 and results[0]["is_error"] is (not yolo)
        if not yolo:  # the model is told why: nobody could be asked, not "the user refused"
            assert "--yolo was not given" in json.dumps(results[0]) and "user refused" not in json.dumps(results[0])
        assert (lime_env.cwd / "out.txt").exists() is yolo
        tree, _ = client.call("session.tree", {"sessionId": sid})
        [row] = [n for n in tree["entries"] if n["preview"].startswith("result ")]
        assert row["preview"].startswith("result write" + (":" if yolo else " ✗:")), row  # names its tool
    finally:
        status, _ = client.finish()
    assert status == 0
