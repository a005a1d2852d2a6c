"""The agent loop: one user turn, streamed, with tool calls and approvals, all in the log.

A turn appends the user message, then repeats: build the transcript of the
active branch (:func:`~lime_repl.context.transcript.session_transcript`), stream
the provider's answer, record the assistant message exactly as received
(content blocks, ``usage``, ``model``, ``provider``, ``stopReason``), run the
tool calls it asked for and record their ``tool_result`` blocks, until the
model stops asking for tools (DESIGN.md section 4b).

The loop never prints: everything the user sees goes through a :class:`TurnUI`
that the REPL, line mode or print mode supply. Ctrl-C (``KeyboardInterrupt``)
while streaming records the partial answer with ``stopReason: "cancelled"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..context.transcript import session_transcript
from ..store.session import Session
from .approvals import Approvals, Decision, scope_of
from .providers.base import Provider, ReasoningDelta, TextDelta, TurnEnd
from .providers.blocks import OwnedMessages
from .providers.errors import ContextOverflowError, ProviderError
from .tools.base import ToolContext, ToolResult, run_tool
from .tools.builtin import TOOLS

__all__ = ["Agent", "TurnOutcome", "TurnUI"]

MAX_STEPS = 50


class TurnUI(Protocol):
    """What the loop shows and asks.

    ``approve`` gets the tool, its arguments and what "always" would cover (a label such as
    ``git commands``, and why the scope is the exact command, or ``""``); it returns a
    :class:`~lime_repl.agent.approvals.Decision` or one of ``"y"``, ``"n"``, ``"a"``, and raises
    ``KeyboardInterrupt`` to refuse the call and stop the turn.
    """

    def on_text(self, text: str) -> None: ...

    def on_reasoning(self, text: str) -> None: ...

    def on_message_end(self) -> None: ...

    def on_tool_call(self, name: str, arguments: Mapping[str, Any]) -> None: ...

    def approve(self, name: str, arguments: Mapping[str, Any], always: str, why: str) -> str | Decision: ...

    def on_tool_result(self, name: str, result: ToolResult) -> None: ...


@dataclass
class TurnOutcome:
    """How a turn ended: ``status`` (0 ok, 1 error, 130 cancelled), the final ``text``, an ``error`` line."""

    status: int
    text: str = ""
    error: str | None = None
    entries: list[str] = field(default_factory=list)


class Agent:
    """The model side of a session: provider, model, tools and approval state.

    ``provider`` is built lazily by ``provider_factory`` on first use (or on
    :meth:`warm_up`), so choosing a provider costs nothing at start-up.
    """

    def __init__(
        self,
        provider_name: str,
        model: str,
        provider_factory: Any,
        *,
        cwd: Path,
        env: Mapping[str, str],
        yolo: bool = False,
        max_tokens: int | None = None,
    ) -> None:
        self.provider_name = provider_name
        self.model = model
        self._factory = provider_factory
        self._provider: Provider | None = None
        self.tool_ctx = ToolContext(cwd=cwd, env=env)
        self.yolo = yolo
        #: Redact secrets in tool output before it is logged (config ``redact``, on by default).
        self.redact = True
        #: The session's "always" grants (:mod:`lime_repl.agent.approvals`).
        self.approvals = Approvals()
        self.max_tokens = max_tokens
        self.last_usage: dict[str, Any] | None = None
        #: The session's context keeper (microcompaction and compaction), set by the caller.
        self.context: Any = None

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = self._factory(self.provider_name)
        return self._provider

    def warm_up(self) -> None:
        """Import the SDK and build the client (called on a background thread by the REPL)."""
        self.provider.warm_up()

    def switch(self, provider_name: str, model: str) -> None:
        """Use another provider or model from the next turn on."""
        if provider_name != self.provider_name:
            self._provider = None
        self.provider_name, self.model = provider_name, model

    def summarize(self, entries: list[dict[str, Any]], previous: str | None = None, hint: str | None = None) -> str:
        """A model-written summary of ``entries`` in the fixed sections (no tools, no streaming to the user).

        Raises :class:`ProviderError` when the model cannot be reached; callers
        fall back to :func:`~lime_repl.context.summary.extractive_summary`.
        """
        from ..context.summary import summary_prompt

        system = "You write precise, structured summaries of coding sessions."
        text: list[str] = []
        end: TurnEnd | None = None
        for event in self.provider.stream(system, summary_prompt(entries, previous, hint), [], self.model, None):
            if isinstance(event, TextDelta):
                text.append(event.text)
            elif isinstance(event, TurnEnd):
                end = event
        if end is not None:
            text = [b.get("text", "") for b in end.content if isinstance(b, dict) and b.get("type") == "text"]
        summary = "".join(text).strip()
        if not summary:
            raise ProviderError(f"{self.provider_name}: the model returned an empty summary")
        return summary

    # -- one turn --------------------------------------------------------
    def run_turn(self, session: Session, text: str, ui: TurnUI) -> TurnOutcome:
        """Append the user's ``text`` and run the model until it stops. Provider errors end the turn.

        Raises nothing for provider or tool failures (they become ``TurnOutcome.error``);
        store failures (:class:`~lime_repl.store.segments.WriteFailed`) propagate.
        """
        outcome = TurnOutcome(0)
        user = session.append(
            {"type": "message", "role": "user", "content": [{"type": "text", "text": text}]}
        )
        outcome.entries.append(user["id"])
        return self.continue_turn(session, ui, outcome)

    def continue_turn(self, session: Session, ui: TurnUI, outcome: TurnOutcome | None = None) -> TurnOutcome:
        """Run the model from the session's leaf until it stops asking for tools."""
        outcome = outcome or TurnOutcome(0)
        tools = [tool.schema() for tool in TOOLS.values()]
        retried = False
        for _ in range(MAX_STEPS):
            if self.context is not None:
                self.context.boundary(session)
            system, transcript = session_transcript(session)
            # Given to this request: the provider drops each message once it is encoded (not held twice).
            messages = OwnedMessages(transcript)
            del transcript
            try:
                end, cancelled = self._stream(system, messages, tools, ui, session, outcome)
            except ContextOverflowError as exc:
                # Overflow recovery: compact and retry the request once.
                if retried or self.context is None or self.context.compact_now(session, "overflow") is None:
                    outcome.status, outcome.error = 1, exc.message
                    return outcome
                retried = True
                continue
            if self.context is not None and end is not None:
                self.context.observe(session.branch())
            if cancelled or end is None:
                return outcome
            calls = [b for b in end.content if isinstance(b, dict) and b.get("type") == "tool_use"]
            outcome.text = "".join(b.get("text", "") for b in end.content if b.get("type") == "text")
            if not calls:
                return outcome
            results = []
            interrupted = False
            for call in calls:
                if interrupted:
                    results.append(_result_block(call, ToolResult("cancelled by the user", True)))
                    continue
                try:
                    result = self._run_call(call, ui, session)
                except KeyboardInterrupt as exc:
                    interrupted = True
                    result = ToolResult(str(exc) or "cancelled by the user (Ctrl-C)", True)
                results.append(_result_block(call, result))
            entry = session.append({"type": "message", "role": "user", "content": results})
            outcome.entries.append(entry["id"])
            if interrupted:
                outcome.status = 130
                return outcome
        outcome.status, outcome.error = 1, f"stopped after {MAX_STEPS} model steps in one turn"
        return outcome

    def _stream(
        self,
        system: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        ui: TurnUI,
        session: Session,
        outcome: TurnOutcome,
    ) -> tuple[TurnEnd | None, bool]:
        parts: list[str] = []
        end: TurnEnd | None = None
        try:
            for event in self.provider.stream(system, messages, tools, self.model, self.max_tokens):
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                    ui.on_text(event.text)
                elif isinstance(event, ReasoningDelta):
                    ui.on_reasoning(event.text)
                elif isinstance(event, TurnEnd):
                    end = event
        except KeyboardInterrupt:
            ui.on_message_end()
            partial = [{"type": "text", "text": "".join(parts)}] if parts else []
            entry = session.append(
                {
                    "type": "message",
                    "role": "assistant",
                    "content": partial,
                    "model": self.model,
                    "provider": self.provider_name,
                    "stopReason": "cancelled",
                }
            )
            outcome.entries.append(entry["id"])
            outcome.status, outcome.text = 130, "".join(parts)
            return None, True
        except ContextOverflowError:
            ui.on_message_end()
            raise
        except ProviderError as exc:
            ui.on_message_end()
            outcome.status, outcome.error = exc.exit_code or 1, exc.message
            return None, False
        ui.on_message_end()
        if end is None:
            outcome.status, outcome.error = (
                1,
                f"{self.provider_name}: the stream ended without a final message",
            )
            return None, False
        self.last_usage = end.usage
        entry = session.append(
            {
                "type": "message",
                "role": "assistant",
                "content": end.content,
                "model": end.model or self.model,
                "provider": self.provider_name,
                "usage": end.usage,
                "stopReason": end.stop_reason,
            }
        )
        outcome.entries.append(entry["id"])
        return end, False

    def _run_call(self, call: dict[str, Any], ui: TurnUI, session: Session) -> ToolResult:
        name = str(call.get("name"))
        arguments: dict[str, Any] = call["input"] if isinstance(call.get("input"), dict) else {}
        ui.on_tool_call(name, arguments)
        tool = TOOLS.get(name)
        if tool is None:
            result = ToolResult(f"unknown tool {name!r}; the tools are: {', '.join(TOOLS)}", True)
        elif tool.needs_approval and not self.yolo and not self.approvals.allows(name, arguments):
            scope = scope_of(name, arguments)
            try:
                decision = Decision.of(ui.approve(name, arguments, scope.label, scope.why))
            except KeyboardInterrupt:
                raise KeyboardInterrupt(f"the user refused to run {name} and stopped the turn (Ctrl-C)") from None
            if decision.answer == "always":
                self.approvals.grant(scope)
            if decision.runs:
                result = run_tool(tool, self.tool_ctx, call.get("input"))
            else:
                result = ToolResult(decision.refusal(name), True)
        else:
            result = run_tool(tool, self.tool_ctx, call.get("input"))
        ui.on_tool_result(name, result)
        # The user saw the real output; the log (and so the model) gets the raw output redacted, then capped.
        return ToolResult(result.stored(self._redactor(session)), result.is_error)

    def _redactor(self, session: Session) -> Any:
        """The session's redaction (``str -> str``), or one for the tool environment; None when ``redact = false``."""
        if not self.redact:
            return None
        if session.redact is not None:
            return session.redact
        from ..outputs.redact import Redactor

        return Redactor(self.tool_ctx.env)


def _result_block(call: dict[str, Any], result: ToolResult) -> dict[str, Any]:
    return {
        "type": "tool_result",
        "tool_use_id": call.get("id"),
        "content": result.content,
        "is_error": result.is_error,
    }
