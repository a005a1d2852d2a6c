"""Keystroke latency of lime's real prompt, at rest and while a background thread microcompacts.

Run by ``benchmarks/run.py`` as a child process::

    python bench_keys.py SESSION.jsonl KEYS

It resumes ``SESSION.jsonl`` (a 1 MiB session) with lime's own
:class:`~lime_repl.repl.controller.Controller` (on a real runtime) and runs the real
:func:`~lime_repl.repl.app.run_interactive` (the same ``PromptSession``,
history, completer, lexer and toolbar as a terminal user gets) on
prompt-toolkit's pipe input, with a ``DummyOutput`` whose ``flush`` marks the
end of each render. A driver thread types ``KEYS`` characters, one every
10 ms or so, and takes each keystroke's latency as the time from writing the
key to the end of the render that shows it (the buffer has the new length).

It does that twice: at rest, then while a background thread keeps lime's
:class:`~lime_repl.context.scheduler.ContextKeeper` microcompacting the
session: its worker plans the microcompaction of the whole 1 MiB branch
again and again, each time with a cold token counter as right after a resume
(about 50 ms of work a pass), and auto-compaction is off so the load is
microcompaction alone. Where that module is missing, the load is a loop of
``Session.load`` + ``build_transcript`` of the session, and the output says so
(``"load": "transcript-rebuild"``).

Prints one JSON object: ``rest_ms`` and ``load_ms`` (lists of latencies in
milliseconds), ``load`` (what the background thread did) and ``load_cycles``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any


def _load_loop(controller: Any, path: Path, stop: threading.Event, counter: list[int]) -> str:
    """Start the background load; returns its name. ``counter[0]`` counts the cycles done."""
    try:
        from lime_repl.context.tokens import TokenCounter

        keeper = controller.runtime.start_keeper()
        branch = controller.runtime.current.branch()

        def micro() -> None:
            while not stop.is_set():
                keeper.counter = TokenCounter()  # a cold pass each time, as right after a resume
                keeper.observe(branch)
                keeper.wait_idle(10)
                counter[0] += 1

        threading.Thread(target=micro, daemon=True).start()
        return "microcompaction"
    except (AttributeError, ImportError):
        from lime_repl.context.transcript import build_transcript
        from lime_repl.store.session import Session

        def rebuild() -> None:
            while not stop.is_set():
                session = Session.load(path)
                build_transcript(session.branch(), session.header)
                counter[0] += 1

        threading.Thread(target=rebuild, daemon=True).start()
        return "transcript-rebuild"


def main() -> None:
    path, keys = Path(sys.argv[1]), int(sys.argv[2])
    os.environ["LIME_DISABLE_AUTOCOMPACT"] = "1"
    from prompt_toolkit.application.current import get_app
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from lime_repl.repl.app import run_interactive
    from lime_repl.repl.console import Console
    from lime_repl.repl.controller import Controller
    from lime_repl.workspace import Workspace

    renders: list[tuple[float, int]] = []
    changed = threading.Condition()

    class Probe(DummyOutput):
        """Output that records when each render ends and how long the input line was then."""

        def flush(self) -> None:
            try:
                length = len(get_app().current_buffer.text)
            except Exception:
                length = -1
            with changed:
                renders.append((time.perf_counter(), length))
                changed.notify_all()

    def wait_render(length: int, after: float, timeout: float = 5.0) -> float:
        deadline = time.monotonic() + timeout
        with changed:
            while True:
                for stamp, seen in reversed(renders):
                    if stamp < after:
                        break
                    if seen == length:
                        return stamp
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no render with {length} characters")
                changed.wait(remaining)

    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    workspace = Workspace(cwd=Path.cwd())
    controller = Controller.start(workspace, Console(stdout=devnull, stderr=devnull, interactive=True))
    controller.runtime.resume(path)
    stop = threading.Event()
    result: dict[str, Any] = {}

    def drive(pipe: Any) -> None:
        try:
            wait_render(0, 0.0, timeout=30)  # the first prompt
            time.sleep(0.3)  # history loaded, start-up work done

            def type_keys() -> list[float]:
                latencies = []
                for n in range(keys):
                    start = time.perf_counter()
                    pipe.send_text("abcdefghij"[n % 10])
                    latencies.append((wait_render(n + 1, start) - start) * 1000)
                    time.sleep(0.008 + (n % 5) * 0.002)
                cleared = time.perf_counter()
                pipe.send_text("\x15")  # Ctrl-U: clear the line
                wait_render(0, cleared)
                return latencies

            result["rest_ms"] = type_keys()
            cycles = [0]
            result["load"] = _load_loop(controller, path, stop, cycles)
            deadline = time.monotonic() + 30
            while cycles[0] == 0 and time.monotonic() < deadline:
                time.sleep(0.01)  # the load is really running
            result["load_ms"] = type_keys()
            result["load_cycles"] = cycles[0]
        except BaseException as exc:  # report, and still let the prompt end
            result["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            stop.set()
            pipe.send_text("\x15\x04")  # Ctrl-U, Ctrl-D: leave the REPL

    with create_pipe_input() as pipe:
        driver = threading.Thread(target=drive, args=(pipe,), daemon=True)
        driver.start()
        run_interactive(controller, input=pipe, output=Probe())
        driver.join(10)
    controller.runtime.close()
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
