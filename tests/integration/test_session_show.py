"""`lime session show` names tool calls and shows their results (a real session made through the loopback model)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def test_session_show_prints_tool_names_inputs_and_result_lines(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    server.reply_tool_call("bash", {"command": "seq 9"})
    server.reply_tool_call("read", {"path": "missing.txt"}, text="Now the file.")
    server.reply_text("Nine lines, and no file.")
    made = lime_env.run(
        "--yolo", input="count to nine\n!echo \x1b[31mred\n", extra_env=server.env("openai", "gpt-5.4")
    )
    assert made.returncode == 0, made.stderr
    [path] = lime_env.session_files()
    shown = lime_env.run("session", "show", path.name[:8])
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.decode().splitlines()
    body = lines[lines.index("") + 1 :]
    assert body == [
        "[model] openai/gpt-5.4",
        "user: count to nine",
        "[tool] bash: seq 9",
        "[result bash] 1",
        "  2",
        "  3",
        "  4",
        "  5",
        "  (+4 lines)",
        "assistant: Now the file.",
        "[tool] read: missing.txt",
        body[11],
        "assistant: Nine lines, and no file.",
        "$ echo red",
        "red",
    ], "\n".join(body)
    assert body[11].startswith("[result read, error] ") and "missing.txt" in body[11]
    assert b"\x1b" not in shown.stdout
