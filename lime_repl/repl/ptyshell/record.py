r"""What one ``!`` command's terminal output leaves in the log (DESIGN.md section 4; issue "The ``!`` shell is a real terminal").

A :class:`StreamRecorder` follows one stream (stdout or stderr) as it is
copied to the real terminal:

* every byte goes into a :class:`~lime_repl.store.capping.HeadTailBuffer`
  (head and tail kept, DESIGN.md section 3);
* the stream is scanned for the private modes a full-screen program sets
  (``CSI ? 1049 h``, ``1047``, ``47``: the alternate screen; ``25``: the
  cursor; ``1000``-``1006``: mouse reporting; ``2004``: bracketed paste) and
  for a scroll region (``CSI top ; bottom r``), so that :func:`restore_sequence`
  undoes exactly what the program left set;
* from the moment the alternate screen is entered, a headless terminal
  emulator (``pyte``, imported only then) of the terminal's size follows the
  stream; when the alternate screen is left (or the command ends in it) its
  display is kept as the *final screen*.

:meth:`StreamRecorder.recorded` is then the text for the log: the final
screen rendered as text for an exchange that used the alternate screen
(``interactive``), else the stream cleaned by
:func:`lime_repl.context.clean.clean_output` (no ANSI sequences, carriage-return
overwrites collapsed, CRLF line ends as newlines).
"""

from __future__ import annotations

import re
from typing import Any

from ...context.clean import clean_output
from ...outputs.capping import DEFAULT_LIMIT, HeadTailBuffer

__all__ = ["StreamRecorder", "restore_sequence"]

# CSI ? Pm h|l (DEC private modes) and CSI Pt ; Pb r (DECSTBM, the scroll region).
_MODE = re.compile(rb"\x1b\[\?([0-9;]+)([hl])|\x1b\[([0-9]*;?[0-9]*)r")
_ALT_MODES = {b"1049", b"1047", b"47"}
_MOUSE_MODES = (b"1000", b"1002", b"1003", b"1005", b"1006", b"1015")
_KEEP = 16  # bytes of the previous chunk rescanned: a sequence split across reads


class StreamRecorder:
    """Capped copy, mode tracking and alternate-screen snapshot of one output stream.

    Args:
        limit: bytes kept at the head and at the tail (:class:`HeadTailBuffer`).
        size: ``(rows, columns)`` of the terminal, for the emulated screen.
    """

    def __init__(self, limit: int = DEFAULT_LIMIT, size: tuple[int, int] = (24, 80)) -> None:
        self.buffer = HeadTailBuffer(limit)
        self.size = size
        self.used_alternate_screen = False
        self.in_alternate_screen = False
        self.cursor_hidden = False
        self.mouse_modes: set[bytes] = set()
        self.bracketed_paste = False
        self.scroll_region = False
        self.last_byte: int | None = None
        self.final_screen: list[str] | None = None
        self._tail = b""
        self._screen: Any = None
        self._stream: Any = None

    def resize(self, rows: int, columns: int) -> None:
        """The terminal is now ``rows`` x ``columns``: the emulated screen follows."""
        self.size = (rows, columns)
        if self._screen is not None:
            self._screen.resize(rows, columns)

    def feed(self, data: bytes) -> None:
        """Record a chunk of the stream, as written to the terminal."""
        if not data:
            return
        self.buffer.feed(data)
        self.last_byte = data[-1]
        window = self._tail + data
        self._tail = window[-_KEEP:]
        if b"\x1b[" not in window:
            if self._stream is not None:
                self._stream.feed(data)
            return
        offset = len(window) - len(data)  # where this chunk starts inside the window
        fed = 0
        for match in _MODE.finditer(window):
            if match.end() <= offset:
                continue  # wholly in the previous chunk: already handled
            split = match.end() - offset
            if self._stream is not None:
                self._stream.feed(data[fed:split])
            fed = split
            self._apply(match)
        if self._stream is not None:
            self._stream.feed(data[fed:])

    def _apply(self, match: re.Match[bytes]) -> None:
        if match.group(3) is not None:
            self.scroll_region = match.group(3) not in (b"", b";")
            return
        on = match.group(2) == b"h"
        for mode in match.group(1).split(b";"):
            if mode in _ALT_MODES:
                if on and not self.in_alternate_screen:
                    self._enter_alternate()
                elif not on and self.in_alternate_screen:
                    self._leave_alternate()
            elif mode == b"25":
                self.cursor_hidden = not on
            elif mode in _MOUSE_MODES:
                (self.mouse_modes.add if on else self.mouse_modes.discard)(mode)
            elif mode == b"2004":
                self.bracketed_paste = on

    def _enter_alternate(self) -> None:
        import pyte  # lazily: only full-screen programs need an emulator

        class _Screen(pyte.Screen):  # type: ignore[misc]
            before_scroll: list[str] | None = None

            def index(self) -> None:
                if self.cursor.y == (self.margins.bottom if self.margins else self.lines - 1):
                    self.before_scroll = [line.rstrip() for line in self.display]
                super().index()

            def select_graphic_rendition(self, *attrs: int, private: bool = False) -> None:
                if not private:  # CSI > 4 ; 2 m (xterm's modifyOtherKeys) is not a rendition
                    super().select_graphic_rendition(*attrs)

        self.in_alternate_screen = self.used_alternate_screen = True
        rows, columns = self.size
        self._screen = _Screen(columns, rows)
        self._stream = pyte.ByteStream(self._screen)

    def _leave_alternate(self) -> None:
        self.in_alternate_screen = False
        self.final_screen = self._display()
        self._screen = self._stream = None

    def _display(self) -> list[str]:
        """The emulated display; one that a program's exit scrolled up by a blank line is taken from before that."""
        if self._screen is None:
            return []
        lines = [line.rstrip() for line in self._screen.display]
        before = self._screen.before_scroll
        if before is not None and not lines[-1] and lines[:-1] == before[1:]:
            return before
        return lines

    def finish(self) -> None:
        """The command ended: a program still in the alternate screen leaves its display as the final screen."""
        if self.in_alternate_screen:
            self.final_screen = self._display()

    @property
    def ends_with_newline(self) -> bool:
        """True when nothing was written or the last byte written was a newline."""
        return self.last_byte is None or self.last_byte == 0x0A

    def screen_text(self) -> str:
        """The final screen as text: trailing spaces and trailing blank lines dropped."""
        lines = list(self.final_screen or [])
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines) + ("\n" if lines else "")

    def recorded(self, redact: Any = None) -> str:
        """The text the log keeps: the final screen when the alternate screen was used, else the cleaned stream."""
        if self.used_alternate_screen:
            text = self.screen_text()
            return redact(text) if redact is not None else text
        return clean_output(self.buffer.text(redact))


def restore_sequence(*recorders: StreamRecorder) -> bytes:
    """The bytes that undo what the streams left set on the terminal (empty if nothing).

    Leaves the alternate screen (``CSI ? 1049 l``, only when still in it: it
    also restores the saved cursor), shows the cursor, turns mouse reporting
    and bracketed paste off, resets the scroll region (``CSI r``) and the
    attributes (``CSI 0 m``).
    """
    out = bytearray()
    if any(r.in_alternate_screen for r in recorders):
        out += b"\x1b[?1049l"
    if any(r.cursor_hidden for r in recorders):
        out += b"\x1b[?25h"
    for mode in sorted(set().union(*(r.mouse_modes for r in recorders))):
        out += b"\x1b[?" + mode + b"l"
    if any(r.bracketed_paste for r in recorders):
        out += b"\x1b[?2004l"
    if any(r.scroll_region for r in recorders):
        out += b"\x1b[r"
    if any(r.buffer.total for r in recorders):
        out += b"\x1b[0m"
    return bytes(out)
