"""``!`` commands on a real pseudo terminal for the interactive REPL (issue "The ``!`` shell is a real terminal").

* :class:`PtyShell` (:mod:`.shell`): the persistent bash, one per session;
  :meth:`PtyShell.run` hands it lime's terminal for one command and returns a
  :class:`PtyResult` for the log.
* :func:`complete_bang` (:mod:`.complete`): completions of a ``!`` line's last
  word from bash's ``compgen`` in a helper bash.
* :func:`take_snapshot` (:mod:`.rc`): the user's aliases, functions and options.

The REPL wires it in through :mod:`lime_repl.repl.bang`; line mode and the
bridge keep :class:`lime_repl.runtime.shell.PersistentShell` (pipes).
"""

from .complete import complete_bang
from .rc import take_snapshot
from .result import BackgroundJob, PtyResult
from .shell import PtyShell

__all__ = ["BackgroundJob", "PtyResult", "PtyShell", "complete_bang", "take_snapshot"]
