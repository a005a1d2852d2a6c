"""A script that runs the real ``lime`` entry point, then reports on stderr what the run loaded.

Imported as ``support.lime_probe``. ``python -c probe(report) ARGS`` runs
``lime ARGS`` in process (``runpy``, as ``python -m lime_repl`` does), then
the ``report`` lines (Python, with ``sys`` imported) before exiting with
lime's status.
"""

from __future__ import annotations

import textwrap

_SCRIPT = """\
import runpy, sys
sys.argv = ["lime", *sys.argv[1:]]
try:
    runpy.run_module("lime_repl", run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
{report}
sys.exit(code)
"""


def probe(report: str) -> str:
    """The probe script with ``report`` (one or more lines of Python) run after lime returned."""
    return _SCRIPT.format(report=textwrap.dedent(report).strip("\n"))


#: Prints ``CLICK=True`` or ``CLICK=False``: whether the command loaded click.
CLICK_PROBE = probe('print("CLICK=" + str("click" in sys.modules), file=sys.stderr)')
