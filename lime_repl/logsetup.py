"""The program log (``~/.lime/logs/lime.log``, DESIGN.md section 2): a private file that never reaches the terminal.

Records go to the file, created 0600 whatever the umask; WARNING and above,
DEBUG with ``--debug``. A record that cannot be written (a full disk, a
read-only profile) is dropped silently instead of printing the standard
library's "--- Logging error ---" traceback on stderr.

The standard library's :mod:`logging` costs more to import than a ``!``
line takes to run (it loads :mod:`traceback`, hence :mod:`tokenize`), and
most runs log nothing. So lime's modules log through :data:`log` (or
:func:`get_logger`), a stand-in that imports :mod:`logging` and sets up
the handler at its first use; :func:`setup_logging` only records the level
until then.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

__all__ = ["LazyLogger", "get_logger", "log", "setup_logging"]

_pending: list[bool] = []  # the --debug flag of a setup_logging() call that has not been applied yet


class LazyLogger:
    """A :class:`logging.Logger` by name, imported and set up when first used (see the module docstring)."""

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: logging.Logger | None = None

    def __getattr__(self, attr: str) -> Any:
        logger = self._logger
        if logger is None:
            import logging

            _apply_pending()
            logger = self._logger = logging.getLogger(self._name)
        return getattr(logger, attr)


def get_logger(name: str = "lime") -> LazyLogger:
    """The lazy logger *name* (``lime`` or below it, e.g. ``lime.context``: the handler is on ``lime``)."""
    return LazyLogger(name)


log = get_logger()
"""The ``lime`` logger, imported at first use."""


def _apply_pending() -> None:
    if _pending:
        _configure(_pending.pop())


def setup_logging(debug: bool) -> None:
    """Send the ``lime`` logger to the program log (DEBUG with ``debug``); a profile that cannot hold it logs nowhere.

    Applied at once when :mod:`logging` is already imported, else at the first use of a :class:`LazyLogger`.
    """
    from .paths import ensure_dir, log_path

    with contextlib.suppress(OSError):  # the directory now, as always; the file at the first record
        ensure_dir(log_path().parent)
    _pending[:] = [debug]
    if "logging" in sys.modules:
        _apply_pending()


def _configure(debug: bool) -> None:
    import logging

    from .logfile import PrivateFileHandler
    from .paths import ensure_dir, log_path

    log = logging.getLogger("lime")
    path = log_path()
    try:
        ensure_dir(path.parent)
        handler: logging.Handler = PrivateFileHandler(path, delay=True, encoding="utf-8", errors="replace")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if debug else logging.WARNING)
    log.propagate = False
