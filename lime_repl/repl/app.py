"""The interactive REPL and line mode (DESIGN.md section 1).

The interactive REPL is a prompt-toolkit ``PromptSession`` with a
per-directory threaded ``FileHistory`` (Up, Ctrl-R), completion of slash
commands and session ids, the :class:`~lime_repl.repl.lexer.LimeInputLexer`,
Alt-Enter/Esc-Enter for a new line and a bottom toolbar. ``!`` lines run on a
pseudo terminal (:mod:`.bang`), complete by bash and have Ctrl-R over past
sessions' ``!`` commands (:mod:`.bang_input`). ``input``/``output``
can be given (prompt-toolkit pipe input and ``DummyOutput``) so tests drive
the real application. Ctrl-Z suspends lime the way a shell suspends a job
(SIGTSTP; ``fg`` brings the prompt back), a message's second and later lines
get the ``...`` continuation prompt, and the toolbar says when ``--yolo`` is
on. Line mode reads stdin line by line, with no prompt and
no colour, and exits with the status of the last line, the way ``bash -s``
does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..paths import cwd_key, ensure_dir
from ..runtime.commands import REGISTRY
from .controller import Controller
from .line_mode import run_line_mode
from .warmup import WarmUp

__all__ = ["PROMPT", "SlashCompleter", "continuation_prompt", "run_interactive", "run_line_mode"]


def _history_file(controller: Controller) -> Path:
    ws = controller.runtime.workspace
    path = ws.home / "history" / f"{cwd_key(ws.cwd)}.txt"
    ensure_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    return path


def _make_completer(controller: Controller) -> Any:
    from prompt_toolkit.completion import Completer, Completion

    from .bang_input import bang_completions, looks_like_path, path_completions

    class _SlashCompleter(Completer):
        """Completes ``/name`` from the registry, then the command's arguments (session ids, paths),
        and ``!`` lines by bash (:mod:`.bang_input`)."""

        def get_completions(self, document: Any, complete_event: Any) -> Iterable[Any]:
            text = document.text_before_cursor.lstrip()
            if text.startswith("!"):
                yield from bang_completions(controller.runtime, text)
                return
            if not text.startswith("/"):
                return
            last = text.rpartition(" ")[2]
            if " " in text and looks_like_path(last):
                yield from path_completions(controller.runtime, last, complete_event)
                return
            word, space, rest = text.partition(" ")
            if not space:
                for name, known in sorted(REGISTRY.by_name.items()):
                    if ("/" + name).startswith(word):
                        yield Completion("/" + name, start_position=-len(word), display_meta=known.help)
                return
            command = REGISTRY.lookup(word)
            if command is None or command.complete is None or " " in rest:
                return
            try:
                for value, meta in command.complete(controller.runtime, rest):
                    if value.startswith(rest):
                        yield Completion(value, start_position=-len(rest), display_meta=meta)
            except Exception:  # a completer must never break the prompt
                return

    return _SlashCompleter()


SlashCompleter = _make_completer


def _toolbar(controller: Controller) -> Any:
    from prompt_toolkit.formatted_text import HTML

    from ..textsafe import safe_line

    cache: dict[str, int] = {}

    def context_used(keeper: Any, session: Any) -> int:
        key = f"{session.session_id}:{session.leaf_id}:{len(session.entries)}"
        if key not in cache:
            cache.clear()
            cache[key] = keeper.tokens(session.branch())
        return cache[key]

    def render() -> Any:
        runtime = controller.runtime
        session = runtime.session
        if session is None:
            return ""
        saved = "" if session.path is not None else " <b>(not saved)</b>"
        title = safe_line(session.title or "untitled")
        parts = [f"<b>{session.short_id}</b>", "{}", f"{len(session.entries)} entries"]
        values = [title]
        if runtime.shell is not None and str(runtime.shell_cwd()) != str(runtime.workspace.cwd):
            parts.append("cwd {}")  # the ! shell has moved away from the session's directory
            values.append(safe_line(str(runtime.shell_cwd())))
        agent = runtime.agent
        if agent is None:
            parts.append("no model")
        else:
            parts.append("{}")
            values.append(safe_line(agent.model))
            keeper = runtime.keeper
            info = runtime.model_info()
            if keeper is not None and info is not None and info.context_window:
                used = context_used(keeper, session)
                parts.append(f"{used:,}/{info.context_window:,} ({100 * used / info.context_window:.0f}%)")
                if keeper.state != "idle":
                    parts.append(f"<b>{keeper.state}…</b>")
        if runtime.yolo:
            parts.append("<b>--yolo: tools run without asking</b>")
        return HTML(" " + " · ".join(parts) + saved + " ").format(*values)

    return render


def _key_bindings(controller: Controller | None = None) -> Any:
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    if controller is not None:

        @bindings.add("c-r", filter=Condition(lambda: _at_empty_bang()))
        def _bang_search(event: Any) -> None:
            """Ctrl-R at an empty ``!`` line: search the ``!`` commands of this directory's sessions too."""
            from .bang_input import search_bang_history

            search_bang_history(event.current_buffer, controller.runtime)

    @bindings.add("escape", "enter")
    def _newline(event: Any) -> None:
        """Alt-Enter / Esc-Enter inserts a newline (multi-line messages)."""
        event.current_buffer.insert_text("\n")

    return bindings


def _at_empty_bang() -> bool:
    from prompt_toolkit.application import get_app

    return get_app().current_buffer.text.strip() in ("!", "!!")


def run_interactive(controller: Controller, *, input: Any = None, output: Any = None) -> int:
    """Prompt, handle lines until Ctrl-D or /quit; returns the status of the last line."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, ThreadedHistory
    from prompt_toolkit.lexers import PygmentsLexer

    from .approval import ApprovalPrompt
    from .lexer import LimeInputLexer, input_style

    color = controller.console.color
    controller.sink.asker = ApprovalPrompt(input=input, output=output, color=color)
    prompt_session: PromptSession[str] = PromptSession(
        history=ThreadedHistory(FileHistory(str(_history_file(controller)))),
        completer=_make_completer(controller),
        lexer=PygmentsLexer(LimeInputLexer) if color else None,
        bottom_toolbar=_toolbar(controller),
        key_bindings=_key_bindings(controller),
        style=input_style(color),
        include_default_pygments_style=False,
        color_depth=None if color else _mono(),
        complete_while_typing=False,
        prompt_continuation=continuation_prompt,
        enable_suspend=True,  # Ctrl-Z: SIGTSTP, like a shell; prompt-toolkit restores the terminal on fg
        input=input,
        output=output,
    )
    if input is None and output is None:
        from .bang import install

        install(controller.runtime, controller.console)  # ! lines get a pseudo terminal
    # The context keeper plans microcompaction on a worker thread. With CPython's default 5 ms switch
    # interval, every wait of the prompt's event loop for the GIL could cost up to 5 ms while that worker
    # runs, and a keystroke's render waits several times: 1 ms keeps typing at rest speed.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    status = 0
    warm_up = WarmUp(controller.runtime.agent)
    try:
        while controller.running:
            default, controller.next_input = controller.next_input or "", None  # set by /tree and /fork
            try:
                line = prompt_session.prompt([("class:prompt", PROMPT)], pre_run=warm_up.start, default=default)
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            status = controller.handle_line(line)
    finally:
        warm_up.close()
        sys.setswitchinterval(switch_interval)
    return status


PROMPT = "lime> "


def continuation_prompt(width: int, line_number: int, wrap_count: int) -> str:
    """The prompt of a message's second and later lines: ``...`` right-aligned in the prompt's ``width``."""
    return "...".rjust(max(width, 4) - 1) + " "


def _mono() -> Any:
    from prompt_toolkit.output.color_depth import ColorDepth

    return ColorDepth.MONOCHROME
