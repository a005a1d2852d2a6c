"""Helpers for tests that drive lime's providers against :mod:`fake_providers`."""

from __future__ import annotations

from typing import Any

from lime_repl.agent.providers.base import BaseProvider, Event, TurnEnd

__all__ = ["MODELS", "PROVIDERS", "TOOLS", "run_turn", "user"]

PROVIDERS = ["openai", "openai-responses", "anthropic"]
MODELS = {"openai": "gpt-5.4-mini", "openai-responses": "gpt-5.4", "anthropic": "claude-sonnet-5-5"}
TOOLS = [
    {
        "name": "bash",
        "description": "Run a shell command.",
        "input_schema": {
            "type": "object",
            "properties": {"command": {"type": "string"}},
            "required": ["command"],
        },
    }
]


def run_turn(
    provider: BaseProvider,
    messages: list[dict[str, Any]],
    *,
    system: str = "You are terse.",
    tools: list[dict[str, Any]] | None = None,
    max_tokens: int | None = None,
) -> tuple[list[Event], TurnEnd]:
    """Stream one turn to the end; return every event and the single, final TurnEnd."""
    events = list(
        provider.stream(
            system, messages, TOOLS if tools is None else tools, MODELS[provider.name], max_tokens
        )
    )
    assert isinstance(events[-1], TurnEnd)
    assert sum(isinstance(e, TurnEnd) for e in events) == 1
    return events, events[-1]


def user(text: str) -> dict[str, Any]:
    """A neutral user message with one text block."""
    return {"role": "user", "content": [{"type": "text", "text": text}]}
