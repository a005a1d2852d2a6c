"""What a user would see in the terminal: a pexpect child's output fed through a VT emulator (pyte).

Full-screen prompt-toolkit views redraw only the cells that changed, so the
raw byte stream rarely holds a whole line of text; the emulated screen does.
Use one :class:`Screen` for the whole life of a child (it reads the pty
itself; do not mix it with ``child.expect``).
"""

from __future__ import annotations

import time
from typing import NoReturn

import pexpect
import pyte

__all__ = ["TIMEOUT", "Screen"]

#: Seconds any wait gives the child: generous, since a loaded machine is slow and a wait ends as soon as it can.
TIMEOUT = 60.0


class Screen:
    """The emulated screen of ``child`` (``rows`` x ``cols`` must match the pty's dimensions)."""

    def __init__(self, child: pexpect.spawn, rows: int = 40, cols: int = 120) -> None:
        self.child = child
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.eof = False
        #: Every byte the child wrote, for output that scrolls off the screen.
        self.transcript = b""
        if child.buffer:
            self._feed(child.buffer)
            child.buffer = b""

    def _feed(self, data: bytes) -> None:
        self.transcript += data
        self.stream.feed(data)

    def pump(self, timeout: float = 0.05) -> None:
        """Feed whatever the child wrote within ``timeout`` seconds."""
        if self.eof:
            return
        try:
            data = self.child.read_nonblocking(1 << 16, timeout)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            self.eof = True
            return
        self._feed(data)

    def _fail(self, message: str) -> NoReturn:
        """End the child (a failed test leaves no process behind) and raise AssertionError with ``message``."""
        if not self.child.closed:
            self.child.close(force=True)
        raise AssertionError(message)

    @property
    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    @property
    def cursor_line(self) -> str:
        return self.screen.display[self.screen.cursor.y]

    def wait_for(self, text: str, timeout: float = TIMEOUT) -> None:
        """Wait until ``text`` is on the screen. Raises AssertionError with the screen when it is not."""
        deadline = time.monotonic() + timeout
        while text not in self.text:
            if time.monotonic() > deadline or self.eof:
                self._fail(f"{text!r} never appeared; the screen shows:\n{self.text}")
            self.pump()

    def wait_gone(self, text: str, timeout: float = TIMEOUT) -> None:
        """Wait until ``text`` is no longer on the screen."""
        deadline = time.monotonic() + timeout
        while text in self.text:
            if time.monotonic() > deadline or self.eof:
                self._fail(f"{text!r} stayed on the screen:\n{self.text}")
            self.pump()

    def wait_line(self, text: str, timeout: float = TIMEOUT) -> None:
        """Wait until some screen line is exactly ``text`` (trailing blanks aside), e.g. a command's output."""
        deadline = time.monotonic() + timeout
        while text not in (line.rstrip() for line in self.screen.display):
            if time.monotonic() > deadline or self.eof:
                self._fail(f"no line {text!r}; the screen shows:\n{self.text}")
            self.pump()

    def wait_in_transcript(self, text: str, timeout: float = TIMEOUT) -> None:
        """Wait until ``text`` is somewhere in what the child wrote (also what scrolled off the screen)."""
        deadline = time.monotonic() + timeout
        while text.encode() not in self.transcript:
            if time.monotonic() > deadline or self.eof:
                self._fail(f"{text!r} was never written; the screen shows:\n{self.text}")
            self.pump()

    def wait_empty_prompt(self, prompt: str = "lime> ", timeout: float = TIMEOUT) -> None:
        """Wait until the cursor sits after ``prompt`` on a line holding nothing else: a fresh prompt.

        prompt-toolkit draws a prompt only once it reads the terminal in raw
        mode, so keys sent after this reach the new prompt.
        """
        deadline = time.monotonic() + timeout
        while not (
            self.cursor_line.rstrip() == prompt.rstrip() and self.screen.cursor.x == len(prompt)
        ):
            if time.monotonic() > deadline or self.eof:
                self._fail(f"no empty prompt; the screen shows:\n{self.text}")
            self.pump()

    def wait_prompt(self, prompt: str = "lime> ", timeout: float = TIMEOUT) -> None:
        """Wait until the cursor sits on a line that starts with ``prompt`` (the REPL waits for input)."""
        deadline = time.monotonic() + timeout
        while not self.cursor_line.startswith(prompt):
            if time.monotonic() > deadline or self.eof:
                self._fail(f"no prompt; the screen shows:\n{self.text}")
            self.pump()
        self.pump(0.1)

    def send(self, *keys: str, pause: float = 0.1) -> None:
        """Send keys one at a time, as typed, letting the screen catch up in between."""
        for key in keys:
            self.child.send(key)
            self.pump(pause)

    def wait_exit(self, timeout: float = TIMEOUT) -> int:
        """Wait for the child to exit; its exit status. Raises AssertionError with the screen when it does not."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self.pump(0.1)
        if not self.eof:
            self._fail(f"the child did not exit in {timeout} s; the screen shows:\n{self.text}")
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else -1
