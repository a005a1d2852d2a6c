"""``python -m lime_repl``: the same as the ``lime`` command."""

from lime_repl.cli import main

main()
