"""Branching end to end: /tree in a pty, /fork, /clone, /label and --fork, against real files and processes."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv
from support.screen import TIMEOUT, Screen

from lime_repl.store.session import Session

PROMPT = "lime> "
UP, ENTER, CTRL_O = "\x1b[A", "\r", "\x0f"


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def _spawn(lime_env: LimeEnv, *args: str, env: dict[str, str] | None = None) -> Screen:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "lime_repl", *args],
        cwd=str(lime_env.cwd),
        env=dict(lime_env.env, **(env or {})),
        dimensions=(40, 120),
        timeout=TIMEOUT,
    )
    screen = Screen(child, 40, 120)
    screen.wait_empty_prompt()
    return screen


def _say(screen: Screen, line: str, answer: str) -> None:
    """Type ``line``; wait for a screen line that is exactly ``answer``, then for the next empty prompt."""
    screen.send(line + "\r")
    screen.wait_line(answer)
    screen.wait_empty_prompt()


def _quit(screen: Screen) -> None:
    screen.send("/quit\r")
    assert screen.wait_exit() == 0
    assert "Traceback" not in screen.text


def _entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _text(entry: dict) -> str:
    return "".join(b.get("text", "") for b in entry.get("content", []) if isinstance(b, dict))


@pytest.mark.pty
def test_tree_edit_earlier_message_branches_and_resume_follows(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    server.reply_text("answer one").reply_text("answer two").reply_text("answer three")
    env = server.env("openai", "gpt-5.4")
    screen = _spawn(lime_env, env=env)
    _say(screen, "first question", "answer one")
    _say(screen, "second question", "answer two")
    screen.send("/tree\r")
    screen.wait_for("Session tree")
    screen.wait_for("← leaf")
    screen.send(UP)  # the leaf is selected first; one up is "user: second question"
    screen.wait_for("› ● user: second question")
    screen.send(ENTER)
    screen.wait_for("Summarize it?")
    screen.send("1")  # no summary
    screen.wait_for("edit the message")
    screen.wait_prompt()
    assert screen.cursor_line.rstrip() == "lime> second question"  # pre-filled for editing
    screen.send(", edited\r")
    screen.wait_for("answer three")
    screen.wait_prompt()
    _quit(screen)

    [path] = lime_env.session_files()
    log = _entries(path)
    users = {_text(e): e for e in log if e["type"] == "message" and e["role"] == "user"}
    answers = {_text(e): e for e in log if e["type"] == "message" and e["role"] == "assistant"}
    original, edited = users["second question"], users["second question, edited"]
    assert original["parentId"] == edited["parentId"] == answers["answer one"]["id"]  # a second branch
    leaf_moves = [e for e in log if e["type"] == "leaf"]
    assert [e["targetId"] for e in leaf_moves] == [answers["answer one"]["id"]]
    assert Session.load(path).leaf_id == answers["answer three"]["id"]

    server.reply_text("answer four")
    resumed = lime_env.run("-c", input="and then?\n", extra_env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.decode().strip() == "answer four"
    sent = json.dumps(server.requests[-1]["messages"])
    assert "second question, edited" in sent and "answer three" in sent and "and then?" in sent
    assert "answer two" not in sent and '"second question"' not in sent
    assert len(lime_env.session_files()) == 1


@pytest.mark.pty
def test_tree_labels_filters_and_branch_summary_without_a_model(lime_env: LimeEnv) -> None:
    screen = _spawn(lime_env)
    for word in ("alpha", "beta", "gamma"):
        _say(screen, f"!echo {word}", word)
    screen.send("/tree\r")
    screen.wait_for("filter: default")
    screen.send(UP, "L")
    screen.wait_for("label (empty clears)")
    screen.send("checkpoint\r")
    screen.wait_for("label 'checkpoint' set")
    screen.wait_for("[checkpoint] $ echo beta")
    screen.send("T")
    screen.wait_for(f"[checkpoint] {time.strftime('%Y-', time.gmtime())}")
    screen.send(CTRL_O)
    screen.wait_for("filter: no-tools")
    screen.send(ENTER)  # "$ echo beta": the leaf moves to the end of that exchange
    screen.wait_for("Summarize it?")
    screen.send("2")  # a summary; no model, so the extractive one
    screen.wait_for("branch summary")
    screen.wait_prompt()
    screen.send("/label done here\r")
    screen.wait_for("labeled")
    screen.wait_prompt()
    _quit(screen)

    [path] = lime_env.session_files()
    log = _entries(path)
    inputs = {_text(e)[12:-13]: e for e in log if _text(e).startswith("<bash-input>")}

    def exchange_end(command: str) -> dict:
        exchange = inputs[command]["shell"]["exchange"]
        return [e for e in log if e.get("shell", {}).get("exchange") == exchange][-1]

    [summary] = [e for e in log if e["type"] == "branch_summary"]
    assert summary["parentId"] == exchange_end("echo beta")["id"]
    assert summary["fromId"] == exchange_end("echo gamma")["id"]
    assert "echo gamma" in summary["summary"]
    labels = [(e["targetId"], e["label"]) for e in log if e["type"] == "label"]
    assert labels == [(inputs["echo beta"]["id"], "checkpoint"), (summary["id"], "done here")]

    # line mode: the tree is printed, and /tree ID jumps without a view
    shown = lime_env.run("-c", input="/tree\n")
    out = shown.stdout.decode()
    assert shown.returncode == 0 and "[checkpoint] $ echo beta" in out and "$ echo gamma" in out
    assert f"* {summary['id']}" in out
    jumped = lime_env.run("-c", input=f"/tree {inputs['echo gamma']['id'][:6]}\n!echo delta\n")
    assert jumped.returncode == 0, jumped.stderr
    delta = [e for e in _entries(path) if _text(e) == "<bash-input>echo delta</bash-input>"][0]
    assert delta["parentId"] == exchange_end("echo gamma")["id"]
    bad = lime_env.run("-c", input="/tree zzzz\n")
    assert bad.returncode == 2 and "no entry 'zzzz'" in bad.stderr.decode()
    assert b"Traceback" not in bad.stderr


@pytest.mark.pty
def test_fork_from_earlier_message_in_a_new_session(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_text("one").reply_text("two").reply_text("two again")
    env = server.env("openai", "gpt-5.4")
    screen = _spawn(lime_env, env=env)
    _say(screen, "q1", "one")
    _say(screen, "q2", "two")
    [source] = lime_env.session_files()
    before = source.read_bytes()
    screen.send("/fork\r")
    screen.wait_for("Fork from which message?")
    screen.send(ENTER)  # the last user message is preselected
    screen.wait_for("into new session")
    screen.wait_prompt()
    assert screen.cursor_line.rstrip() == "lime> q2"
    screen.send(" (forked)\r")
    screen.wait_for("two again")
    screen.wait_prompt()
    _quit(screen)

    assert source.read_bytes() == before  # the source is only read
    [fork] = [p for p in lime_env.session_files() if p != source]
    old, new = _entries(source), _entries(fork)
    answer_one = next(e for e in old if _text(e) == "one")
    assert new[0]["forkedFrom"] == {"sessionId": old[0]["sessionId"], "entryId": answer_one["id"]}
    copied = [e for e in old if e["type"] != "session"]
    copied = copied[: copied.index(answer_one) + 1]
    assert new[1 : len(copied) + 1] == copied  # same ids, parents and content up to the fork point
    forked_q = next(e for e in new if _text(e) == "q2 (forked)")
    assert forked_q["parentId"] == answer_one["id"]
    assert not any(_text(e) == "two" for e in new)
    sent = json.dumps(server.requests[-1]["messages"])
    assert "q2 (forked)" in sent and '"two"' not in sent

    # line mode: /fork lists the prompts, /fork N forks before the N-th
    listed = lime_env.run("-r", source.name[:8], input="/fork\n/fork 1\n")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.decode().splitlines()
    assert [line.split()[0] for line in lines] == ["1", "2"] and lines[0].endswith("q1")
    assert source.read_bytes() == before
    [early] = [p for p in lime_env.session_files() if p not in (source, fork)]
    first_prompt = next(e for e in old if _text(e) == "q1")
    assert _entries(early)[0]["forkedFrom"]["entryId"] == first_prompt["parentId"]
    assert not any(_text(e) == "q1" for e in _entries(early))


def test_clone_and_label_in_line_mode_leave_the_source_untouched(lime_env: LimeEnv) -> None:
    first = lime_env.run(input="!echo a\n/label start\n")
    assert first.returncode == 0, first.stderr
    [source] = lime_env.session_files()
    before = source.read_bytes()
    result = lime_env.run("-c", input="/clone\n!echo b\n/fork\n")
    assert result.returncode == 2  # /fork: no user message to fork from
    assert "no user message on this branch" in result.stderr.decode()
    assert b"cloned session" in result.stderr
    assert source.read_bytes() == before
    [clone] = [p for p in lime_env.session_files() if p != source]
    old, new = _entries(source), _entries(clone)
    leaf = Session.load(source).leaf_id
    assert new[0]["forkedFrom"] == {"sessionId": old[0]["sessionId"], "entryId": leaf}
    assert [e["id"] for e in new if e["type"] == "message"][:3] == [
        e["id"] for e in old if e["type"] == "message"
    ]
    assert "<bash-input>echo b</bash-input>" in clone.read_text()
    assert Session.load(clone).labels == Session.load(source).labels != {}


def test_fork_flag_copies_and_never_writes_the_source(lime_env: LimeEnv) -> None:
    lime_env.run(input="!echo original\n")
    [source] = lime_env.session_files()
    before = source.read_bytes()
    holder = Session.open(source)  # another process may even hold it open: --fork only reads
    try:
        forked = lime_env.run("-r", source.name[:8], "--fork", input="!echo in-fork\n")
        again = lime_env.run("-c", "--fork", input="!echo from-continue\n")
    finally:
        holder.close()
    assert forked.returncode == 0, forked.stderr
    assert again.returncode == 0, again.stderr
    assert source.read_bytes() == before
    files = [p for p in lime_env.session_files() if p != source]
    assert len(files) == 2
    sid = json.loads(before.splitlines()[0])["sessionId"]
    for path in files:
        log = _entries(path)
        assert log[0]["forkedFrom"]["sessionId"] in (sid, *(p.stem for p in files))
        assert "<bash-input>echo original</bash-input>" in path.read_text()
    texts = "".join(p.read_text() for p in files)
    assert "echo in-fork" in texts and "echo from-continue" in texts
    locked = lime_env.run("-r", source.name[:8], input="!true\n")
    assert locked.returncode == 0  # the holder is gone; a plain resume works again
