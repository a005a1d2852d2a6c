"""Where lime's output goes: command output on stdout, lime's own notices on stderr.

Colour is used only when the stream is a terminal, ``NO_COLOR`` is unset
(https://no-color.org) and ``TERM`` is not ``dumb``. Raw bytes from ``!``
commands are passed through unchanged, so line mode pipes cleanly; every other
text (lines, notices, warnings, errors) goes through
:func:`lime_repl.textsafe.safe_text` before lime adds its own colour, since it
may hold stored titles, labels, outputs or model text (DESIGN.md section 4).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import BinaryIO, TextIO

from ..textsafe import safe_text

__all__ = ["Console", "wants_color"]

_STYLES = {"error": "31", "warn": "33", "dim": "2", "bold": "1", "accent": "36", "ok": "32"}


def wants_color(stream: TextIO, env: Mapping[str, str] | None = None) -> bool:
    """True when ``stream`` is a terminal and neither ``NO_COLOR`` nor ``TERM=dumb`` forbids colour."""
    env = os.environ if env is None else env
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Console:
    """Output of one lime process. ``interactive`` is True for the prompt-toolkit REPL."""

    def __init__(
        self,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        *,
        interactive: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.interactive = interactive
        self.color = wants_color(self.stdout, env)
        self.err_color = wants_color(self.stderr, env)

    def style(self, text: str, style: str, *, err: bool = False) -> str:
        """``text`` wrapped in the ANSI style when colour is on for that stream."""
        if not (self.err_color if err else self.color) or style not in _STYLES:
            return text
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"

    def out(self, text: str = "", style: str | None = None) -> None:
        """One line (or block) of command output on stdout."""
        text = safe_text(text)
        self.stdout.write((self.style(text, style) if style else text) + "\n")
        self.stdout.flush()

    def notice(self, text: str, style: str = "dim") -> None:
        """One of lime's own notices on stderr."""
        self.stderr.write(self.style(safe_text(text), style, err=True) + "\n")
        self.stderr.flush()

    def error(self, text: str) -> None:
        """One error line on stderr, prefixed ``lime: error:`` in line mode."""
        line = safe_text(text if self.interactive else f"lime: {text}")
        self.stderr.write(self.style(line, "error", err=True) + "\n")
        self.stderr.flush()

    def warn(self, text: str) -> None:
        """One warning line on stderr."""
        line = safe_text(text if self.interactive else f"lime: warning: {text}")
        self.stderr.write(self.style(line, "warn", err=True) + "\n")
        self.stderr.flush()

    @contextlib.contextmanager
    def spinner(self, label: str) -> Iterator[None]:
        """Show ``label`` with a spinner on stderr while the block runs (terminals only)."""
        if not (self.interactive and self.stderr.isatty()):
            yield
            return
        done = threading.Event()

        def spin() -> None:
            frames = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
            start = time.monotonic()
            for i in itertools.count():
                if done.wait(0.1):
                    break
                elapsed = time.monotonic() - start
                self.stderr.write(f"\r{frames[i % len(frames)]} {label} {elapsed:4.1f}s (Ctrl-C cancels)")
                self.stderr.flush()

        thread = threading.Thread(target=spin, name="lime-spinner", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
            self.stderr.write("\r\x1b[2K")
            self.stderr.flush()

    # -- raw passthrough for ``!`` output -------------------------------
    def _binary(self, stream: TextIO) -> BinaryIO | None:
        return getattr(stream, "buffer", None)

    def stdout_bytes(self, data: bytes) -> None:
        """Pass ``!`` stdout through byte for byte."""
        self._raw(self.stdout, data)

    def stderr_bytes(self, data: bytes) -> None:
        """Pass ``!`` stderr through byte for byte."""
        self._raw(self.stderr, data)

    def _raw(self, stream: TextIO, data: bytes) -> None:
        buffer = self._binary(stream)
        if buffer is not None:
            stream.flush()
            buffer.write(data)
            buffer.flush()
        else:
            stream.write(data.decode("utf-8", "replace"))
            stream.flush()
