"""``lime session search`` in its plain forms, run without loading click.

A warm search over 10,000 sessions is a short command, and importing click
(with the top-level command group and its subcommands) costs about as much
as the search itself (issue 15). :func:`run` takes the arguments after
``session search`` and recognises exactly the forms the click command
(``session_search`` in :mod:`.main`) accepts with nothing but its own
options: ``PATTERN``, ``--all``, ``-i`` and ``--format table|json``, in any
order. Anything else (help, ``--``, ``--format=json``, a value click would
reject, a second argument, a pattern that starts with ``-``) returns None, and
the whole command line goes to click, which gives the same help and usage
errors as before. A recognised command then does what the click command
does: the same printer, catalog warning and exit status (1: no match), and
the same one-line errors and exit codes as the click group (DESIGN.md
section 7), with tracebacks in the program log.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..store.slotted import SlotValue

__all__ = ["SearchArgs", "parse", "run"]


class SearchArgs(SlotValue):
    """What ``lime session search`` was given: the parameters of the click command.

    (A :class:`~lime_repl.store.slotted.SlotValue`: a ``NamedTuple`` costs a millisecond to define.)
    """

    __slots__ = ("pattern", "everywhere", "ignore_case", "fmt")

    def __init__(self, pattern: str, everywhere: bool = False, ignore_case: bool = False, fmt: str = "table"):
        self.pattern = pattern
        self.everywhere = everywhere
        self.ignore_case = ignore_case
        self.fmt = fmt


_FORMATS = ("table", "json")


def parse(args: Sequence[str]) -> SearchArgs | None:
    """The arguments after ``session search`` as :class:`SearchArgs`, or None when click must read them."""
    pattern: str | None = None
    everywhere = ignore_case = False
    fmt = "table"
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--all":
            everywhere = True
        elif token == "-i":
            ignore_case = True
        elif token == "--format" and i + 1 < len(args) and args[i + 1] in _FORMATS:
            i += 1
            fmt = args[i]
        elif token.startswith("-") or pattern is not None:
            return None
        else:
            pattern = token
        i += 1
    return None if pattern is None else SearchArgs(pattern, everywhere, ignore_case, fmt)


def run(args: Sequence[str]) -> int | None:
    """Run ``lime session search`` with ``args`` (what follows ``session search``); the exit status.

    None, having done nothing, when :func:`parse` leaves the arguments to click.
    """
    parsed = parse(args)
    if parsed is None:
        return None
    from .failures import guarded

    return guarded(lambda: _search(parsed))


def _search(args: SearchArgs) -> int:
    from ..workspace import Workspace
    from .printers import search_sessions

    ws = Workspace()
    found = search_sessions(
        ws, args.pattern, everywhere=args.everywhere, ignore_case=args.ignore_case, fmt=args.fmt
    )
    warning = ws.catalog_warning
    if warning:
        sys.stderr.write(f"lime: warning: {warning}\n")
    return 0 if found else 1
