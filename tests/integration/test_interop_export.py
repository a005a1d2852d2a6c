"""Exports other tools resume: lime -> pi / Claude Code / Codex -> lime, from sessions real lime runs wrote."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.exchange_helpers import Summary, summarize
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv

from lime_repl.store.session import Session

SCRIPT = "!echo from-shell; echo to-stderr >&2\nlist the missing directory\n!false\nwhat is in notes.txt?\n"


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def _real_session(lime_env: LimeEnv, server: FakeProviderServer, provider: str) -> Path:
    """A session written by a real lime: two ``!`` commands, a failing and a passing tool call, reasoning."""
    server.reply_tool_call(
        "bash", {"command": "ls /definitely-missing"}, usage={"input_tokens": 50, "output_tokens": 5}
    )
    server.reply_text("That directory does not exist.")
    server.reply_tool_call(
        "read", {"path": "notes.txt"}, reasoning="I should read it", reasoning_state="sig-1=="
    )
    server.reply_text("It says hello.", reasoning="done reading", reasoning_state="sig-2==")
    (lime_env.cwd / "notes.txt").write_text("hello\n")
    result = lime_env.run("--yolo", input=SCRIPT, extra_env=server.env(provider, "model-x"))
    assert result.returncode == 0, result.stderr
    [path] = lime_env.session_files()
    return path


def _export(lime_env: LimeEnv, session: Path, fmt: str) -> Path:
    out = lime_env.cwd / f"out.{fmt}.jsonl"
    result = lime_env.run("export", session.name[:8], "--format", fmt, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == str(out)
    return out


def _import(lime_env: LimeEnv, source: Path) -> Session:
    before = set(lime_env.session_files())
    result = lime_env.run("import", str(source))
    assert result.returncode == 0, result.stderr
    [new] = set(lime_env.session_files()) - before
    assert result.stdout.decode().strip() == new.name.split(".")[0]
    return Session.load(new)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _same(a: Summary, b: Summary) -> None:
    assert (a.user, a.assistant, a.shell) == (b.user, b.assistant, b.shell)
    assert a.tool_uses == b.tool_uses
    assert a.tool_results == b.tool_results
    assert a.first_user == b.first_user


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_lime_pi_lime_keeps_every_message_call_and_result(
    lime_env: LimeEnv, server: FakeProviderServer, provider: str
) -> None:
    source = _real_session(lime_env, server, provider)
    original = Session.load(source)
    want = summarize(original)
    assert want.shell == 2 and len(want.tool_uses) == 2 and set(want.tool_results.values()) == {True, False}
    out = _export(lime_env, source, "pi")
    lines = _lines(out)
    header = lines[0]
    # pi's own check (session-manager.ts isValidSessionFile/loadEntriesFromFile): type "session", string id;
    # version 3 means pi runs no migration; no sessionId, so lime reads it as pi's, not as its own log.
    assert header["type"] == "session" and isinstance(header["id"], str) and header["version"] == 3
    assert "sessionId" not in header and header["cwd"] == str(lime_env.cwd)
    messages = [e["message"] for e in lines if e["type"] == "message"]
    roles = [m["role"] for m in messages]
    assert roles.count("bashExecution") == 2 and roles.count("toolResult") == 2
    bash = [m for m in messages if m["role"] == "bashExecution"]
    assert bash[0]["command"].startswith("echo from-shell") and "from-shell" in bash[0]["output"]
    assert "to-stderr" in bash[0]["output"] and bash[1]["exitCode"] == 1
    assistants = [m for m in messages if m["role"] == "assistant"]
    assert all({"api", "provider", "model", "usage", "stopReason"} <= set(m) for m in assistants)
    assert {m["stopReason"] for m in assistants} == {"toolUse", "stop"}
    calls = [b for m in assistants for b in m["content"] if b["type"] == "toolCall"]
    assert {c["name"] for c in calls} == {"bash", "read"} and all(
        isinstance(c["arguments"], dict) for c in calls
    )
    results = {m["toolCallId"]: m for m in messages if m["role"] == "toolResult"}
    assert {r["toolName"] for r in results.values()} == {"bash", "read"}
    if provider == "anthropic":
        thinking = [b for m in assistants for b in m["content"] if b["type"] == "thinking"]
        assert {b.get("thinkingSignature") for b in thinking} == {"sig-1==", "sig-2=="}
    # the leaf is the last line: its parent chain reaches every message of lime's branch
    by_id = {e["id"]: e for e in lines[1:]}
    chain, node = [], lines[-1]["id"]
    while node is not None:
        chain.append(node)
        node = by_id[node]["parentId"]
    assert set(chain) >= {e["id"] for e in lines[1:] if e["type"] == "message"}
    back = _import(lime_env, out)
    assert back.header["importedFrom"]["tool"] == "pi"
    _same(summarize(back), want)


@pytest.mark.parametrize("provider", ["anthropic", "openai-responses"])
def test_lime_claude_lime_keeps_every_message_call_and_result(
    lime_env: LimeEnv, server: FakeProviderServer, provider: str
) -> None:
    source = _real_session(lime_env, server, provider)
    want = summarize(Session.load(source))
    out = _export(lime_env, source, "claude")
    records = _lines(out)
    convo = [r for r in records if r["type"] in ("user", "assistant")]
    keys = {"type", "uuid", "parentUuid", "sessionId", "cwd", "version", "timestamp", "message"}
    assert all(keys <= set(r) for r in convo)
    assert len({r["sessionId"] for r in convo}) == 1 and convo[0]["parentUuid"] is None
    uuids = {r["uuid"] for r in convo}
    assert all(r["parentUuid"] in uuids for r in convo[1:])
    assert convo[0]["message"]["content"].startswith("<bash-input>echo from-shell")
    thinking = [
        b
        for r in convo
        if r["type"] == "assistant"
        for b in r["message"]["content"]
        if b["type"] == "thinking"
    ]
    if provider == "anthropic":
        assert {b["signature"] for b in thinking} == {"sig-1==", "sig-2=="}
    else:  # OpenAI reasoning is not replayable by Anthropic: it is kept as text
        assert thinking == []
        texts = [
            b["text"]
            for r in convo
            if r["type"] == "assistant"
            for b in r["message"]["content"]
            if b["type"] == "text"
        ]
        assert "I should read it" in texts
    results = [r for r in convo if "toolUseResult" in r]
    assert len(results) == 2
    back = _import(lime_env, out)
    assert back.header["importedFrom"]["tool"] == "claude-code"
    _same(summarize(back), want)


def test_codex_export_reimports_with_the_same_counts(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    source = _real_session(lime_env, server, "openai-responses")
    want = summarize(Session.load(source))
    out = _export(lime_env, source, "codex")
    lines = _lines(out)
    assert lines[0]["type"] == "session_meta" and lines[0]["payload"]["cwd"] == str(lime_env.cwd)
    kinds = {(line["type"], line["payload"].get("type")) for line in lines}
    assert {
        ("turn_context", None),
        ("event_msg", "user_message"),
        ("response_item", "function_call"),
    } <= kinds
    prompts = [line["payload"]["message"] for line in lines if line["payload"].get("type") == "user_message"]
    assert prompts == ["list the missing directory", "what is in notes.txt?"]
    failed = [line["payload"] for line in lines if line["payload"].get("type") == "exec_command_end"]
    assert [f["status"] for f in failed] == ["failed"]
    back = summarize(_import(lime_env, out))
    # Codex has no record for a command the user ran: each `!` exchange is one user message there.
    assert back.user == want.user + want.shell
    assert back.assistant >= want.assistant and back.tool_uses == want.tool_uses
    assert set(back.tool_results) == set(want.tool_results)


def test_install_places_each_format_where_its_tool_looks(
    lime_env: LimeEnv, server: FakeProviderServer, tmp_path: Path
) -> None:
    source = _real_session(lime_env, server, "anthropic")
    home = tmp_path / "home"
    env = {"HOME": str(home)}
    cwd = str(lime_env.cwd)
    uuid = json.loads(_export(lime_env, source, "pi").read_text().splitlines()[0])["id"]
    expected = {
        "pi": home / ".pi/agent/sessions" / f"--{cwd.lstrip('/').replace('/', '-')}--",
        "claude": home / ".claude/projects" / "".join(c if c.isalnum() else "-" for c in cwd),
        "codex": home / ".codex/sessions",
    }
    commands = {"pi": "pi --session ", "claude": f"claude --resume {uuid}", "codex": f"codex resume {uuid}"}
    for fmt, folder in expected.items():
        result = lime_env.run("export", "latest", "--format", fmt, "--install", extra_env=env)
        assert result.returncode == 0, result.stderr
        path = Path(result.stdout.decode().strip())
        assert path.is_file() and folder in path.parents and uuid in path.name
        assert commands[fmt] in result.stderr.decode()
        again = lime_env.run("export", "latest", "--format", fmt, "--install", extra_env=env)
        assert again.returncode == 0 and Path(again.stdout.decode().strip()) == path
    codex_day = next((home / ".codex/sessions").glob("*/*/*"))
    assert len(codex_day.relative_to(home / ".codex/sessions").parts) == 3
    # the tools' own overrides win over HOME
    override = {"HOME": str(home), "CLAUDE_CONFIG_DIR": str(tmp_path / "claude-cfg")}
    result = lime_env.run("export", "latest", "--format", "claude", "--install", extra_env=override)
    assert (tmp_path / "claude-cfg/projects") in Path(result.stdout.decode().strip()).parents
    # a copy the other tool continued is not overwritten
    installed = Path(
        lime_env.run("export", "latest", "--format", "pi", "--install", extra_env=env).stdout.decode().strip()
    )
    installed.write_text(installed.read_text().replace("It says hello.", "changed there"))
    refused = lime_env.run("export", "latest", "--format", "pi", "--install", extra_env=env)
    assert refused.returncode == 2 and "changed there" in installed.read_text()
    assert refused.stderr.decode().count("\n") == 1
    bad = lime_env.run("export", "latest", "--format", "md", "--install", extra_env=env)
    assert bad.returncode == 2 and b"Traceback" not in bad.stderr


CODEX = Path(__file__).resolve().parent.parent / "data/foreign/codex"


def _say(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 0, result.stderr
    return result.stderr.decode()


def test_reimport_updates_the_session_imported_from_the_same_file(lime_env: LimeEnv, tmp_path: Path) -> None:
    full = (CODEX / "rollout-2026-02-23T20-34-25-019c8bfe-ec25-79e0-97d7-bda6a9c575ff.jsonl").read_bytes()
    lines = full.splitlines(keepends=True)
    source = tmp_path / "rollout.jsonl"
    source.write_bytes(b"".join(lines[: len(lines) // 2]))
    first = lime_env.run("import", str(source))
    short = first.stdout.decode().strip()[:8]
    assert f"as {short}" in _say(first)
    again = _say(lime_env.run("import", str(source)))
    assert f"already imported as {short}" in again and len(lime_env.session_files()) == 1
    before = len(Session.load(lime_env.session_files()[0]).entries)
    source.write_bytes(full)  # Codex kept writing
    grown = _say(lime_env.run("import", str(source)))
    [path] = lime_env.session_files()
    updated = Session.load(path)
    added = len(updated.entries) - before
    assert added > 0 and f"added {added} entries to {short}" in grown
    # the same as importing the whole file at once
    other = lime_env.run("import", str(source), extra_env={"LIME_HOME": str(tmp_path / "other-home")})
    [fresh_path] = (tmp_path / "other-home").glob("sessions/*/*.jsonl")
    fresh = Session.load(fresh_path)
    assert other.returncode == 0 and summarize(updated) == summarize(fresh)
    assert [e["type"] for e in updated.branch()] == [e["type"] for e in fresh.branch()]
    assert _say(lime_env.run("import", str(source))).startswith(f"lime: already imported as {short}")


def test_resume_of_a_foreign_file_imports_it_and_never_writes_to_it(
    lime_env: LimeEnv, server: FakeProviderServer, tmp_path: Path
) -> None:
    source = _real_session(lime_env, server, "anthropic")
    claude_log = tmp_path / "projects" / "9d1c2e6a-0000-4000-8000-000000000000.jsonl"
    claude_log.parent.mkdir()
    claude_log.write_bytes(_export(lime_env, source, "claude").read_bytes())
    original = claude_log.read_bytes()
    before = set(lime_env.session_files())
    result = lime_env.run("-r", str(claude_log), input="!echo after-resume\n")
    err = _say(result)
    assert b"after-resume" in result.stdout
    assert claude_log.read_bytes() == original
    assert sorted(p.name for p in claude_log.parent.iterdir()) == [claude_log.name]
    [imported] = set(lime_env.session_files()) - before
    short = imported.name[:8]
    assert f"session {short} saved — resume with: lime -r {short}" in err
    assert "after-resume" in imported.read_text()
    again = lime_env.run("-r", short, input="!echo once-more\n")
    assert b"once-more" in again.stdout and len(lime_env.session_files()) == len(before) + 1
    # the same file again: the same imported copy, still no second one
    third = _say(lime_env.run("-r", str(claude_log), input="!true\n"))
    assert f"already imported: claude-code session {claude_log.name} is lime session {short}" in third
    assert len(lime_env.session_files()) == len(before) + 1 and claude_log.read_bytes() == original
