"""How an exception that ends a ``lime`` command becomes one line on stderr and an exit status.

:func:`exit_status` is the mapping; :func:`guarded` runs a click-free command
with it, as the click group runs every other command.

Shared by the click group (:class:`~lime_repl.cli.main._Group`) and the
click-free fast path of ``lime session search``
(:mod:`~lime_repl.cli.search_command`), so both map errors alike; it imports
nothing heavy (no click), since the fast path must not load it. The codes
are DESIGN.md section 7's: a :class:`~lime_repl.errors.LimeError` carries its
own (2 usage or unknown session, 3 locked, 1 else), an interrupt is 130 (the
shell's 128 + SIGINT), a closed stdout (``lime … | head``) is 0, and anything
else is a bug: 1, with one line naming the program log, where the traceback
goes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["exit_status", "guarded"]


def guarded(call: Callable[[], int]) -> int:
    """Run a click-free command as the click group runs one; ``call()``'s status, or an exception's.

    The program log's directory comes first (what the group's ``setup_logging``
    does), then ``call``; an exception becomes its one line and exit status
    (:func:`exit_status`). Used by :mod:`.search_command` and :mod:`.list_command`.
    """
    from ..logsetup import setup_logging
    from ..paths import ensure_dir, log_path

    try:
        ensure_dir(log_path().parent)
    except OSError:
        pass
    try:
        return call()
    except (Exception, KeyboardInterrupt) as exc:
        setup_logging(False)
        return exit_status(exc)


def exit_status(exc: BaseException) -> int:
    """The exit status for *exc*, its one line written to stderr (and a bug's traceback to the log).

    Raises nothing of its own; a ``KeyboardInterrupt`` or ``BrokenPipeError``
    writes nothing. The program log must be set up already
    (:func:`~lime_repl.logsetup.setup_logging`), as the group does first.
    """
    from ..errors import EXIT_ERROR, LimeError
    from ..textsafe import safe_text

    if isinstance(exc, LimeError):
        from ..logsetup import log

        log.debug("error", exc_info=exc)
        sys.stderr.write(safe_text(f"lime: {exc.message}") + "\n")
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, BrokenPipeError):
        return 0
    from ..logsetup import log
    from ..paths import log_path

    log.error("internal error", exc_info=exc)
    sys.stderr.write(safe_text(f"lime: internal error: {exc} (details in {log_path()})") + "\n")
    return EXIT_ERROR
