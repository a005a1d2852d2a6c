"""The interactive REPL and line mode (DESIGN.md section 1).

The interactive REPL is a prompt-toolkit ``PromptSession`` with a
per-directory threaded ``FileHistory`` (Up, Ctrl-R), completion of slash
commands and session ids, the :class:`~lime_repl.repl.lexer.LimeInputLexer`,
Alt-Enter/Esc-Enter for a new line and a bottom toolbar. ``input``/``output``
can be given (prompt-toolkit pipe input and ``DummyOutput``) so tests drive
the real application. Line mode reads stdin line by line, with no prompt and
no colour, and exits with the status of the last line, the way ``bash -s``
does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..paths import cwd_key, ensure_dir
from ..runtime.commands import REGISTRY
from .controller import Controller
from .line_mode import run_line_mode
from .warmup import WarmUp

__all__ = ["SlashCompleter", "run_interactive", "run_line_mode"]


def _history_file(controller: Controller) -> Path:
    ws = controller.runtime.workspace
    path = ws.home / "history" / f"{cwd_key(ws.cwd)}.txt"
    ensure_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    return path


def _make_completer(controller: Controller) -> Any:
    from prompt_toolkit.completion import Completer, Completion

    class _SlashCompleter(Completer):
        """Completes ``/name`` from the registry, then the command's arguments (e.g. session ids)."""

        def get_completions(self, document: Any, complete_event: Any) -> Iterable[Any]:
            text = document.text_before_cursor.lstrip()
            if not text.startswith("/"):
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
        return HTML(" " + " · ".join(parts) + saved + " ").format(*values)

    return render


def _key_bindings() -> Any:
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _newline(event: Any) -> None:
        """Alt-Enter / Esc-Enter inserts a newline (multi-line messages)."""
        event.current_buffer.insert_text("\n")

    return bindings


def run_interactive(controller: Controller, *, input: Any = None, output: Any = None) -> int:
    """Prompt, handle lines until Ctrl-D or /quit; returns the status of the last line."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, ThreadedHistory
    from prompt_toolkit.lexers import PygmentsLexer
    from prompt_toolkit.styles import Style

    from .lexer import LimeInputLexer

    color = controller.console.color
    prompt_session: PromptSession[str] = PromptSession(
        history=ThreadedHistory(FileHistory(str(_history_file(controller)))),
        completer=_make_completer(controller),
        lexer=PygmentsLexer(LimeInputLexer),
        bottom_toolbar=_toolbar(controller),
        key_bindings=_key_bindings(),
        style=Style.from_dict({"prompt": "ansicyan bold", "bottom-toolbar": "noreverse bg:#222222 #aaaaaa"}),
        color_depth=None if color else _mono(),
        complete_while_typing=False,
        input=input,
        output=output,
    )
    status = 0
    warm_up = WarmUp(controller.runtime.agent)
    try:
        while controller.running:
            default, controller.next_input = controller.next_input or "", None  # set by /tree and /fork
            try:
                line = prompt_session.prompt([("class:prompt", "lime> ")], pre_run=warm_up.start, default=default)
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            status = controller.handle_line(line)
    finally:
        warm_up.close()
    return status


def _mono() -> Any:
    from prompt_toolkit.output.color_depth import ColorDepth

    return ColorDepth.MONOCHROME
