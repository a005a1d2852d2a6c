"""The progress bar of full-text indexing: on a terminal only, on stderr, plain under NO_COLOR."""

from __future__ import annotations

import io
import os
import pty
import sys

import pytest

from lime_repl.cli.printers import _IndexProgress


def _draw(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], tty: bool, delay: float = 0.0) -> bytes:
    if not tty:
        stream = io.StringIO()
        monkeypatch.setattr(sys, "stderr", stream)
        bar = _IndexProgress(env, delay=delay)
        bar.update(1 << 20, 4 << 20)
        bar.update(4 << 20, 4 << 20)
        bar.close()
        return stream.getvalue().encode()
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as stream:
        monkeypatch.setattr(sys, "stderr", stream)
        bar = _IndexProgress(env, delay=delay)
        bar.update(1 << 20, 4 << 20)
        bar.update(4 << 20, 4 << 20)
        bar.close()
        stream.flush()
    out = b""
    try:
        while chunk := os.read(master, 65536):
            out += chunk
    except OSError:
        pass
    os.close(master)
    return out


def test_a_bar_on_a_terminal_in_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _draw(monkeypatch, {"TERM": "xterm"}, tty=True)
    assert b"indexing sessions for search" in out and b"100%" in out and b"\x1b[36m" in out


def test_no_colour_under_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _draw(monkeypatch, {"TERM": "xterm", "NO_COLOR": "1"}, tty=True)
    assert b"100%" in out and b"\x1b[" not in out.replace(b"\x1b[?25l", b"").replace(b"\x1b[?25h", b"")


def test_nothing_off_a_terminal_or_under_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _draw(monkeypatch, {"TERM": "xterm"}, tty=False) == b""
    assert _draw(monkeypatch, {"TERM": "xterm"}, tty=True, delay=60) == b""
