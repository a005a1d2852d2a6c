"""Small prompt-toolkit dialogs for the REPL: choose one of a list, or type one line.

:func:`select` shows a titled list below the prompt (not full screen): Up and
Down (or Ctrl-P/Ctrl-N) move, Page Up/Page Down jump, Home/End go to the
ends, digits 1-9 choose directly, Enter chooses, Esc or Ctrl-C cancels. Long
lists scroll around the selection. :func:`ask_line` reads one line of text
with an optional default. Both return None when cancelled. ``input`` and
``output`` are prompt-toolkit objects (tests pass pipes); by default the
terminal is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from ..textsafe import safe_line

__all__ = ["ask_line", "run_full_screen", "select"]

T = TypeVar("T")

_STYLE = {
    "title": "bold",
    "selected": "reverse",
    "hint": "#888888",
}


def select(
    title: str,
    options: Sequence[tuple[T, str]],
    *,
    default: int = 0,
    height: int = 12,
    input: Any = None,
    output: Any = None,
) -> T | None:
    """Let the user choose one of ``options`` (``(value, label)`` pairs); the value, or None if cancelled."""
    if not options:
        return None
    from prompt_toolkit.application import Application
    from prompt_toolkit.formatted_text import StyleAndTextTuples
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import HSplit, Layout, Window
    from prompt_toolkit.layout.controls import FormattedTextControl
    from prompt_toolkit.layout.dimension import Dimension
    from prompt_toolkit.styles import Style

    state = {"index": max(0, min(default, len(options) - 1)), "top": 0}
    rows = max(1, min(height, len(options)))

    def lines() -> StyleAndTextTuples:
        index = state["index"]
        top = state["top"]
        if index < top:
            top = index
        elif index >= top + rows:
            top = index - rows + 1
        state["top"] = top
        result: StyleAndTextTuples = []
        for i in range(top, min(top + rows, len(options))):
            label = safe_line(options[i][1])
            marker = "›" if i == index else " "
            number = f"{i + 1}." if i < 9 else "  "
            result.append(("class:selected" if i == index else "", f"{marker} {number} {label}\n"))
        return result

    bindings = KeyBindings()

    def move(delta: int) -> None:
        state["index"] = max(0, min(len(options) - 1, state["index"] + delta))

    @bindings.add("up")
    @bindings.add("c-p")
    def _up(event: Any) -> None:
        move(-1)

    @bindings.add("down")
    @bindings.add("c-n")
    def _down(event: Any) -> None:
        move(1)

    @bindings.add("pageup")
    def _page_up(event: Any) -> None:
        move(-rows)

    @bindings.add("pagedown")
    def _page_down(event: Any) -> None:
        move(rows)

    @bindings.add("home")
    def _home(event: Any) -> None:
        state["index"] = 0

    @bindings.add("end")
    def _end(event: Any) -> None:
        state["index"] = len(options) - 1

    @bindings.add("enter")
    def _choose(event: Any) -> None:
        event.app.exit(result=state["index"])

    for digit in range(1, min(9, len(options)) + 1):

        @bindings.add(str(digit))
        def _number(event: Any, i: int = digit - 1) -> None:
            event.app.exit(result=i)

    @bindings.add("escape", eager=True)
    @bindings.add("c-c")
    @bindings.add("c-g")
    def _cancel(event: Any) -> None:
        event.app.exit(result=None)

    layout = Layout(
        HSplit(
            [
                Window(FormattedTextControl([("class:title", safe_line(title))]), height=Dimension.exact(1)),
                Window(FormattedTextControl(lines), height=Dimension.exact(rows), wrap_lines=False),
                Window(
                    FormattedTextControl([("class:hint", "↑/↓ move · Enter choose · Esc cancel")]),
                    height=Dimension.exact(1),
                ),
            ]
        )
    )
    app: Application[int | None] = Application(
        layout=layout,
        key_bindings=bindings,
        style=Style.from_dict(_STYLE),
        full_screen=False,
        erase_when_done=True,
        input=input,
        output=output,
    )
    chosen = app.run()
    return None if chosen is None else options[chosen][0]


def run_full_screen(layout: Any, bindings: Any, style: dict[str, str], *, input: Any = None, output: Any = None) -> Any:
    """Run a full-screen prompt-toolkit application (the picker, the tree view) and return its result.

    Escape sequences are waited for 50 ms, so Esc alone answers at once.
    """
    from prompt_toolkit.application import Application
    from prompt_toolkit.styles import Style

    app: Application[Any] = Application(
        layout=layout,
        key_bindings=bindings,
        style=Style.from_dict(style),
        full_screen=True,
        input=input,
        output=output,
    )
    app.ttimeoutlen = 0.05
    return app.run()


def ask_line(message: str, *, default: str = "", input: Any = None, output: Any = None) -> str | None:
    """One line typed by the user (``default`` pre-filled); None on Esc, Ctrl-C or Ctrl-D."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("escape", eager=True)
    def _cancel(event: Any) -> None:
        event.app.exit(result=None)

    session: PromptSession[str | None] = PromptSession(key_bindings=bindings, input=input, output=output)
    try:
        return session.prompt(message, default=default)
    except (KeyboardInterrupt, EOFError):
        return None
