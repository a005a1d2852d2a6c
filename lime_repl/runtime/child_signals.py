"""Signals a ``!`` shell must not inherit as ignored.

A process started with SIGINT or SIGQUIT ignored -- a background job of a
non-interactive script (POSIX, "Shell Command Language" 2.11: the shell sets
them to ignored for an asynchronous list), or anything started under
``trap '' INT`` -- passes that disposition on through ``exec`` (execve(2):
ignored signals stay ignored, caught ones are reset to the default). bash
itself cannot undo it: "signals ignored upon entry to the shell cannot be
trapped or reset" (bash(1), SIGNALS). Then Ctrl-C, and lime's own interrupt of
a running ``!`` command, reach a command that ignores them. The shells lime
starts therefore reset these two to their default in the child, between fork
and exec -- and only when lime itself inherited them ignored, so the usual
start-up keeps the faster spawn path that runs no Python in the child.

SIGHUP is left alone: ``nohup`` ignores it on purpose, for the whole tree.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

__all__ = ["RESET", "ignored_on_entry", "reset_in_child"]

RESET = (signal.SIGINT, signal.SIGQUIT)
"""The signals reset to their default disposition in a shell's child process."""


def ignored_on_entry() -> tuple[signal.Signals, ...]:
    """The signals of :data:`RESET` whose disposition in this process is ``SIG_IGN``.

    Python installs its own SIGINT handler at start-up unless SIGINT was
    ignored on entry, so ``SIG_IGN`` here means it was inherited (or set
    later by this process)."""
    return tuple(sig for sig in RESET if signal.getsignal(sig) == signal.SIG_IGN)


def reset_in_child(then: Callable[[], None] | None = None) -> Callable[[], None] | None:
    """A ``preexec_fn`` for :class:`subprocess.Popen` that resets the ignored signals of :data:`RESET` to
    ``SIG_DFL`` and then calls ``then``; ``then`` itself (possibly None) when none is ignored."""
    ignored = ignored_on_entry()
    if not ignored:
        return then

    def preexec() -> None:
        for sig in ignored:
            signal.signal(sig, signal.SIG_DFL)
        if then is not None:
            then()

    return preexec
