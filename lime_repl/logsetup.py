"""The program log (``~/.lime/logs/lime.log``, DESIGN.md section 2): a private file that never reaches the terminal.

Records go to the file, created 0600 whatever the umask; WARNING and above,
DEBUG with ``--debug``. A record that cannot be written (a full disk, a
read-only profile) is dropped silently instead of printing the standard
library's "--- Logging error ---" traceback on stderr.
"""

from __future__ import annotations

import io
import logging
import os

__all__ = ["setup_logging"]

log = logging.getLogger("lime")


class _PrivateFileHandler(logging.FileHandler):
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


def setup_logging(debug: bool) -> None:
    """Send the ``lime`` logger to the program log (DEBUG with ``debug``); a profile that cannot hold it logs nowhere."""
    from .paths import ensure_dir, log_path

    path = log_path()
    try:
        ensure_dir(path.parent)
        handler: logging.Handler = _PrivateFileHandler(path, delay=True, encoding="utf-8", errors="replace")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if debug else logging.WARNING)
    log.propagate = False
