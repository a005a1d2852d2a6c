"""The approval prompt of the interactive REPL: one key, no Enter (the keys of :data:`~lime_repl.agent.approvals.KEYS`).

``allow bash: git status?  y yes · n no · a always (git commands) · r no, and tell the model why``

The question is a small prompt-toolkit application on the REPL's own input
and output (so tests drive it on pipe input). ``y``, ``n`` and ``a`` answer at
once; ``r`` then reads one line, the reason the model gets in its
``tool_result``; ``Ctrl-C`` (and ``Ctrl-D``) refuse the call and stop the
turn (``KeyboardInterrupt``). Other keys are ignored. The line stays on the
screen with the answer written after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..agent.approvals import KEYS, Decision
from ..runtime.events import ApprovalRequest
from ..textsafe import safe_line

__all__ = ["ApprovalPrompt", "question"]

_ANSWERS = {"y": "yes", "n": "no", "a": "always", "r": "reason"}
_SAID = {"y": "yes", "n": "no", "a": "always", "r": "no, with a reason:"}


def _summary(arguments: Mapping[str, Any]) -> str:
    for key in ("command", "path"):
        value = arguments.get(key)
        if isinstance(value, str):
            return value if len(value) <= 80 else value[:79] + "…"
    return ""


def question(request: ApprovalRequest) -> str:
    """The prompt's text for ``request`` (one line; what "always" covers, and why when it is the exact command)."""
    subject = _summary(request.arguments)
    always = request.always or "this session"
    if request.why:
        always += f", since {request.why}"
    keys = " · ".join(
        f"{key} {KEYS[key]}" + (f" ({always})" if key == "a" else "") for key in ("y", "n", "a", "r")
    )
    return safe_line(f"allow {request.name}{': ' + subject if subject else ''}?  {keys} ")


class ApprovalPrompt:
    """Asks approvals on prompt-toolkit ``input``/``output`` (None: the terminal's); call it with a request."""

    def __init__(self, *, input: Any = None, output: Any = None, color: bool = True) -> None:
        self.input = input
        self.output = output
        self.color = color

    def __call__(self, request: ApprovalRequest) -> Decision:
        """The user's :class:`Decision`. Raises ``KeyboardInterrupt`` on Ctrl-C or Ctrl-D."""
        key = self._key(question(request))
        if key != "r":
            return Decision(_ANSWERS[key])  # type: ignore[arg-type]
        return Decision("reason", self._reason())

    def _key(self, text: str) -> str:
        from prompt_toolkit.application import Application
        from prompt_toolkit.key_binding import KeyBindings
        from prompt_toolkit.layout import Layout, Window
        from prompt_toolkit.layout.controls import FormattedTextControl

        chosen: list[str] = []
        bindings = KeyBindings()

        def answer(key: str) -> None:
            @bindings.add(key)
            @bindings.add(key.upper())
            def _answer(event: Any) -> None:
                chosen.append(key)
                event.app.exit(result=key)

        for key in _ANSWERS:
            answer(key)

        @bindings.add("c-c")
        @bindings.add("c-d")
        def _stop(event: Any) -> None:
            event.app.exit(exception=KeyboardInterrupt())

        @bindings.add("<any>")
        def _ignore(event: Any) -> None:
            """Any other key: keep asking."""

        def body() -> Any:
            said = f"→ {_SAID[chosen[0]]}" if chosen else ""
            return [("class:approval" if self.color else "", text), ("bold" if self.color else "", said)]

        app: Application[str] = Application(
            layout=Layout(Window(FormattedTextControl(body, show_cursor=True), dont_extend_height=True, wrap_lines=True)),
            key_bindings=bindings,
            style=_style(self.color),
            input=self.input,
            output=self.output,
            erase_when_done=False,
            color_depth=None if self.color else _mono(),
        )
        return str(app.run(in_thread=False))

    def _reason(self) -> str:
        from prompt_toolkit import PromptSession

        session: PromptSession[str] = PromptSession(input=self.input, output=self.output)
        try:
            return session.prompt("tell the model why: ")
        except EOFError:
            raise KeyboardInterrupt() from None


def _style(color: bool) -> Any:
    from prompt_toolkit.styles import Style

    return Style.from_dict({"approval": "ansiyellow"} if color else {})


def _mono() -> Any:
    from prompt_toolkit.output.color_depth import ColorDepth

    return ColorDepth.MONOCHROME
