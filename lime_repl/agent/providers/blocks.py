"""The neutral message format every provider translates, and the block helpers they share.

What the transcript builder produces and the log stores as ``content``
blocks (DESIGN.md section 3):

* ``messages``: ``[{"role": "user" | "assistant", "content": [block, ...]}, ...]``
* blocks: ``{"type": "text", "text"}``;
  ``{"type": "tool_use", "id", "name", "input": dict}`` (assistant);
  ``{"type": "tool_result", "tool_use_id", "content": str, "is_error": bool}`` (user);
  ``{"type": "reasoning", "provider", "summary": str, "data": opaque}`` (assistant);
  ``{"type": "local_shell", "command", "stdout", "stderr", "exit_code": int, "cwd"}`` (user).
* ``tools``: ``[{"name", "description", "input_schema": JSON schema}, ...]``.

``TurnEnd.usage`` is ``{"input_tokens", "output_tokens", "cache_read_tokens",
"cache_write_tokens", "raw"}``: token counts are ints (0 when unknown) and
``input_tokens`` counts every prompt token sent, cached or not (the OpenAI
convention; Anthropic's separate cache counts are added in). ``raw`` is the
provider's usage object as received.

Each provider module turns these blocks into its wire's request body and
its stream back into them (:mod:`.openai`, :mod:`.openai_responses`,
:mod:`.anthropic`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lime_repl.agent.providers.http import COMPACT_JSON

__all__ = [
    "Block",
    "OwnedMessages",
    "make_usage",
    "parse_tool_arguments",
    "render_local_shell",
    "tool_input_json",
    "tool_result_text",
    "tool_use_block",
]

Block = dict[str, Any]


class OwnedMessages(list[Block]):
    """Neutral messages handed to one request for good: a provider that builds its body a message at a
    time (:mod:`.openai`) empties this list as it goes, so the messages are not held beside the body
    they became. Any other list is left as it is."""

    __slots__ = ()


def make_usage(
    input_tokens: Any = 0,
    output_tokens: Any = 0,
    cache_read_tokens: Any = 0,
    cache_write_tokens: Any = 0,
    raw: Any = None,
) -> dict[str, Any]:
    """The normalized usage dict; None and non-ints count as 0, ``raw`` defaults to ``{}``."""

    def n(value: Any) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return {
        "input_tokens": n(input_tokens),
        "output_tokens": n(output_tokens),
        "cache_read_tokens": n(cache_read_tokens),
        "cache_write_tokens": n(cache_write_tokens),
        "raw": raw if raw is not None else {},
    }


def render_local_shell(block: Mapping[str, Any]) -> str:
    """A ``local_shell`` block as the user text every provider sends.

    ``<bash-input>CMD</bash-input>\\n<bash-stdout>OUT</bash-stdout>\\n<bash-stderr>ERR</bash-stderr>``,
    followed by ``\\n<bash-exit-code>N</bash-exit-code>`` when the exit code is not 0.
    """
    text = (
        f"<bash-input>{block.get('command', '')}</bash-input>\n"
        f"<bash-stdout>{block.get('stdout', '')}</bash-stdout>\n"
        f"<bash-stderr>{block.get('stderr', '')}</bash-stderr>"
    )
    code = block.get("exit_code", 0)
    if code not in (0, None):
        text += f"\n<bash-exit-code>{code}</bash-exit-code>"
    return text


def tool_result_text(block: Mapping[str, Any]) -> str:
    """A tool result's text for wires with no error flag (OpenAI): ``[error] `` marks a failure."""
    content = block.get("content", "")
    if not isinstance(content, str):
        content = json.dumps(content, ensure_ascii=False)
    return f"[error] {content}" if block.get("is_error") else content


def tool_input_json(value: Any) -> str:
    """Tool input as the compact, deterministic JSON string the OpenAI wires carry in ``arguments``."""
    return COMPACT_JSON.encode(value if value is not None else {})


def parse_tool_arguments(raw: str | None) -> tuple[dict[str, Any], str | None]:
    """Parse streamed tool arguments into ``(input, None)``, or ``({}, raw)`` when they are not a JSON object."""
    if raw is None or not raw.strip():
        return {}, None
    try:
        value = json.loads(raw)
    except ValueError:
        return {}, raw
    return (value, None) if isinstance(value, dict) else ({}, raw)


def tool_use_block(call_id: str, name: str, arguments: str | None) -> Block:
    """A neutral ``tool_use`` block; unparseable arguments are kept under ``raw_arguments``."""
    parsed, bad = parse_tool_arguments(arguments)
    block: Block = {"type": "tool_use", "id": call_id, "name": name, "input": parsed}
    if bad is not None:
        block["raw_arguments"] = bad
    return block
