"""One command registry and one runtime under every front end: the bridge's `/…` equals line mode's.

Session A is made in line mode (a model turn through the loopback provider,
then `!` commands), and B is `lime -r A --fork` of it, so both hold the same
entries (same ids, parents and timestamps). Each slash command then runs on
A through line mode (its own `lime -r A` process) and on B through the bridge
(`session.send` with the same text); the bridge's `lines` must equal line
mode's stdout and its `notices` line mode's stderr, once the two session ids
(and the two export file names, and the header-dependent file size) are
written as placeholders.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.bridge_client import BridgeClient
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv

from lime_repl.repl.table import plain_lines
from lime_repl.runtime.commands import Table


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def _entry_ids(path: Path) -> list[str]:
    return [str(json.loads(line).get("id")) for line in path.read_text().splitlines()[1:]]


def _same_ids(text: str, a_path: Path, b_path: Path) -> str:
    """``text`` (about B) with each of B's entry ids written as the id of A's entry at the same place."""
    for a_entry, b_entry in zip(_entry_ids(a_path), _entry_ids(b_path), strict=False):
        text = text.replace(b_entry, a_entry)
    return text


def _normalize(text: str, ids: list[str]) -> str:
    for sid in ids:
        text = text.replace(sid, "<SID>").replace(sid[:8], "<SID8>")
    text = re.sub(r"out-[ab]\.md", "out-X.md", text)
    text = re.sub(r"new session [0-9a-f]{8}", "new session <NEW>", text)
    return re.sub(r"holds      [\d,]+ bytes", "holds      N bytes", text)


def _line_mode(lime_env: LimeEnv, sid: str, command: str) -> tuple[int, list[str], list[str]]:
    done = lime_env.run("-r", sid, input=command + "\n")
    out = done.stdout.decode().splitlines()
    err = [line for line in done.stderr.decode().splitlines() if " saved — resume with: " not in line]
    return done.returncode, out, err


COMMANDS = [
    "/rename Compared title",
    "/label checkpoint",
    "/status",
    "/compact keep the echo",
    "/export md out-{x}.md",
    "/model",
    "/model gpt-5.4",
    "/tree",
    "/fork",
    "/fork 1",
    "/clone",
    "/memory",
    "/nonsense",
]


def test_bridge_slash_commands_equal_line_mode(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    lime_env.home.mkdir(parents=True, exist_ok=True)
    (lime_env.home / "config.toml").write_text("[compaction]\nkeep_recent_tokens = 1\n")
    (lime_env.cwd / "AGENTS.md").write_text("Be brief.\n")
    server.reply_text("The first answer, long enough to be worth a summary later on.")
    made = lime_env.run(
        input="please answer\n!echo one\n!echo two\n", extra_env=server.env("openai", "gpt-5.4")
    )
    assert made.returncode == 0, made.stderr
    [a_path] = lime_env.session_files()
    a_id = a_path.name.split(".")[0]
    forked = lime_env.run("-r", a_id[:8], "--fork")
    assert forked.returncode == 0, forked.stderr
    [b_path] = [p for p in lime_env.session_files() if p != a_path]
    b_id = b_path.name.split(".")[0]

    client = BridgeClient(lime_env)
    try:
        for command in COMMANDS:
            status, out, err = _line_mode(lime_env, a_id[:8], command.format(x="a"))
            client.call("session.resume", {"sessionId": b_id})
            before = _entry_ids(b_path)
            response, events = client.reply(
                client.request("session.send", {"sessionId": b_id, "text": command.format(x="b")})
            )
            if status == 0:
                assert "error" not in response, (command, response)
                result = response["result"]
                assert result["command"] == command.split()[0][1:]
                assert result["status"] == 0
                ids = [a_id, b_id]
                shown = result["lines"]
                if command == "/memory":  # the bridge returns the table as data: a size is a number
                    agents = [str(lime_env.cwd / "AGENTS.md"), len("Be brief.\n")]
                    assert result["table"] == {"columns": ["file", "bytes"], "rows": [agents]}
                    assert shown == []
                if "table" in result:  # tabular data, rendered here as line mode renders it
                    table = result["table"]
                    shown = shown + plain_lines(Table(table["columns"], table["rows"]))
                lines = _same_ids("\n".join(shown), a_path, b_path)
                notices = _same_ids("\n".join(result["notices"]), a_path, b_path)
                assert _normalize(lines, ids) == _normalize("\n".join(out), ids), command
                assert _normalize(notices, ids) == _normalize("\n".join(err), ids), command
                entry_events = [e["entry"]["id"] for e in events if e["kind"] == "entry"]
                assert entry_events == result["entryIds"], command
                if result["sessionId"] == b_id:  # every entry the command wrote was announced
                    assert entry_events == _entry_ids(b_path)[len(before) :], command
                if result["sessionId"] != b_id:  # /fork N and /clone continue in the new session
                    client.call("session.close", {"sessionId": result["sessionId"]})
                else:
                    client.call("session.close", {"sessionId": b_id})
            else:  # the same one-line error, with the exit code as the JSON-RPC code
                assert response["error"]["code"] == status, (command, response)
                assert err == [f"lime: {response['error']['message']}"], command
                client.call("session.close", {"sessionId": b_id})
        exported = [(lime_env.cwd / f"out-{x}.md").read_text() for x in "ab"]
        assert all("please answer" in text and "echo two" in text for text in exported)
    finally:
        client.kill()
    # Both sessions went through the same writes: the same entry types in the same order.
    kinds_a = [json.loads(line)["type"] for line in a_path.read_text().splitlines()]
    kinds_b = [json.loads(line)["type"] for line in b_path.read_text().splitlines()]
    assert kinds_a == kinds_b and kinds_a.count("compaction") == 1 and kinds_a.count("label") == 1
    # `/model gpt-5.4` runs with no OPENAI_API_KEY here: both front ends refuse the switch alike
    assert kinds_a.count("title") == 1 and kinds_a.count("model_change") == 1


def test_memory_reload_sends_the_new_prompt_now_and_after_resume(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    env = server.env("openai", "gpt-5.4")
    (lime_env.cwd / "AGENTS.md").write_text("Old rule: answer in French.\n")
    server.reply_text("d'accord")
    first = lime_env.run(input="hello\n", extra_env=env)
    assert first.returncode == 0, first.stderr
    assert "Old rule" in json.dumps(server.requests[-1])
    [path] = lime_env.session_files()
    sid = path.name[:8]

    (lime_env.cwd / "AGENTS.md").write_text("New rule: answer in Latin, always and everywhere.\n")
    listed = lime_env.run("-r", sid, input="/memory\n", extra_env=env)
    new_size = len("New rule: answer in Latin, always and everywhere.\n")
    assert listed.stdout.decode().splitlines()[1].split() == [str(lime_env.cwd / "AGENTS.md"), str(new_size)]

    server.reply_text("ita vero")
    reloaded = lime_env.run("-r", sid, input="/memory reload\nand now?\n", extra_env=env)
    assert reloaded.returncode == 0, reloaded.stderr
    assert "system prompt rebuilt from 1 memory file" in reloaded.stderr.decode()
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    [prompt] = [e for e in entries if e["type"] == "system_prompt"]
    assert "New rule: answer in Latin" in prompt["text"] and "Old rule" not in prompt["text"]
    sent = json.dumps(server.requests[-1])
    assert "New rule: answer in Latin" in sent and "Old rule" not in sent

    server.reply_text("semper")
    (lime_env.cwd / "AGENTS.md").write_text("A third rule that was never reloaded.\n")
    resumed = lime_env.run("-r", sid, input="once more\n", extra_env=env)
    assert resumed.returncode == 0, resumed.stderr
    sent = json.dumps(server.requests[-1])
    assert "New rule: answer in Latin" in sent and "third rule" not in sent


def test_memory_lists_the_files_after_a_fork(lime_env: LimeEnv) -> None:
    (lime_env.cwd / "AGENTS.md").write_text("Rule.\n")
    assert lime_env.run(input="!echo one\n").returncode == 0
    [path] = lime_env.session_files()
    done = lime_env.run("-r", path.name[:8], "--fork", input="/memory\n")
    assert done.returncode == 0, done.stderr
    agents = str(lime_env.cwd / "AGENTS.md")
    assert done.stdout.decode() == f"{'FILE':<{len(agents)}}  BYTES\n{agents}  {6:>5}\n"  # the table as text
