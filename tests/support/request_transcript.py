"""A transcript that uses every neutral block type, and the provider set-ups to send it with.

Shared by the request-body tests, which compare what each provider sends for it
with the bytes recorded in ``tests/data/requests/`` (captured from the official
SDKs' request path, so the body stays byte-identical across implementations).
"""

from __future__ import annotations

from typing import Any

__all__ = ["CASES", "SYSTEM", "TRANSCRIPT"]

SYSTEM = "You are terse. Ünïcödé and \"quotes\" stay as they are."

_RESPONSES_REASONING = {
    "type": "reasoning",
    "id": "rs_1",
    "summary": [{"type": "summary_text", "text": "thinking about ls"}],
    "encrypted_content": "gAAAAB-opaque-state",
}
_ANTHROPIC_THINKING = {"type": "thinking", "thinking": "list the files", "signature": "c2lnbmF0dXJl"}

TRANSCRIPT: list[dict[str, Any]] = [
    {"role": "user", "content": [{"type": "text", "text": "list the files — please\n\ttab, 日本語"}]},
    {
        "role": "assistant",
        "content": [
            {"type": "reasoning", "provider": "openai-responses", "summary": "s", "data": _RESPONSES_REASONING},
            {"type": "reasoning", "provider": "anthropic", "summary": "t", "data": _ANTHROPIC_THINKING},
            {"type": "text", "text": "Running ls."},
            {"type": "tool_use", "id": "call_1", "name": "bash", "input": {"command": "ls -la", "n": 1.5}},
        ],
    },
    {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "a.txt\nb.txt", "is_error": False},
        ],
    },
    {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "call_2", "name": "bash", "input": {}, "raw_arguments": "{not json"},
        ],
    },
    {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "call_2", "content": "bad args", "is_error": True},
            {"type": "local_shell", "command": "false", "stdout": "", "stderr": "err\n", "exit_code": 1, "cwd": "/"},
            {"type": "text", "text": "and now?"},
        ],
    },
]

#: case name -> (provider name, provider options, max_tokens)
CASES: dict[str, tuple[str, dict[str, Any], int | None]] = {
    "chat": ("openai", {}, None),
    "chat_max_tokens": ("openai", {}, 321),
    "responses": ("openai-responses", {}, None),
    "responses_reasoning": (
        "openai-responses",
        {"reasoning_effort": "low", "reasoning_summary": "auto"},
        500,
    ),
    "anthropic": ("anthropic", {}, None),
    "anthropic_thinking": ("anthropic", {"thinking": 2048, "effort": "high"}, 1000),
}
