"""The agent loop's :class:`~lime_repl.agent.loop.TurnUI` in terms of runtime events.

Each callback of a model turn becomes one event on the runtime's
:class:`~lime_repl.runtime.events.Sink`; approvals go to ``sink.approve``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..agent.approvals import Decision
from ..agent.tools.base import ToolResult
from .events import ApprovalRequest, MessageEnd, Sink, TextDelta, ToolCalled, ToolFinished

__all__ = ["SinkTurnUI"]


class SinkTurnUI:
    """A ``TurnUI`` that forwards a turn to ``sink``: text and reasoning deltas, tool calls and results."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def on_text(self, text: str) -> None:
        if text:
            self.sink.emit(TextDelta("assistant", text))

    def on_reasoning(self, text: str) -> None:
        if text:
            self.sink.emit(TextDelta("reasoning", text))

    def on_message_end(self) -> None:
        self.sink.emit(MessageEnd())

    def on_tool_call(self, name: str, arguments: Mapping[str, Any]) -> None:
        self.sink.emit(ToolCalled(name, arguments))

    def approve(self, name: str, arguments: Mapping[str, Any], always: str, why: str) -> str | Decision:
        return self.sink.approve(ApprovalRequest(name, arguments, always, why))

    def on_tool_result(self, name: str, result: ToolResult) -> None:
        self.sink.emit(ToolFinished(name, result.content, result.is_error))
