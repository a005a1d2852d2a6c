"""The program log's file handler (imported by :mod:`lime_repl.logsetup` when the log is first used)."""

from __future__ import annotations

import io
import logging
import os

__all__ = ["PrivateFileHandler"]


class PrivateFileHandler(logging.FileHandler):
    """A ``FileHandler`` that creates the program log with mode 0600 whatever the umask (DESIGN.md section 2).

    A record that cannot be written (a full disk, a log gone read-only) is
    dropped silently: the program log must never print to the terminal.
    """

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)

    def handleError(self, record: logging.LogRecord) -> None:
        stream, self.stream = self.stream, None  # type: ignore[assignment]
        if stream is not None:
            try:
                stream.close()  # unflushed bytes are lost; the next record reopens the file
            except (OSError, ValueError):
                pass
