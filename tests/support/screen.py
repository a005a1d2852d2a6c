"""What a user would see in the terminal: a pexpect child's output fed through a VT emulator (pyte).

Full-screen prompt-toolkit views redraw only the cells that changed, so the
raw byte stream rarely holds a whole line of text; the emulated screen does.
Use one :class:`Screen` for the whole life of a child (it reads the pty
itself; do not mix it with ``child.expect``).
"""

from __future__ import annotations

import time

import pexpect
import pyte

__all__ = ["Screen"]


class Screen:
    """The emulated screen of ``child`` (``rows`` x ``cols`` must match the pty's dimensions)."""

    def __init__(self, child: pexpect.spawn, rows: int = 40, cols: int = 120) -> None:
        self.child = child
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.eof = False
        if child.buffer:
            self.stream.feed(child.buffer)
            child.buffer = b""

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
        self.stream.feed(data)

    @property
    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    @property
    def cursor_line(self) -> str:
        return self.screen.display[self.screen.cursor.y]

    def wait_for(self, text: str, timeout: float = 20) -> None:
        """Wait until ``text`` is on the screen. Raises AssertionError with the screen when it is not."""
        deadline = time.monotonic() + timeout
        while text not in self.text:
            if time.monotonic() > deadline or self.eof:
                raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.text}")
            self.pump()

    def wait_gone(self, text: str, timeout: float = 20) -> None:
        """Wait until ``text`` is no longer on the screen."""
        deadline = time.monotonic() + timeout
        while text in self.text:
            if time.monotonic() > deadline or self.eof:
                raise AssertionError(f"{text!r} stayed on the screen:\n{self.text}")
            self.pump()

    def wait_prompt(self, prompt: str = "lime> ", timeout: float = 20) -> None:
        """Wait until the cursor sits on a line that starts with ``prompt`` (the REPL waits for input)."""
        deadline = time.monotonic() + timeout
        while not self.cursor_line.startswith(prompt):
            if time.monotonic() > deadline or self.eof:
                raise AssertionError(f"no prompt; the screen shows:\n{self.text}")
            self.pump()
        self.pump(0.1)

    def send(self, *keys: str, pause: float = 0.1) -> None:
        """Send keys one at a time, as typed, letting the screen catch up in between."""
        for key in keys:
            self.child.send(key)
            self.pump(pause)

    def wait_exit(self, timeout: float = 20) -> int:
        """Wait for the child to exit; its exit status."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self.pump(0.1)
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else -1
