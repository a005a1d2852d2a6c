"""The prompt and the screen: input colours readable on dark and light terminals, none with ``NO_COLOR`` or
``TERM=dumb``, and the continuation prompt of a multi-line message. The real REPL runs in process on
prompt-toolkit pipe input and draws with a real VT100 output on an emulated screen (pyte)."""

from __future__ import annotations

import re
import time

import pytest
from support.inprocess import InProcessRepl
from support.lime_env import LimeEnv
from support.vt_output import ScreenOutput

from lime_repl.repl.console import wants_color

ESC_ENTER = "\x1b\r"
SGR = re.compile(r"\x1b\[([0-9;]*)m")


class _Terminal:
    """A stream that says it is a terminal (what ``wants_color`` asks of stdout)."""

    def isatty(self) -> bool:
        return True


def _wait_screen(screen: ScreenOutput, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in screen.text:
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never appeared; the screen shows:\n{screen.text}")
        time.sleep(0.01)


def _colours(written: str) -> set[str]:
    """The colour parameters of every SGR sequence written (30-49 and 90-107, with 38;5;N and 48;5;N whole)."""
    found: set[str] = set()
    for params in SGR.findall(written):
        parts = params.split(";")
        i = 0
        while i < len(parts):
            part = parts[i]
            if part in ("38", "48"):
                found.add(";".join(parts[i : i + (3 if parts[i + 1 : i + 2] == ["5"] else 5)]))
                i += 3 if parts[i + 1 : i + 2] == ["5"] else 5
                continue
            if part.isdigit() and (30 <= int(part) <= 49 or 90 <= int(part) <= 107):
                found.add(part)
            i += 1
    return found


def _cells(screen: ScreenOutput, text: str) -> list:
    """The pyte cells of the first occurrence of ``text`` on the screen."""
    for y, line in enumerate(screen.screen.display):
        x = line.find(text)
        if x >= 0:
            row = screen.screen.buffer[y]
            return [row[x + i] for i in range(len(text))]
    raise AssertionError(f"{text!r} is not on the screen:\n{screen.text}")


def test_bash_variables_use_ansi_palette_colours_readable_on_any_background(lime_env: LimeEnv) -> None:
    lime_env.env.pop("NO_COLOR")
    assert wants_color(_Terminal(), lime_env.env)  # type: ignore[arg-type]
    screen = ScreenOutput(10, 100)
    with InProcessRepl(lime_env, output=screen.output, color=True) as repl:
        repl.send("!echo $HOME 'quoted'")
        _wait_screen(screen, "lime> !echo $HOME 'quoted'")
        variable = _cells(screen, "$HOME")
        assert {cell.fg for cell in variable} == {"magenta"}, variable
        assert {cell.fg for cell in _cells(screen, "'quoted'")} == {"green"}
        assert all(cell.fg == "cyan" for cell in _cells(screen, "echo"))
        repl.send("\x15")  # Ctrl-U: clear the line
        repl.send("/status")
        _wait_screen(screen, "lime> /status")
        assert all(cell.bold and cell.fg == "cyan" for cell in _cells(screen, "/status"))
        repl.send("\x15")
        assert repl.exit() == 0
    colours = _colours(screen.written)
    assert "38;5;18" not in colours and not any(c.startswith(("38;2", "48;2")) for c in colours)
    # Text colours only from the 16 ANSI ones the terminal theme picks (the toolbar's own grey aside).
    assert {c for c in colours if not c.startswith(("38;5", "48;5"))} <= {"35", "32", "36", "39", "49"}, colours


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TERM": "dumb"}])
def test_no_color_and_dumb_terminal_write_no_colour_at_all(lime_env: LimeEnv, env: dict[str, str]) -> None:
    lime_env.env.pop("NO_COLOR")
    lime_env.env.update(env)
    color = wants_color(_Terminal(), lime_env.env)  # type: ignore[arg-type]
    assert color is False
    screen = ScreenOutput(10, 100)
    with InProcessRepl(lime_env, output=screen.output, color=color) as repl:
        repl.send("!echo $HOME 'quoted'")
        _wait_screen(screen, "lime> !echo $HOME 'quoted'")
        repl.send("\r")
        repl.wait_lines(1)
        assert repl.exit() == 0
    assert SGR.search(screen.written), "the screen was drawn with attributes (bold) at least"
    assert _colours(screen.written) == set(), screen.written


def test_multi_line_input_has_a_continuation_prompt(lime_env: LimeEnv) -> None:
    screen = ScreenOutput(10, 100)
    with InProcessRepl(lime_env, output=screen.output) as repl:
        repl.send("first line" + ESC_ENTER + "second line" + ESC_ENTER + "third")
        _wait_screen(screen, "third")
        lines = screen.lines()
        at = lines.index("lime> first line")
        assert lines[at + 1 : at + 3] == ["  ... second line", "  ... third"], screen.text
        assert len("  ... ") == len("lime> ")  # in the prompt's width
        repl.send("\x03")  # Ctrl-C drops the draft
        assert repl.exit() == 0
