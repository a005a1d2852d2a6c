"""Importing shapes the real corpus lacks: Claude Code compactions, microcompactions, sidechains and images;
Codex end events, the envelope-less 2025 shape and context items; pi v1 compactions; aider, opencode and Gemini.

Each log is written by the test into a temporary directory, imported into a
private LIME_HOME and read back from disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.exchange_helpers import make_workspace, session_files

from lime_repl.context.transcript import build_transcript
from lime_repl.exchange.guard import ImportRefused
from lime_repl.exchange.import_ import import_source
from lime_repl.store.session import Session


@pytest.fixture
def ws(tmp_path: Path):
    return make_workspace(tmp_path)


def _import(ws, source: Path) -> Session:
    result = import_source(ws, str(source))
    assert not result.warnings, result.warnings
    return Session.load(result.path)


def _jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _texts(messages: list[dict]) -> list[str]:
    return [b.get("text", b.get("type")) for m in messages for b in m["content"]]


def _by_source_uuid(session: Session) -> dict[str, dict]:
    out = {}
    for e in session.entries.values():
        uuid = (e.get("source") or e.get("data") or {}).get("uuid")
        if isinstance(uuid, str):
            out[uuid] = e
    return out


# -- Claude Code -------------------------------------------------------------------
def _cc(uuid, parent, kind, content=None, t="2026-02-01T10:00:00.000Z", **extra):
    record = {
        "type": kind,
        "uuid": uuid,
        "parentUuid": parent,
        "sessionId": "cc1",
        "cwd": "/w",
        "timestamp": t,
    }
    if content is not None:
        record["message"] = {"role": kind, "content": content}
    return record | extra


def test_claude_chain_compaction_microcompaction_images_and_sidechains(ws, tmp_path):
    png = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    records = [
        _cc("u1", None, "user", "first question", t="2026-02-01T10:00:00.000Z"),
        _cc("s1", "u1", "system", subtype="turn_duration", durationMs=5),
        _cc(
            "a1",
            "s1",
            "assistant",
            [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"p": "x"}}],
            requestId="req_1",
        ),
        _cc(
            "u2",
            "a1",
            "user",
            [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "pic"}, png]}],
            toolUseResult={"type": "image", "file": {"base64": "iVBORw0KGgo="}},
        ),
        _cc("p1", "u2", "progress", data={"type": "hook_progress"}),
        _cc(
            "a2",
            "p1",
            "assistant",
            [{"type": "tool_use", "id": "t2", "name": "Task", "input": {"prompt": "look around"}}],
        ),
        _cc("x1", None, "user", "look around", isSidechain=True),
        _cc(
            "x2",
            "x1",
            "assistant",
            [{"type": "text", "text": "sub answer"}],
            isSidechain=True,
            t="2026-02-01T10:09:00.000Z",
        ),
        _cc("u3", "a2", "user", [{"type": "tool_result", "tool_use_id": "t2", "content": "done"}]),
        {
            "type": "system",
            "subtype": "microcompact_boundary",
            "uuid": "m1",
            "parentUuid": "u3",
            "timestamp": "2026-02-01T10:01:00.000Z",
            "microcompactMetadata": {
                "trigger": "auto",
                "preTokens": 9000,
                "tokensSaved": 800,
                "compactedToolIds": ["t1"],
            },
        },
        {
            "type": "system",
            "subtype": "compact_boundary",
            "uuid": "b1",
            "parentUuid": None,
            "logicalParentUuid": "m1",
            "timestamp": "2026-02-01T10:02:00.000Z",
            "compactMetadata": {"trigger": "manual", "preTokens": 12000},
        },
        _cc(
            "c1",
            "b1",
            "user",
            "This session is being continued. Summary: they read x.",
            isCompactSummary=True,
            isVisibleInTranscriptOnly=True,
            t="2026-02-01T10:02:01.000Z",
        ),
        _cc("u4", "c1", "user", "next question", t="2026-02-01T10:03:00.000Z", isMeta=False),
        _cc(
            "a3", "u4", "assistant", [{"type": "text", "text": "final answer"}], t="2026-02-01T10:04:00.000Z"
        ),
        {"type": "summary", "summary": "old summary", "leafUuid": "a1"},
        {"type": "ai-title", "aiTitle": "AI named it", "sessionId": "cc1"},
        {"type": "summary", "summary": "newest summary", "leafUuid": "a3"},
    ]
    session = _import(ws, _jsonl(tmp_path / "cc1.jsonl", records))
    by = _by_source_uuid(session)
    branch = session.branch()
    ids = [e["id"] for e in branch]
    # One tree: the chain runs from the first question through system/progress records and the compaction.
    assert branch[0] == by["u1"] and branch[-1] == by["a3"]  # entries are decoded per read: equal, not the same object
    assert [
        by[u]["id"] for u in ("u1", "s1", "a1", "u2", "p1", "a2", "u3", "m1", "b1", "c1", "u4", "a3")
    ] == ids
    compaction = by["c1"]
    assert compaction["type"] == "compaction" and "they read x" in compaction["summary"]
    assert compaction["firstKeptEntryId"] == by["u4"]["id"]
    assert (compaction["trigger"], compaction["tokensBefore"]) == ("manual", 12000)
    micro = by["m1"]
    assert (
        micro["type"] == "microcompaction"
        and micro["pruned"] == [by["u2"]["id"]]
        and micro["tokensSaved"] == 800
    )
    # The tool result's image stays an image block; the structured result and requestId are kept.
    assert [b["type"] for b in by["u2"]["content"]] == ["tool_result", "image"]
    assert by["u2"]["content"][0]["content"] == "pic" and by["u2"]["content"][1]["source"] == png["source"]
    assert by["u2"]["source"]["toolUseResult"]["type"] == "image"
    assert by["a1"]["source"]["requestId"] == "req_1" and by["u4"]["source"]["isMeta"] is False
    # The sidechain hangs under the Task call, labelled, off the main chain.
    assert by["x1"]["parentId"] == by["a2"]["id"] and by["x1"]["id"] not in ids
    assert session.labels[by["x1"]["id"]] == "subagent"
    assert session.title == "AI named it"
    _, messages = build_transcript(branch, session.header)
    assert _texts(messages)[0].endswith("they read x.") and _texts(messages)[-2:] == [
        "next question",
        "final answer",
    ]


def test_claude_subagent_files_beside_the_session_become_branches(ws, tmp_path):
    main = [
        _cc("u1", None, "user", "go"),
        _cc(
            "a1",
            "u1",
            "assistant",
            [{"type": "tool_use", "id": "t1", "name": "Task", "input": {"prompt": "dig"}}],
        ),
        _cc(
            "u2",
            "a1",
            "user",
            [{"type": "tool_result", "tool_use_id": "t1", "content": "dug"}],
            toolUseResult={"agentId": "ab12", "status": "completed"},
        ),
        _cc("a2", "u2", "assistant", [{"type": "text", "text": "all done"}]),
        {"type": "custom-title", "customTitle": "Digging", "sessionId": "cc1"},
        {"type": "ai-title", "aiTitle": "Not this", "sessionId": "cc1"},
    ]
    path = _jsonl(tmp_path / "sess.jsonl", main)
    (tmp_path / "sess" / "subagents").mkdir(parents=True)
    _jsonl(
        tmp_path / "sess" / "subagents" / "agent-ab12.jsonl",
        [
            _cc("s1", None, "user", "dig", isSidechain=True, agentId="ab12"),
            _cc(
                "s2",
                "s1",
                "assistant",
                [{"type": "text", "text": "found it"}],
                isSidechain=True,
                agentId="ab12",
                t="2026-02-01T11:00:00.000Z",
            ),
        ],
    )
    session = _import(ws, path)
    by = _by_source_uuid(session)
    assert session.leaf_id == by["a2"]["id"]
    assert by["s1"]["parentId"] == by["a1"]["id"] and by["s2"]["parentId"] == by["s1"]["id"]
    assert session.labels[by["s1"]["id"]] == "subagent ab12"
    assert session.title == "Digging"


# -- Codex ---------------------------------------------------------------------------
def _cx(kind, payload, t="2026-03-01T09:00:00.000Z"):
    return {"timestamp": t, "type": kind, "payload": payload}


def _msg(role, text):
    kind = "input_text" if role == "user" else "output_text"
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


def test_codex_error_flags_come_from_end_events(ws, tmp_path):
    def call(cid, name="exec_command"):
        return {
            "type": "function_call",
            "call_id": cid,
            "name": name,
            "arguments": "{}",
        }

    def out(cid, text):
        return {"type": "function_call_output", "call_id": cid, "output": text}

    records = [
        _cx("world_state", {"anything": 1}),
        _cx("session_meta", {"id": "cx1", "cwd": "/w"}),
        _cx("response_item", _msg("user", "<environment_context>\n<cwd>/w</cwd>\n</environment_context>")),
        _cx("response_item", _msg("user", "# AGENTS.md instructions for /w\n\nbe nice")),
        _cx("event_msg", {"type": "user_message", "message": "run things"}),
        _cx("response_item", call("c1")),
        _cx("response_item", out("c1", "Process running with session ID 7")),
        _cx("event_msg", {"type": "exec_command_end", "call_id": "c1", "exit_code": 2, "status": "failed"}),
        _cx("response_item", call("c2")),
        _cx("response_item", out("c2", "Exit code: 1\nboom")),  # the text says failed, the end event says not
        _cx("event_msg", {"type": "exec_command_end", "call_id": "c2", "exit_code": 0}),
        _cx(
            "response_item",
            {"type": "custom_tool_call", "call_id": "c3", "name": "apply_patch", "input": "*** x"},
        ),
        _cx("response_item", {"type": "custom_tool_call_output", "call_id": "c3", "output": "ok"}),
        _cx("event_msg", {"type": "patch_apply_end", "call_id": "c3", "success": False}),
        _cx("response_item", call("c4", "mcp__s__t")),
        _cx("response_item", out("c4", "result")),
        _cx("event_msg", {"type": "mcp_tool_call_end", "call_id": "c4", "result": {"Err": "no server"}}),
        _cx("response_item", _msg("assistant", "done")),
        _cx("brand_new_line_type", {"x": 1}),
    ]
    session = _import(ws, _jsonl(tmp_path / "rollout.jsonl", records))
    results = {
        b["tool_use_id"]: b["is_error"]
        for e in session.entries.values()
        if e["type"] == "message"
        for b in e["content"]
        if b["type"] == "tool_result"
    }
    assert results == {"c1": True, "c2": False, "c3": True, "c4": True}
    users = [
        e
        for e in session.entries.values()
        if e["type"] == "message" and e["role"] == "user" and e["content"][0]["type"] == "text"
    ]
    assert [u["content"][0]["text"] for u in users] == ["run things"]
    customs = [e["customType"] for e in session.entries.values() if e["type"] == "custom"]
    assert customs.count("codex:context") == 2
    assert "codex:world_state" in customs and "codex:brand_new_line_type" in customs
    assert session.title == "run things"


def test_codex_mid_2025_shape_without_payload_envelope(ws, tmp_path):
    records = [
        {"id": "cx-old", "timestamp": "2025-06-01T08:00:00.000Z", "instructions": None, "git": {}},
        {"record_type": "state"},
        _msg("user", "hello there"),
        {"type": "reasoning", "id": "r1", "summary": [{"type": "summary_text", "text": "thinking"}]},
        {"type": "function_call", "call_id": "f1", "name": "shell", "arguments": '{"command": ["ls"]}'},
        {
            "type": "function_call_output",
            "call_id": "f1",
            "output": '{"output": "a\\n", "metadata": {"exit_code": 1}}',
        },
        _msg("assistant", "hi"),
        {"record_type": "state"},
    ]
    session = _import(ws, _jsonl(tmp_path / "rollout-old.jsonl", records))
    kinds = [
        (e["role"], [b["type"] for b in e["content"]]) for e in session.branch() if e["type"] == "message"
    ]
    assert kinds == [
        ("user", ["text"]),
        ("assistant", ["reasoning"]),
        ("assistant", ["tool_use"]),
        ("user", ["tool_result"]),
        ("assistant", ["text"]),
    ]
    result = next(
        b
        for e in session.entries.values()
        if e["type"] == "message"
        for b in e["content"]
        if b["type"] == "tool_result"
    )
    assert result["is_error"] is True
    assert session.header["importedFrom"]["id"] == "cx-old"


# -- pi v1 -----------------------------------------------------------------------------
def test_pi_v1_keeps_every_compaction_and_the_true_first_time(ws, tmp_path):
    def t(n):
        return f"2026-01-01T09:{n:02d}:00.000Z"

    records = [
        {"type": "session", "id": "p1", "timestamp": "2026-01-01T10:00:00.000Z", "cwd": "/w"},
        {"type": "message", "timestamp": t(1), "message": {"role": "user", "content": "a"}},
        {
            "type": "message",
            "timestamp": t(2),
            "message": {"role": "assistant", "content": [{"type": "text", "text": "b"}]},
        },
        {
            "type": "compaction",
            "timestamp": t(3),
            "summary": "S1",
            "firstKeptEntryIndex": 2,
            "tokensBefore": 10,
        },
        {"type": "message", "timestamp": t(4), "message": {"role": "user", "content": "c"}},
        {
            "type": "compaction",
            "timestamp": t(5),
            "summary": "S2",
            "firstKeptEntryIndex": 4,
            "tokensBefore": 20,
        },
        {"type": "message", "timestamp": t(6), "message": {"role": "user", "content": "d"}},
    ]
    session = _import(ws, _jsonl(tmp_path / "v1.jsonl", records))
    compactions = [e for e in session.branch() if e["type"] == "compaction"]
    assert [c["summary"] for c in compactions] == ["S1", "S2"]
    assert session.header["importedFrom"]["created"] == t(1)


# -- Gemini CLI -------------------------------------------------------------------------------
def test_gemini_tool_status_thoughts_and_title(ws, tmp_path):
    doc = {
        "sessionId": "g1",
        "projectHash": "ab",
        "startTime": "2026-01-16T11:00:00.000Z",
        "lastUpdated": "2026-01-16T11:05:00.000Z",
        "summary": "Listing files",
        "messages": [
            {"id": "m1", "timestamp": "2026-01-16T11:00:01.000Z", "type": "user", "content": "list"},
            {
                "id": "m2",
                "timestamp": "2026-01-16T11:00:02.000Z",
                "type": "gemini",
                "content": "",
                "thoughts": [
                    {"subject": "Plan", "description": "call ls", "timestamp": "2026-01-16T11:00:02.000Z"}
                ],
                "toolCalls": [
                    {
                        "id": "k1",
                        "name": "ls",
                        "args": {"p": "."},
                        "status": "success",
                        "result": [
                            {"functionResponse": {"id": "k1", "name": "ls", "response": {"output": "a b"}}}
                        ],
                    },
                    {
                        "id": "k2",
                        "name": "rm",
                        "args": {},
                        "status": "error",
                        "result": [
                            {"functionResponse": {"id": "k2", "name": "rm", "response": {"error": "denied"}}}
                        ],
                    },
                ],
                "tokens": {"input": 10, "output": 2, "cached": 1, "thoughts": 3, "tool": 0, "total": 16},
                "model": "gemini-x",
            },
            {"id": "m3", "timestamp": "2026-01-16T11:00:03.000Z", "type": "info", "content": "note"},
        ],
    }
    path = tmp_path / "session-2026-01-16T11-00-g1.json"
    path.write_text(json.dumps(doc, indent=2))
    session = _import(ws, path)
    messages = [e for e in session.branch() if e["type"] == "message"]
    assert [b["type"] for b in messages[1]["content"]] == ["reasoning", "tool_use", "tool_use"]
    assert messages[1]["content"][0]["summary"] == "Plan\ncall ls"
    assert [(b["content"], b["is_error"]) for b in messages[2]["content"]] == [
        ("a b", False),
        ("denied", True),
    ]
    assert messages[1]["usage"]["output_tokens"] == 5
    assert session.title == "Listing files"


# -- opencode export ------------------------------------------------------------------------
def test_opencode_export(ws, tmp_path):
    base = {"sessionID": "ses_1"}

    def tool(cid, status, **state):
        return {
            "type": "tool",
            "callID": cid,
            "tool": "bash",
            **base,
            "state": {"status": status, "input": {"command": "ls"}, **state},
        }

    doc = {
        "info": {
            "id": "ses_1",
            "title": "Fix the build",
            "directory": "/w",
            "time": {"created": 1767261600000, "updated": 1767261900000},
        },
        "messages": [
            {
                "info": {"id": "msg_1", "role": "user", "time": {"created": 1767261601000}, **base},
                "parts": [
                    {"type": "text", "text": "fix it"},
                    {
                        "type": "file",
                        "mime": "image/png",
                        "url": "data:image/png;base64,AA==",
                        "filename": "s.png",
                    },
                ],
            },
            {
                "info": {
                    "id": "msg_2",
                    "role": "assistant",
                    "time": {"created": 1767261602000},
                    "modelID": "m",
                    "providerID": "p",
                    "tokens": {"input": 5, "output": 6, "reasoning": 1, "cache": {"read": 2, "write": 0}},
                    **base,
                },
                "parts": [
                    {"type": "step-start"},
                    {"type": "reasoning", "text": "hmm", "time": {"start": 1}},
                    {"type": "text", "text": "running"},
                    tool(
                        "c1", "completed", output="a\n", title="ls", metadata={}, time={"start": 1, "end": 2}
                    ),
                    tool("c2", "error", error="exit 1", time={"start": 1, "end": 2}),
                    tool("c3", "running", time={"start": 1}),
                    {"type": "step-finish", "reason": "tool-calls", "cost": 0, "tokens": {}},
                ],
            },
            {
                "info": {"id": "msg_3", "role": "user", "time": {"created": 1767261603000}, **base},
                "parts": [{"type": "compaction", "auto": True}],
            },
            {
                "info": {
                    "id": "msg_4",
                    "role": "assistant",
                    "summary": True,
                    "time": {"created": 1767261604000},
                    **base,
                },
                "parts": [{"type": "text", "text": "we fixed the build"}],
            },
            {
                "info": {"id": "msg_5", "role": "user", "time": {"created": 1767261605000}, **base},
                "parts": [{"type": "text", "text": "thanks"}],
            },
        ],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc, indent=2))
    session = _import(ws, path)
    branch = session.branch()
    messages = [e for e in branch if e["type"] == "message"]
    assert [b["type"] for b in messages[0]["content"]] == ["text", "image"]
    assert [b["type"] for b in messages[1]["content"]] == [
        "reasoning",
        "text",
        "tool_use",
        "tool_use",
        "tool_use",
    ]
    assert [(b["content"], b["is_error"]) for b in messages[2]["content"]] == [
        ("a\n", False),
        ("exit 1", True),
        ("[Tool execution was interrupted]", True),
    ]
    compaction = next(e for e in branch if e["type"] == "compaction")
    assert (
        compaction["summary"] == "we fixed the build" and compaction["firstKeptEntryId"] == messages[-1]["id"]
    )
    assert session.title == "Fix the build" and session.header["importedFrom"]["cwd"] == "/w"
    assert messages[0]["timestamp"] == "2026-01-01T10:00:01.000Z"


# -- aider ------------------------------------------------------------------------------------
AIDER = """
# aider chat started at 2025-05-01 10:00:00

> Aider v0.80.0
> Model: gpt-4o

#### add a greeting
#### to hello.py

I'll add it.

hello.py
```python
print("hi")
```

> Applied edit to hello.py

#### /run python hello.py
> Add 0.1k tokens of command output to the chat? (Y)es/(N)o [Yes]: y
> Added 1 line of output to the chat.

#### /add README.md
> Added README.md to the chat

# aider chat started at 2025-05-02 08:30:00

# aider chat started at 2025-05-03 09:15:00

#### /ask what does it do?

It prints hi.
"""


def test_aider_history_becomes_one_session_per_run(tmp_path):
    history = tmp_path / ".aider.chat.history.md"
    history.write_text(AIDER.replace("<BR>", "  "))  # aider ends each input line with a Markdown break
    home = tmp_path / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "LIME_HOME": str(home / "lime"),
        "XDG_CONFIG_HOME": str(home / "cfg"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    run = subprocess.run(
        [sys.executable, "-m", "lime_repl", "import", str(history)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    ids = run.stdout.split()
    assert len(ids) == 2 and "skipped 1 aider sessions with nothing in them" in run.stderr
    ws = type(make_workspace(tmp_path / "other"))(tmp_path, env)
    first, second = (Session.load(ws.resolve(i)) for i in ids)
    kinds = []
    for e in first.branch():
        if "shell" in e:
            kinds.append(("shell", e["content"][0]["text"]))
        elif e["type"] == "message":
            kinds.append((e["role"], e["content"][0]["text"]))
        elif e["type"] == "custom":
            kinds.append((e["customType"], (e["data"].get("text") or e["data"].get("command"))))
    assert kinds == [
        ("aider:output", "Aider v0.80.0\nModel: gpt-4o"),
        ("user", "add a greeting\nto hello.py"),
        ("assistant", 'I\'ll add it.\n\nhello.py\n```python\nprint("hi")\n```'),
        ("aider:output", "Applied edit to hello.py"),
        ("shell", "<bash-input>python hello.py</bash-input>"),
        ("shell", "<bash-stdout></bash-stdout>"),
        ("shell", "<bash-stderr></bash-stderr>"),
        (
            "aider:output",
            "Add 0.1k tokens of command output to the chat? (Y)es/(N)o [Yes]: y\n"
            "Added 1 line of output to the chat.",
        ),
        ("aider:command", "/add README.md"),
        ("aider:output", "Added README.md to the chat"),
    ]
    assert first.header["importedFrom"]["id"] == "2025-05-01 10:00:00"
    assert [e["content"][0]["text"] for e in second.branch() if e["type"] == "message"] == [
        "/ask what does it do?",
        "It prints hi.",
    ]
    assert second.branch()[0]["timestamp"] == "2025-05-03T09:15:00.000Z"


# -- refusals ------------------------------------------------------------------------------------
def test_refusals_say_what_the_file_looked_like(ws, tmp_path):
    path = tmp_path / "chat.json"
    path.write_text(json.dumps({"conversation": [{"speaker": "me"}]}, indent=2))
    with pytest.raises(ImportRefused) as caught:
        import_source(ws, str(path))
    message = str(caught.value)
    assert "it is one JSON document (keys conversation)" in message
    assert "Gemini CLI" in message and "opencode" in message and "aider" in message and "\n" not in message
    assert session_files(ws) == []
    (tmp_path / "folder").mkdir()
    with pytest.raises(ImportRefused) as caught:
        import_source(ws, str(tmp_path / "folder"))
    assert "a folder with no session files lime reads" in str(caught.value) and "aider" in str(caught.value)


# -- odd shapes: a reader takes any JSON without a traceback ------------------------------------------
_ODD = [None, 1, "x", [], [1, [2]], {"type": [1]}, {"type": {"a": 1}}, {"content": {"x": []}}, True]


def _odd_claude() -> list:
    out: list = [_cc("u1", None, "user", "hi")]
    for i, value in enumerate(_ODD):
        out += [
            _cc(f"o{i}", "u1", "user", value),
            _cc(f"p{i}", [value], "assistant", [value, {"type": "tool_result", "content": value}]),
            {
                "type": "system",
                "subtype": "microcompact_boundary",
                "uuid": f"m{i}",
                "microcompactMetadata": {"compactedToolIds": [value, [value]]},
            },
            {
                "type": value,
                "uuid": value,
                "parentUuid": value,
                "isCompactSummary": True,
                "message": {"content": value},
            },
        ]
    return out


def _odd_codex() -> list:
    out: list = [_cx("session_meta", {"id": "c"})]
    for value in _ODD:
        out += [
            _cx("response_item", value),
            _cx("event_msg", value),
            _cx(value, value),
            _cx("response_item", {"type": value, "call_id": value, "output": value, "content": value}),
            _cx("event_msg", {"type": "user_message", "message": value, "images": value}),
            _cx(
                "event_msg", {"type": "exec_command_end", "call_id": "x", "exit_code": value, "result": value}
            ),
        ]
    return out


def _odd_gemini() -> dict:
    messages: list = [{"type": "user", "content": "hi"}]
    for value in _ODD:
        messages += [
            {"type": "gemini", "content": value, "thoughts": value, "toolCalls": value, "tokens": value},
            {
                "type": "gemini",
                "toolCalls": [value, {"result": value, "status": value, "args": value}],
                "thoughts": [value],
            },
            {"type": "user", "content": [value]},
        ]
    return {"sessionId": "g", "projectHash": "h", "messages": messages, "summary": 3}


def _odd_opencode() -> dict:
    messages: list = []
    for value in _ODD:
        messages += [
            {
                "info": {"role": "assistant", "time": value, "tokens": value},
                "parts": [value, {"type": "tool", "state": value}],
            },
            {"info": {"role": "user", "summary": value}, "parts": [{"type": "file", "mime": value}]},
            {"info": {"role": value}, "parts": []},
        ]
    return {"info": {"id": "o", "time": value, "title": value}, "messages": messages}


@pytest.mark.parametrize("kind", ["claude", "codex", "gemini", "opencode"])
def test_odd_shapes_import_without_a_traceback(ws, tmp_path, kind):
    path = tmp_path / f"{kind}.json"
    if kind == "claude":
        _jsonl(path, _odd_claude())
    elif kind == "codex":
        _jsonl(path, _odd_codex())
    else:
        path.write_text(json.dumps(_odd_gemini() if kind == "gemini" else _odd_opencode(), indent=1))
    result = import_source(ws, str(path))
    assert result.tool == {"claude": "claude-code", "gemini": "gemini-cli"}.get(kind, kind)
    assert Session.load(result.path).entries
