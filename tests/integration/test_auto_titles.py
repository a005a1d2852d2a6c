"""Automatic session titles: asked for after the first exchange, in the background; `/rename` always wins."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.bridge_client import BridgeClient
from support.fake_providers import FakeProviderServer, Reply
from support.inprocess import InProcessRepl
from support.lime_env import LimeEnv

from lime_repl.context.title import TITLE_SYSTEM


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def _with_model(lime_env: LimeEnv, server: FakeProviderServer) -> LimeEnv:
    return LimeEnv(lime_env.home, lime_env.cwd, dict(lime_env.env, **server.env("openai", "gpt-5.4")))


def _titles(path: Path) -> list[dict]:
    return [e for e in map(json.loads, path.read_text().splitlines()) if e["type"] == "title"]


def _listed_title(lime_env: LimeEnv) -> str | None:
    [row] = json.loads(lime_env.run("session", "list", "--format", "json").stdout)
    return row["title"]


def test_the_first_exchange_gets_an_automatic_title_without_delaying_the_prompt(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    env = _with_model(lime_env, server)
    server.title_reply = Reply(text='**"Fix the CSV parser."**\n')
    server.title_gate = threading.Event()  # the title request waits until the test lets it answer
    server.reply_text("I will fix the parser.").reply_text("Done.")
    with InProcessRepl(env) as repl:
        repl.line("please fix the csv parser in src/csv.py")
        repl.wait_for("I will fix the parser.")
        repl.line("!echo the prompt is back")  # handled while the title request is still held
        repl.wait_for("the prompt is back\n")
        assert len(server.title_calls) == 1 and _titles(lime_env.session_files()[0]) == []
        repl.line("and add a test")
        server.title_gate.set()
        assert repl.exit() == 0  # the exit records the title that is on its way
    [path] = lime_env.session_files()
    [title] = _titles(path)
    assert title["title"] == "Fix the CSV parser" and title["auto"] is True
    [request] = server.title_calls
    body = json.dumps(request.body)
    assert TITLE_SYSTEM in body and "please fix the csv parser in src/csv.py" in body and "I will fix" in body
    assert not request.body.get("tools"), "a title request offers no tools"
    assert len(server.title_calls) == 1, "asked once, after the first exchange only"
    assert len(server.requests) == 2  # the two turns; the title request took no scripted reply
    assert _listed_title(lime_env) == "Fix the CSV parser"


def test_a_rename_always_wins_over_the_automatic_title(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    env = _with_model(lime_env, server)
    server.title_reply = Reply(text="Automatic name")
    server.title_gate = threading.Event()
    server.reply_text("Sure.")
    with InProcessRepl(env) as repl:
        repl.line("refactor the loader")
        repl.wait_for("Sure.")
        repl.line("/rename Mine")  # while the title is on its way
        server.title_gate.set()
        assert repl.exit() == 0
    [path] = lime_env.session_files()
    assert [(t["title"], t.get("auto")) for t in _titles(path)] == [("Mine", None)]
    assert len(server.title_calls) == 1

    # A session renamed before its first exchange is never asked about.
    server.title_calls.clear()
    server.title_gate = None
    server.reply_text("Fine.")
    with InProcessRepl(env) as repl:
        repl.line("/rename Chosen first")
        repl.line("hello")
        repl.wait_for("Fine.")
        assert repl.exit() == 0
    assert server.title_calls == []


def test_a_rename_after_the_automatic_title_overrides_it(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    env = _with_model(lime_env, server)
    server.title_reply = Reply(text="Loader refactoring")
    server.reply_text("Sure.")
    with InProcessRepl(env) as repl:
        repl.line("refactor the loader")
        repl.wait_for("Sure.")
        assert repl.exit() == 0
    [path] = lime_env.session_files()
    assert _titles(path)[0]["auto"] is True
    renamed = lime_env.run("-r", path.name[:8], input="/rename My loader work\n")
    assert renamed.returncode == 0, renamed.stderr
    assert _listed_title(lime_env) == "My loader work"
    assert [t.get("auto") for t in _titles(path)] == [True, None]


def test_titles_auto_false_and_print_and_line_mode_ask_for_none(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    env = _with_model(lime_env, server)
    server.title_reply = Reply(text="Never used")
    lime_env.home.mkdir(parents=True, exist_ok=True)
    config = lime_env.home / "config.toml"
    config.write_text("[titles]\nauto = false\n")
    server.reply_text("Off.")
    with InProcessRepl(env) as repl:
        repl.line("a question")
        repl.wait_for("Off.")
        assert repl.exit() == 0
    config.unlink()
    server.reply_text("Printed.").reply_text("Lined.")
    printed = lime_env.run("-p", "one question", extra_env=server.env("openai", "gpt-5.4"))
    assert printed.returncode == 0 and printed.stdout == b"Printed.\n", printed.stderr
    lined = lime_env.run(input="a line question\n", extra_env=server.env("openai", "gpt-5.4"))
    assert lined.returncode == 0 and b"Lined." in lined.stdout, lined.stderr
    assert server.title_calls == []
    assert all(_titles(path) == [] for path in lime_env.session_files())


def test_the_bridge_records_an_automatic_title_too(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.title_reply = Reply(text="Bridge naming")
    server.reply_text("Hello from the model.")
    client = BridgeClient(lime_env, extra_env=server.env("openai", "gpt-5.4"))
    try:
        sid = client.call("session.create")[0]["sessionId"]
        turn, _ = client.call("session.send", {"sessionId": sid, "text": "name this session"})
        assert turn["text"] == "Hello from the model."
        client.call("session.close", {"sessionId": sid})  # closing records the title on its way
    finally:
        status, stderr = client.finish()
    assert status == 0 and b"Traceback" not in stderr
    [path] = lime_env.session_files()
    assert [(t["title"], t["auto"]) for t in _titles(path)] == [("Bridge naming", True)]
    assert len(server.title_calls) == 1 and len(server.requests) == 1
