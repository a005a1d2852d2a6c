"""A real prompt-toolkit VT100 output drawn on an emulated screen (pyte), for the in-process REPL.

:class:`ScreenOutput` is what prompt-toolkit writes to a terminal (escape
sequences, colours, cursor moves) without a pseudo terminal: its ``output`` is
a ``Vt100_Output`` whose stream feeds a ``pyte.Screen``. Tests read the screen
(:attr:`text`, the attributes of its cells) and every byte written
(:attr:`written`).
"""

from __future__ import annotations

import threading
from typing import Any

import pyte
from prompt_toolkit.data_structures import Size
from prompt_toolkit.output.color_depth import ColorDepth
from prompt_toolkit.output.vt100 import Vt100_Output

__all__ = ["ScreenOutput"]


class _Stream:
    """The text stream prompt-toolkit writes to: it feeds the screen and keeps the bytes."""

    encoding = "utf-8"

    def __init__(self, owner: ScreenOutput) -> None:
        self.owner = owner

    def write(self, data: str) -> int:
        with self.owner.lock:
            self.owner.written += data
            self.owner.stream.feed(data)
        return len(data)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        raise OSError("not a real terminal")


class _Output(Vt100_Output):
    """A VT100 output that knows where the cursor is, as a terminal answering cursor-position requests
    would tell it (so the bottom toolbar is drawn without a CPR round trip on the input)."""

    owner: ScreenOutput

    def get_rows_below_cursor_position(self) -> int:
        with self.owner.lock:
            return self.owner.screen.lines - self.owner.screen.cursor.y


class ScreenOutput:
    """``rows`` x ``cols`` of emulated terminal; ``output`` is the prompt-toolkit output drawing on it."""

    def __init__(self, rows: int = 24, cols: int = 100, *, depth: ColorDepth = ColorDepth.DEPTH_8_BIT) -> None:
        self.lock = threading.Lock()
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.Stream(self.screen)
        self.written = ""
        output = _Output(
            _Stream(self), lambda: Size(rows=rows, columns=cols), term="xterm-256color", default_color_depth=depth,
            enable_cpr=False,
        )
        output.owner = self
        self.output: Any = output

    @property
    def text(self) -> str:
        with self.lock:
            return "\n".join(line.rstrip() for line in self.screen.display)

    def lines(self) -> list[str]:
        with self.lock:
            return [line.rstrip() for line in self.screen.display]
