"""``lime session list`` in its plain forms, run without loading click.

A warm listing of 10,000 sessions is a short command, and importing click
with the top-level command group costs a tenth of it (issue 15). :func:`run`
takes the arguments after ``session list`` and recognises exactly the forms
the click command (``session_list`` in :mod:`.main`) accepts with nothing but
its own options, each given as a separate word: ``--all``, ``--format
table|json`` and ``-n N`` (``N`` a decimal integer of at least 1), in any order,
each at most once. Anything else (help, ``--format=json``, ``-n5``, a value
click would reject, an option given twice, any other word) returns None, and
the whole command line goes to click, which gives the same help and usage
errors as before. A recognised command does what the click command does: the
same printer and catalog warning, and the same one-line errors and exit codes
as the click group (DESIGN.md section 7; :func:`~.failures.guarded`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..store.slotted import SlotValue

__all__ = ["ListArgs", "parse", "run"]


class ListArgs(SlotValue):
    """What ``lime session list`` was given: the parameters of the click command (a plain class)."""

    __slots__ = ("limit", "fmt", "everywhere")

    def __init__(self, limit: int | None = None, fmt: str = "table", everywhere: bool = False) -> None:
        self.limit = limit
        self.fmt = fmt
        self.everywhere = everywhere


_FORMATS = ("table", "json")


def parse(args: Sequence[str]) -> ListArgs | None:
    """The arguments after ``session list`` as :class:`ListArgs`, or None when click must read them."""
    parsed = ListArgs()
    seen: set[str] = set()
    i = 0
    while i < len(args):
        token = args[i]
        if token in seen:
            return None
        seen.add(token)
        value = args[i + 1] if i + 1 < len(args) else None
        if token == "--all":
            parsed.everywhere = True
            i += 1
        elif token == "--format" and value in _FORMATS:
            parsed.fmt = value
            i += 2
        elif token == "-n" and value is not None and value.isascii() and value.isdigit() and int(value) >= 1:
            parsed.limit = int(value)
            i += 2
        else:
            return None
    return parsed


def run(args: Sequence[str]) -> int | None:
    """Run ``lime session list`` with ``args`` (what follows ``session list``); the exit status (0).

    None, having done nothing, when :func:`parse` leaves the arguments to click.
    """
    parsed = parse(args)
    if parsed is None:
        return None
    from .failures import guarded

    return guarded(lambda: _list(parsed))


def _list(args: ListArgs) -> int:
    import gc

    gc.disable()  # tens of thousands of small objects and no cycles: a collector pass would find nothing
    from ..workspace import Workspace
    from .printers import print_sessions

    ws = Workspace()
    sessions = ws.list_sessions(args.everywhere)
    print_sessions(sessions[: args.limit] if args.limit else sessions, args.fmt, args.everywhere)
    warning = ws.catalog_warning
    if warning:
        sys.stderr.write(f"lime: warning: {warning}\n")
    return 0
