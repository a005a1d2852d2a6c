"""A :class:`tests.support.screen.Screen` whose emulator keeps the alternate screen apart (pyte does not).

``CSI ? 1049 h`` (and 1047, 47) saves the main screen's cells and cursor and
clears; ``CSI ? 1049 l`` brings them back, as xterm does. :attr:`AltScreen.alternate`
says which screen is shown.
"""

from __future__ import annotations

import copy

import pexpect
import pyte

from .screen import Screen

__all__ = ["AltScreen"]

_ALT = {1049, 1047, 47}


class _PyteAltScreen(pyte.Screen):
    alternate = False
    _saved: tuple | None = None

    def select_graphic_rendition(self, *attrs: int, private: bool = False) -> None:
        if not private:  # CSI > 4 ; 2 m (xterm's modifyOtherKeys) is not a rendition
            super().select_graphic_rendition(*attrs)

    def set_mode(self, *modes: int, **kwargs: object) -> None:
        if kwargs.get("private") and _ALT & set(modes) and not self.alternate:
            self.alternate = True
            self._saved = ({y: dict(line) for y, line in self.buffer.items()}, copy.copy(self.cursor))
            self.erase_in_display(2)
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: object) -> None:
        if kwargs.get("private") and _ALT & set(modes) and self.alternate:
            self.alternate = False
            buffer, cursor = self._saved or ({}, self.cursor)
            self.buffer.clear()
            for y, line in buffer.items():
                self.buffer[y].update(line)
            self.cursor = cursor
            self.dirty.update(range(self.lines))
        super().reset_mode(*modes, **kwargs)


class AltScreen(Screen):
    """The emulated screen of ``child``, with an alternate screen."""

    def __init__(self, child: pexpect.spawn, rows: int = 24, cols: int = 80) -> None:
        super().__init__(child, rows, cols)
        self.screen = _PyteAltScreen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)

    @property
    def alternate(self) -> bool:
        return self.screen.alternate

    def resize(self, rows: int, cols: int) -> None:
        """Resize the emulated screen and the child's pty (the child gets SIGWINCH)."""
        self.screen.resize(rows, cols)
        self.child.setwinsize(rows, cols)
