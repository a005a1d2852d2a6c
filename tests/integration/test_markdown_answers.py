"""Model answers on the terminal are Markdown rendered as they stream; piped or NO_COLOR, the text unchanged.

Real `lime` in a pseudo terminal rendered by pyte, talking to the loopback provider server.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pexpect
import pytest
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv
from support.screen import Screen

pytestmark = pytest.mark.pty

ANSWER = ["**bo", "ld** and a heading\n", "\n# Big ", "Title\n\nA `code` word and ", "*stress*.\n"]


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def _screen(lime_env: LimeEnv, server: FakeProviderServer, **env: str) -> Screen:
    full = dict(lime_env.env, **server.env("openai", "gpt-5.4"), **env)
    if "NO_COLOR" not in env:
        full.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sys.executable, ["-m", "lime_repl"], cwd=str(lime_env.cwd), env=full, dimensions=(40, 100), timeout=20
    )
    screen = Screen(child, rows=40, cols=100)
    screen.wait_prompt()
    return screen


def _row(screen: Screen, text: str) -> int:
    for y, line in enumerate(screen.screen.display):
        if text in line:
            return y
    raise AssertionError(f"{text!r} is not on the screen:\n{screen.text}")


def _bold(screen: Screen, text: str) -> list[bool]:
    y = _row(screen, text)
    x = screen.screen.display[y].index(text)
    return [screen.screen.buffer[y][x + i].bold for i in range(len(text))]


def test_streamed_answer_shows_bold_and_a_heading_without_markup(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_text(ANSWER)
    screen = _screen(lime_env, server)
    screen.send("hello\r")
    screen.wait_for("stress")
    screen.wait_prompt()
    assert "**" not in screen.text and "# Big" not in screen.text, screen.text
    assert all(_bold(screen, "bold")), "**bold** is shown in bold (SGR 1)"
    assert not any(_bold(screen, " and a heading")), "the rest of the line is not bold"
    assert all(_bold(screen, "Big Title")), "the heading is bold"
    screen.send("\x04")


def test_model_escapes_never_reach_the_terminal_while_rendering(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_text(["**safe**\x1b]0;pwned\x07 text\x1b[2J", " and\x1b[31m red\n"])
    screen = _screen(lime_env, server)
    screen.send("hello\r")
    screen.wait_for("red")
    screen.wait_prompt()
    assert "pwned" not in screen.screen.title and "hello" in screen.text, "no retitle, no clear screen"
    assert all(_bold(screen, "safe")) and not any(c.fg == "red" for c in screen.screen.buffer[_row(screen, "red")].values())


def test_long_paragraphs_wrap_at_spaces(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    words = " ".join(f"word{i:02d}" for i in range(60))
    server.reply_text([words[:150], words[150:] + "\n"])
    screen = _screen(lime_env, server)
    screen.send("hello\r")
    screen.wait_for("word59")
    rows = [line.rstrip() for line in screen.screen.display if "word" in line]
    assert len(rows) > 1 and all(r.split()[-1].startswith("word") and len(r.split()[-1]) == 6 for r in rows), rows


def test_no_color_shows_the_text_as_sent(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_text(ANSWER)
    screen = _screen(lime_env, server, NO_COLOR="1")
    screen.send("hello\r")
    screen.wait_for("stress")
    screen.wait_prompt()
    assert "**bold** and a heading" in screen.text and "# Big Title" in screen.text
    assert not any(_bold(screen, "bold")), "no SGR attributes with NO_COLOR"


def test_line_mode_prints_the_answer_unchanged(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_text(ANSWER)
    result = lime_env.run(input="hello\n", extra_env={**server.env("openai", "gpt-5.4"), "NO_COLOR": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "".join(ANSWER).encode()
