"""The picker's first screen, drawn before prompt-toolkit is imported (``lime -r`` with no value).

Importing prompt-toolkit (with asyncio and wcwidth) takes longer than
listing 2,000 sessions, so ``lime -r`` draws the picker's first screen
itself as soon as the sessions are listed: the same lines the picker's
layout shows before any key (header, search line, column titles, the
first rows with the top one selected, status and help line), in bold and
reverse video only (no colours), on the alternate screen. prompt-toolkit
then starts and redraws the whole screen in colour.

While the frame is up the terminal neither echoes nor waits for a whole
line (``ECHO`` and ``ICANON`` off, :mod:`termios`), so keys typed early
stay queued for the picker instead of appearing on the screen;
:meth:`FirstFrame.close` puts the terminal's modes back as they were and,
when the picker never started, leaves the alternate screen. Only for a
real terminal (stdin and stdout ``isatty``, ``TERM`` set and not ``dumb``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from ..views.listing import cut, text_width

__all__ = ["FirstFrame", "frame_lines"]

#: (style, text) pairs (or with a third item, a mouse handler), as prompt-toolkit's formatted text.
Fragments = Sequence[tuple[Any, ...]]
_ENTER, _LEAVE = "\x1b[?1049h", "\x1b[?1049l"  # the alternate screen (xterm)


def _sgr(style: str, classes: dict[str, str]) -> str:
    """The bold and reverse parts of a prompt-toolkit ``style`` (``class:x`` looked up in ``classes``)."""
    words = []
    for word in style.split():
        words.extend(classes.get(word[6:], "").split() if word.startswith("class:") else [word])
    codes = [code for name, code in (("bold", "1"), ("reverse", "7")) if name in words]
    return f"\x1b[{';'.join(codes)}m" if codes else ""


def frame_lines(parts: Sequence[Fragments], classes: dict[str, str], width: int) -> list[str]:
    """``parts`` (each the fragments of one window, lines split at ``\\n``) as terminal lines of at most
    ``width`` columns, with SGR codes for bold and reverse; a window with no text gives one empty line."""
    lines: list[str] = []
    for fragments in parts:
        current: list[str] = []
        used = 0
        window: list[str] = []
        for style, text, *_handler in fragments:
            for i, piece in enumerate(text.split("\n")):
                if i:
                    window.append("".join(current))
                    current, used = [], 0
                if not piece or used >= width:
                    continue
                if text_width(piece) > width - used:
                    piece = cut(piece, width - used)  # as the picker's windows clip a long line
                used += text_width(piece)
                sgr = _sgr(style, classes)
                current.append(f"{sgr}{piece}\x1b[0m" if sgr else piece)
        if current or not window:
            window.append("".join(current))
        lines.extend(window)
    return lines


class FirstFrame:
    """The terminal while the first frame is up: its size, its saved modes; :meth:`close` restores them."""

    def __init__(self, fd_in: int, fd_out: int, saved: list[Any], rows: int, columns: int) -> None:
        self.fd_in, self.fd_out, self._saved = fd_in, fd_out, saved
        self.rows, self.columns = rows, columns
        self.handed_over = False  # set when prompt-toolkit takes the screen (it leaves the alternate screen)

    @classmethod
    def open(cls) -> FirstFrame | None:
        """Quiet the terminal (no echo, no line mode) and return the frame; None when not on a terminal."""
        if os.environ.get("TERM", "dumb") == "dumb":
            return None
        try:
            import termios

            fd_in, fd_out = 0, 1
            if not (os.isatty(fd_in) and os.isatty(fd_out)):
                return None
            size = os.get_terminal_size(fd_out)
            saved = termios.tcgetattr(fd_in)
            quiet = list(saved)
            quiet[3] &= ~(termios.ECHO | termios.ICANON)
            termios.tcsetattr(fd_in, termios.TCSANOW, quiet)
        except (ImportError, OSError):
            return None
        return cls(fd_in, fd_out, saved, size.lines, size.columns)

    def draw(self, lines: list[str], cursor: tuple[int, int]) -> None:
        """Show ``lines`` (at most :attr:`rows`) on the alternate screen, the cursor at ``(row, column)``."""
        out = [_ENTER, "\x1b[H\x1b[2J"]
        out.extend(f"\x1b[{row + 1};1H{line}" for row, line in enumerate(lines[: self.rows]))
        out.append(f"\x1b[{cursor[0] + 1};{cursor[1] + 1}H")
        try:
            os.write(self.fd_out, "".join(out).encode("utf-8", "replace"))
        except OSError:
            pass

    def close(self) -> None:
        """Put the terminal's modes back; leave the alternate screen unless prompt-toolkit did."""
        import termios

        try:
            if not self.handed_over:
                os.write(self.fd_out, _LEAVE.encode())
            termios.tcsetattr(self.fd_in, termios.TCSANOW, self._saved)
        except OSError:
            pass


def show_first_frame(build: Callable[[int, int], tuple[list[str], tuple[int, int]]]) -> FirstFrame | None:
    """Open a :class:`FirstFrame` and draw ``build(rows, columns)`` (its lines and cursor); None if not a terminal."""
    frame = FirstFrame.open()
    if frame is not None:
        lines, cursor = build(frame.rows, frame.columns)
        frame.draw(lines, cursor)
    return frame
