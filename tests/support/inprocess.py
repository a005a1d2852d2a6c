"""The real interactive REPL in this process, on prompt-toolkit's pipe input and ``DummyOutput``.

:class:`InProcessRepl` builds what ``lime`` builds at start (workspace,
console, controller, session) in a private ``LIME_HOME`` and runs
:func:`lime_repl.repl.app.run_interactive` on a thread, reading keys from a
``create_pipe_input()`` pipe (the way prompt-toolkit's and ptpython's own tests
drive a prompt). Keys sent while a line is being handled wait in the pipe,
exactly as typed-ahead keys do, so nothing races the prompt. It is the one
place where the REPL's objects are constructed for tests.

What the REPL prints (command output on stdout, notices on stderr) is kept in
:attr:`stdout` and :attr:`stderr`. Use it for what needs no real terminal
(line editing, completion, history, slash commands, ``!`` lines, approval
keys); give ``output`` (:class:`support.vt_output.ScreenOutput`) to see what
is drawn. Full-screen views and Ctrl-C as a signal stay in the pty tests.
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from support.lime_env import LimeEnv

from lime_repl.repl.app import run_interactive
from lime_repl.repl.console import Console
from lime_repl.repl.controller import Controller
from lime_repl.workspace import Workspace

__all__ = ["InProcessRepl", "UP", "CTRL_C", "CTRL_D", "TAB"]

UP, CTRL_C, CTRL_D, TAB = "\x1b[A", "\x03", "\x04", "\t"


class _Captured(io.TextIOWrapper):
    """A text stream with a ``buffer`` (``!`` output is written as bytes), readable while it is written."""

    def __init__(self) -> None:
        self._bytes = io.BytesIO()
        super().__init__(self._bytes, encoding="utf-8", errors="replace", write_through=True)

    def isatty(self) -> bool:
        return False

    @property
    def value(self) -> str:
        return self._bytes.getvalue().decode("utf-8", "replace")


class InProcessRepl:
    """One interactive lime in ``lime_env`` (``resume``: a session path to resume, as ``lime -r``).

    Use as a context manager; leaving it sends Ctrl-D if the REPL still runs
    and closes the session as ``lime`` does on exit.
    """

    def __init__(
        self,
        lime_env: LimeEnv,
        *,
        resume: Path | None = None,
        timeout: float = 30,
        yolo: bool = False,
        output: Any = None,
        color: bool | None = None,
    ) -> None:
        self.timeout = timeout
        self.stdout, self.stderr = _Captured(), _Captured()
        self.workspace = Workspace(lime_env.cwd, lime_env.env)
        self.console = Console(self.stdout, self.stderr, interactive=True, env=lime_env.env)
        if color is not None:  # a test that draws on an emulated screen says whether it is a colour terminal
            self.console.color = color
        self.output = output if output is not None else DummyOutput()
        self.controller = Controller.start(self.workspace, self.console, can_ask=True, yolo=yolo)
        if resume is not None:
            self.controller.runtime.resume(resume)
        else:
            self.controller.runtime.new_session()
        self.lines_done = 0
        self._done = threading.Condition()
        handle = self.controller.handle_line

        def counted(line: str) -> int:  # the real handler; the count says when a line is finished
            try:
                return handle(line)
            finally:
                with self._done:
                    self.lines_done += 1
                    self._done.notify_all()

        self.controller.handle_line = counted  # type: ignore[method-assign]
        self.status: int | None = None
        self.error: BaseException | None = None
        self._app_session: Any = None
        self._input_cm = create_pipe_input()
        self.input = self._input_cm.__enter__()
        self._thread = threading.Thread(target=self._run, name="lime-repl-under-test", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with create_app_session(input=self.input, output=self.output) as app_session:
                self._app_session = app_session
                self.status = run_interactive(self.controller, input=self.input, output=self.output)
        except BaseException as exc:  # reported by close()
            self.error = exc

    # -- driving ---------------------------------------------------------
    def send(self, keys: str) -> None:
        """Type ``keys`` (control keys as their characters, e.g. :data:`CTRL_D`)."""
        self.input.send_text(keys)

    def line(self, text: str) -> None:
        """Type ``text`` and Enter; return once the REPL has handled that line."""
        target = self.lines_done + 1
        self.send(text + "\r")
        self.wait_lines(target)

    def wait_lines(self, count: int) -> None:
        """Wait until ``count`` lines have been handled in all."""
        with self._done:
            if not self._done.wait_for(
                lambda: self.lines_done >= count or not self._thread.is_alive(), self.timeout
            ):
                raise AssertionError(f"line {count} was not handled in {self.timeout} s; {self._report()}")
        if self.lines_done < count:
            raise AssertionError(f"the REPL ended before line {count}; {self._report()}")

    @property
    def buffer(self) -> str | None:
        """The text being edited at the prompt, or None when no prompt is waiting for input."""
        app = self._app_session.app if self._app_session is not None else None
        if app is None or not app.is_running or app.is_done:
            return None
        return str(app.current_buffer.text)

    def wait_buffer(self, text: str, *, keys: str = "", every: float = 0.2) -> None:
        """Wait until the prompt holds ``text``, typing ``keys`` again every ``every`` seconds until then."""
        deadline = time.monotonic() + self.timeout
        last = 0.0
        while self.buffer != text:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise AssertionError(
                    f"the prompt never held {text!r} (it holds {self.buffer!r}); {self._report()}"
                )
            if keys and time.monotonic() - last >= every:
                self.send(keys)
                last = time.monotonic()
            time.sleep(0.01)

    def wait_for(self, text: str) -> None:
        """Wait until ``text`` is in what the REPL printed (stdout or stderr)."""
        deadline = time.monotonic() + self.timeout
        while text not in self.stdout.value + self.stderr.value:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise AssertionError(f"{text!r} never appeared; {self._report()}")
            time.sleep(0.01)

    def exit(self) -> int:
        """Ctrl-D at the prompt; wait for the REPL to end; its status."""
        self.send(CTRL_D)
        return self.close()

    def close(self) -> int:
        """Wait for the REPL to end (after Ctrl-D or /quit), close the controller; the REPL's status."""
        self._thread.join(self.timeout)
        alive = self._thread.is_alive()
        self.controller.runtime.close()
        self._input_cm.__exit__(None, None, None)
        if alive:
            raise AssertionError(f"the REPL did not end; {self._report()}")
        if self.error is not None:
            raise AssertionError(f"the REPL raised {self.error!r}; {self._report()}") from self.error
        assert self.status is not None
        return self.status

    def _report(self) -> str:
        return f"stdout:\n{self.stdout.value}\nstderr:\n{self.stderr.value}"

    def __enter__(self) -> InProcessRepl:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._thread.is_alive():
            self.send(CTRL_D)
        if exc_type is None:
            self.close()
        else:
            try:
                self.close()
            except AssertionError:
                pass
