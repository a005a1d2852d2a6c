"""Importing synthetic pi (v1 and v3) and Claude Code logs: trees, ``!`` exchanges, errors, unknown records.

The corpus files are simple; these logs, written by the tests into a
temporary directory, exercise what the corpus lacks: branches, pi's
``bashExecution`` and Claude Code's ``<bash-input>`` exchanges, failed tool
calls, titles, labels, v1 migration and record types lime does not know.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.exchange_helpers import make_workspace, summarize

from lime_repl.context.transcript import build_transcript
from lime_repl.exchange.import_ import import_source
from lime_repl.store.session import Session


@pytest.fixture
def ws(tmp_path: Path):
    return make_workspace(tmp_path)


def _import(ws, source: Path | str) -> Session:
    result = import_source(ws, str(source))
    return Session.load(result.path)


# -- synthetic pi v3 and v1 --------------------------------------------------------
def _jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_pi_v3_tree_bash_errors_titles_and_unknown_types(ws, tmp_path):
    t = "2026-01-02T03:04:05.000Z"
    records = [
        {"type": "session", "version": 3, "id": "pi-session-uuid", "timestamp": t, "cwd": "/src/app"},
        {
            "type": "message",
            "id": "aaaa0001",
            "parentId": None,
            "timestamp": t,
            "message": {"role": "user", "content": "list files"},
        },
        {
            "type": "message",
            "id": "aaaa0002",
            "parentId": "aaaa0001",
            "timestamp": t,
            "message": {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm"},
                    {"type": "toolCall", "id": "c1", "name": "bash", "arguments": {"command": "ls /nope"}},
                ],
                "provider": "anthropic",
                "model": "m",
                "usage": {"input": 5, "output": 2},
                "stopReason": "toolUse",
            },
        },
        {
            "type": "message",
            "id": "aaaa0003",
            "parentId": "aaaa0002",
            "timestamp": t,
            "message": {
                "role": "toolResult",
                "toolCallId": "c1",
                "toolName": "bash",
                "content": [{"type": "text", "text": "No such file"}],
                "isError": True,
            },
        },
        {
            "type": "thinking_level_change",
            "id": "aaaa0004",
            "parentId": "aaaa0003",
            "timestamp": t,
            "thinkingLevel": "high",
        },
        # a second branch from the first prompt
        {
            "type": "message",
            "id": "bbbb0001",
            "parentId": "aaaa0001",
            "timestamp": t,
            "message": {"role": "assistant", "content": [{"type": "text", "text": "other answer"}]},
        },
        {
            "type": "message",
            "id": "bbbb0002",
            "parentId": "bbbb0001",
            "timestamp": t,
            "message": {
                "role": "bashExecution",
                "command": "echo hi",
                "output": "hi\n",
                "exitCode": 0,
                "cancelled": False,
                "truncated": False,
            },
        },
        {
            "type": "session_info",
            "id": "bbbb0003",
            "parentId": "bbbb0002",
            "timestamp": t,
            "name": "Named in pi",
        },
        {
            "type": "label",
            "id": "bbbb0004",
            "parentId": "bbbb0003",
            "timestamp": t,
            "targetId": "aaaa0001",
            "label": "start",
        },
        {"type": "some_future_type", "id": "bbbb0005", "parentId": "bbbb0002", "timestamp": t, "x": [1, 2]},
    ]
    session = _import(ws, _jsonl(tmp_path / "pi.jsonl", records))
    assert session.title == "Named in pi"
    assert session.labels == {"aaaa0001": "start"}
    assert session.entries["aaaa0003"]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": "c1",
        "content": "No such file",
        "is_error": True,
    }
    assert session.children()["aaaa0001"] == ["aaaa0002", "bbbb0001"]  # the tree survives, ids kept
    future = session.entries["bbbb0005"]
    assert (
        future["type"] == "custom"
        and future["customType"] == "pi:some_future_type"
        and future["data"]["x"] == [1, 2]
    )
    assert session.entries["aaaa0004"]["customType"] == "pi:thinking_level_change"
    # Pi's leaf is the last entry of the file: the custom entry on the bash branch.
    assert session.leaf_id == "bbbb0005"
    _, messages = build_transcript(session.branch(), session.header)
    shell = [b for m in messages for b in m["content"] if b["type"] == "local_shell"]
    assert shell == [
        {
            "type": "local_shell",
            "command": "echo hi",
            "stdout": "hi\n",
            "stderr": "",
            "exit_code": 0,
            "cwd": "/src/app",
        }
    ]
    error_branch = session.branch("aaaa0004")
    assert [e["id"] for e in error_branch] == ["aaaa0001", "aaaa0002", "aaaa0003", "aaaa0004"]
    assert error_branch[1]["content"][0] == {
        "type": "reasoning",
        "provider": "pi",
        "summary": "hmm",
        "data": {"type": "thinking", "thinking": "hmm"},
    }


def test_pi_v1_compaction_index_is_migrated(ws, tmp_path):
    t = "2026-01-02T03:04:05.000Z"
    records = [
        {"type": "session", "id": "old", "timestamp": t, "cwd": "/x"},
        {"type": "message", "timestamp": t, "message": {"role": "user", "content": "one"}},
        {
            "type": "message",
            "timestamp": t,
            "message": {"role": "assistant", "content": [{"type": "text", "text": "1"}]},
        },
        {"type": "message", "timestamp": t, "message": {"role": "user", "content": "two"}},
        {
            "type": "compaction",
            "timestamp": t,
            "summary": "they counted",
            "firstKeptEntryIndex": 3,
            "tokensBefore": 9,
        },
        {"type": "message", "timestamp": t, "message": {"role": "user", "content": "three"}},
    ]
    session = _import(ws, _jsonl(tmp_path / "v1.jsonl", records))
    branch = session.branch()
    compaction = next(e for e in branch if e["type"] == "compaction")
    kept = session.entries[compaction["firstKeptEntryId"]]
    assert kept["content"] == [{"type": "text", "text": "two"}]
    _, messages = build_transcript(branch, session.header)
    assert [b["text"] for m in messages for b in m["content"]] == [
        "Summary of the earlier conversation:\nthey counted",
        "two",
        "three",
    ]


# -- synthetic Claude Code -------------------------------------------------------------
def test_claude_code_tree_bash_triples_and_errors(ws, tmp_path):
    def rec(kind, uuid, parent, content, **extra):
        return {
            "type": kind,
            "uuid": uuid,
            "parentUuid": parent,
            "sessionId": "cc-1",
            "cwd": "/repo",
            "timestamp": "2026-02-03T04:05:06.000Z",
            "message": {"role": kind, "content": content},
            **extra,
        }

    records = [
        {"type": "summary", "summary": "Fixing the build", "leafUuid": "u6"},
        rec("user", "u1", None, "fix it"),
        rec(
            "assistant",
            "u2",
            "u1",
            [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "make"}}],
        ),
        rec(
            "user",
            "u3",
            "u2",
            [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "boom"}],
                    "is_error": True,
                }
            ],
        ),
        rec("user", "u4", "u3", "<bash-input>git status</bash-input>"),
        rec("user", "u5", "u4", "<bash-stdout>clean</bash-stdout><bash-stderr>warn</bash-stderr>"),
        rec("assistant", "u6", "u5", [{"type": "text", "text": "done"}]),
        rec("assistant", "s1", "u1", [{"type": "text", "text": "side"}], isSidechain=True),
        {"type": "file-history-snapshot", "messageId": "m", "snapshot": {}},
    ]
    session = _import(ws, _jsonl(tmp_path / "cc.jsonl", records))
    summary = summarize(session)
    assert session.title == "Fixing the build"
    assert (summary.user, summary.assistant, summary.shell) == (1, 2, 1)
    assert summary.tool_results == {"t1": True}
    assert session.branch()[-1]["content"] == [
        {"type": "text", "text": "done"}
    ]  # main chain, not the sidechain
    _, messages = build_transcript(session.branch(), session.header)
    shell = [b for m in messages for b in m["content"] if b["type"] == "local_shell"]
    assert [(s["command"], s["stdout"], s["stderr"]) for s in shell] == [("git status", "clean", "warn")]
    customs = {e["customType"] for e in session.entries.values() if e["type"] == "custom"}
    assert customs == {"claude-code:summary", "claude-code:file-history-snapshot"}
