"""A stand-in for the interactive REPL around :class:`lime_repl.repl.ptyshell.PtyShell`, for pty tests.

Usage: ``python ptyshell_harness.py RESULTS.jsonl [--no-rc]``. Prints the
prompt ``PROMPT> ``, reads a line from its terminal (cooked mode), runs it
through the engine with its own stdin and stdout as the real terminal, adds a
newline when the output did not end with one, appends the result as one JSON
line to RESULTS.jsonl, and repeats; ``:quit`` (or end of input) closes the
shell and appends ``{"jobs": [...]}``, the background jobs it reported.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys

from lime_repl.repl.ptyshell import PtyShell


def main() -> int:
    results = sys.argv[1]
    shell = PtyShell(os.getcwd(), rc="--no-rc" not in sys.argv[2:])
    shell.start()
    with open(results, "a", encoding="utf-8") as log:
        while True:
            os.write(1, b"PROMPT> ")
            line = _read_line()
            if line is None or line == ":quit":
                jobs = shell.close()
                log.write(json.dumps({"jobs": [dataclasses.asdict(job) for job in jobs]}) + "\n")
                return 0
            result = shell.run(line, 0, 1)
            if not result.ends_with_newline:
                os.write(1, b"\n")
            fields = {
                f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.name != "streams"
            }
            stdout, stderr = result.recorded(str.upper)  # what a redacting caller would log
            fields.update(redacted_stdout=stdout, redacted_stderr=stderr, truncated=result.truncated_bytes)
            log.write(json.dumps({"command": line, **fields}) + "\n")
            log.flush()


def _read_line() -> str | None:
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = os.read(0, 1)
        if not chunk:
            return None
        data += chunk
    return data[:-1].decode("utf-8", "surrogateescape")


if __name__ == "__main__":
    sys.exit(main())
