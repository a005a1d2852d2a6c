"""First-hour fixes of the command line and the slash commands, driven through the real `lime`:
piped stdin in print mode, ``-r ''``, ``/resume ID --fork``, unknown-command hints and ``/help`` wrapping."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def _user_text(body: dict) -> str:
    """The newest user message of an OpenAI chat request, as text."""
    message = body["messages"][-1]
    assert message["role"] == "user"
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return str(content)


# -- -p and stdin ---------------------------------------------------------------
def test_print_mode_appends_piped_stdin_after_a_blank_line(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_text("It is a table of two rows.")
    result = lime_env.run(
        "-p", "explain", input="col1,col2\nDATA-4711,ok\n", extra_env=server.env("openai", "gpt-5.4")
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"It is a table of two rows.\n"
    [request] = server.requests
    assert _user_text(request) == "explain\n\ncol1,col2\nDATA-4711,ok"


def test_print_mode_dash_reads_the_prompt_from_stdin(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_text("Hello.")
    result = lime_env.run("-p", "-", input="say hello to DATA-0815\n", extra_env=server.env("openai", "gpt-5.4"))
    assert result.returncode == 0, result.stderr
    [request] = server.requests
    assert _user_text(request) == "say hello to DATA-0815"


def test_print_mode_without_stdin_sends_the_prompt_alone(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_text("Fine.")
    result = lime_env.run("-p", "just this", extra_env=server.env("openai", "gpt-5.4"))
    assert result.returncode == 0, result.stderr
    assert _user_text(server.requests[0]) == "just this"


def test_print_mode_dash_with_empty_stdin_is_a_usage_error(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    result = lime_env.run("-p", "-", input="", extra_env=server.env("openai", "gpt-5.4"))
    assert result.returncode == 2
    assert result.stderr.decode().count("\n") == 1 and b"stdin" in result.stderr
    assert server.requests == []
    assert lime_env.session_files() == []


# -- -r '' ----------------------------------------------------------------------
@pytest.mark.parametrize("value", ["", "  "])
def test_resume_with_an_empty_id_is_a_usage_error(lime_env: LimeEnv, value: str) -> None:
    result = lime_env.run("-r", value, input="!echo should-not-run\n")
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert stderr.count("\n") == 1 and stderr.startswith("lime: ") and "Traceback" not in stderr
    assert b"should-not-run" not in result.stdout
    assert lime_env.session_files() == []


# -- /resume ID --fork ----------------------------------------------------------
def _header(path) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(path.read_text().splitlines()[0])


def test_resume_fork_in_line_mode_continues_in_a_copy(lime_env: LimeEnv) -> None:
    assert lime_env.run(input="!echo first-run\n").returncode == 0
    [source] = lime_env.session_files()
    source_id = _header(source)["sessionId"]
    before = source.read_bytes()
    result = lime_env.run(input=f"/resume {source_id[:8]} --fork\n/status\n!echo in-the-copy\n")
    assert result.returncode == 0, result.stderr
    status_id = re.search(rb"^session +([0-9a-f]{32})$", result.stdout, re.M)
    assert status_id is not None, result.stdout
    new_id = status_id.group(1).decode()
    assert new_id != source_id
    assert f"forked {source_id[:8]} into new session {new_id[:8]}".encode() in result.stderr
    assert source.read_bytes() == before
    [copy] = [p for p in lime_env.session_files() if _header(p)["sessionId"] == new_id]
    assert _header(copy)["forkedFrom"]["sessionId"] == source_id
    assert "in-the-copy" in copy.read_text() and "first-run" in copy.read_text()


def test_resume_fork_without_an_id_is_a_usage_error(lime_env: LimeEnv) -> None:
    result = lime_env.run(input="/resume --fork\n")
    assert result.returncode == 2
    assert result.stderr.decode().strip().splitlines()[-1] == "lime: usage: /resume ID --fork"


# -- unknown commands -----------------------------------------------------------
def test_unknown_command_suggests_the_closest_name(lime_env: LimeEnv) -> None:
    result = lime_env.run(input="/reume\n")
    assert result.returncode == 2
    assert b"lime: unknown command /reume; did you mean /resume?\n" in result.stderr
    result = lime_env.run(input="/stauts\n")
    assert b"did you mean /status?" in result.stderr


def test_unknown_command_far_from_any_name_points_to_help(lime_env: LimeEnv) -> None:
    result = lime_env.run(input="/qqqqzz\n")
    assert result.returncode == 2
    assert b"lime: unknown command /qqqqzz; /help lists the commands\n" in result.stderr


# -- /help wrapping -------------------------------------------------------------
@pytest.mark.parametrize("columns", [80, 120, 50])
def test_help_wraps_at_word_boundaries_to_the_width(lime_env: LimeEnv, columns: int) -> None:
    wide = lime_env.run(input="/help\n", extra_env={"COLUMNS": "1000"})
    result = lime_env.run(input="/help\n", extra_env={"COLUMNS": str(columns)})
    assert result.returncode == 0 and wide.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert len(lines) > len(wide.stdout.decode().splitlines())  # it did wrap
    assert all(len(line) <= columns for line in lines), [line for line in lines if len(line) > columns]
    # no word split: the same words, in the same order, as the unwrapped listing
    assert result.stdout.decode().split() == wide.stdout.decode().split()
    # a hanging indent: continuation lines of a description start under the description
    # a hanging indent: every continuation of a description starts in the column where descriptions start
    columns_of_descriptions = {m.start(1) for line in lines if (m := re.match(r"^  /\S+(?: \S+)*  +(\S)", line))}
    first_entry = next(i for i, line in enumerate(lines) if line.startswith("  /"))
    continued = [line for line in lines[first_entry:] if not re.match(r"^  /", line)]
    assert continued, lines
    assert {len(line) - len(line.lstrip()) for line in continued} <= columns_of_descriptions | {4, 6}  # 4: a wrapped usage
    assert len(columns_of_descriptions) == 1, columns_of_descriptions
