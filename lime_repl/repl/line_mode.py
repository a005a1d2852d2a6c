"""Line mode (DESIGN.md section 1): stdin that is not a terminal, handled line by line as if typed.

No prompt and no colour; lime exits with the status of the last line, the
way ``bash -s`` does. It imports nothing of the interactive REPL
(prompt-toolkit, the completer, the toolbar), so a piped ``!`` line starts
as fast as the shell it runs in allows.
"""

from __future__ import annotations

from typing import IO

from .controller import Controller

__all__ = ["run_line_mode"]


def run_line_mode(controller: Controller, stream: IO[bytes]) -> int:
    """Handle each line of ``stream`` as if typed; returns the status of the last line."""
    status = 0
    for raw in stream:
        line = _decode_line(raw)
        if not line.strip():
            continue
        status = controller.handle_line(line)
        if not controller.running:
            break
    return status


def _decode_line(raw: bytes) -> str:
    """One input line as text: undecodable bytes become U+FFFD (``errors="replace"``).

    A ``!`` line keeps them as ``surrogateescape`` code points instead, so
    bash receives the bytes that were typed; the log records them as U+FFFD
    (the entry guard in :mod:`lime_repl.store.entry_guard`).
    """
    if raw.lstrip()[:1] == b"!":
        return raw.decode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "replace")
