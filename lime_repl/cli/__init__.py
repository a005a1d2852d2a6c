"""The ``lime`` command line: :mod:`.main` (click options, subcommands, exit codes) and :mod:`.printers`
(listings, transcripts and logs for the terminal). ``lime_repl.cli:main`` is the entry point."""

from __future__ import annotations

from .main import cli, main

__all__ = ["cli", "main"]
