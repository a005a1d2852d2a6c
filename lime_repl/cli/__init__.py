"""The ``lime`` command line: :mod:`.main` (click options, subcommands, exit codes) and :mod:`.printers`
(listings, transcripts and logs for the terminal). ``lime_repl.cli:main`` is the entry point.

:func:`main` hands the plain forms of ``lime session search`` to :mod:`.search_command` and those of
``lime session list`` to :mod:`.list_command`, which run them without importing click; every other command line goes to click. ``cli`` (the click group) is imported
at first use.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    if args[:2] == ["session", "search"]:
        from .search_command import run

        status = run(args[2:])
        if status is not None:
            sys.exit(status)
    elif args[:2] == ["session", "list"]:
        from .list_command import run as run_list

        status = run_list(args[2:])
        if status is not None:
            sys.exit(status)
    from .main import main as click_main

    globals()["main"] = _entry  # importing .main set this package's `main` to the module; the function again
    click_main(argv)


_entry = main


def __getattr__(name: str) -> Any:
    if name == "cli":
        from .main import cli

        globals()["main"] = _entry
        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
