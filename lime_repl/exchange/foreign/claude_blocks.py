"""Claude Code message content as lime blocks, and the record fields kept beside each entry.

Claude Code stores each API message in the Anthropic Messages shape
(``text``, ``tool_use``, ``tool_result``, ``thinking``, ``redacted_thinking``,
``image``). lime keeps the same blocks with these changes:

* ``thinking`` / ``redacted_thinking`` become ``reasoning`` tagged
  ``claude-code`` (the original block in ``data``), so no provider replays it;
* a ``tool_result``'s content is flattened to text; image parts inside it are
  kept as ``image`` blocks right after the ``tool_result`` in the same message
  (lime's ``tool_result.content`` is a string), with ``toolUseId`` naming the
  result they came from;
* every other block (``image``, ``document``, unknown types) is kept as it is.

:func:`record_fields` gives what the record holds beside ``message``
(``uuid``, ``requestId``, ``isMeta``, ``isSidechain``, ``toolUseResult``, …):
it is stored whole in the entry's ``source`` field, so nothing is lost.
"""

from __future__ import annotations

from typing import Any

from .common import as_list, as_str

__all__ = ["TOOL", "blocks", "plain_text", "record_fields"]

TOOL = "claude-code"


def plain_text(content: Any) -> str | None:
    """The text of a message that is a single string or a single text block, else None."""
    if isinstance(content, str):
        return content
    parts = as_list(content)
    if len(parts) == 1 and isinstance(parts[0], dict) and parts[0].get("type") == "text":
        text = parts[0].get("text")
        return text if isinstance(text, str) else None
    return None


def _result(part: dict[str, Any]) -> list[dict[str, Any]]:
    content = part.get("content")
    call_id = as_str(part.get("tool_use_id"))
    if type(content) is str:  # the common case: the text as it is (what the loop below gives for it)
        return [{"type": "tool_result", "tool_use_id": call_id, "content": content, "is_error": part.get("is_error") is True}]
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    items = [content] if isinstance(content, str | dict) else as_list(content)
    for item in items:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict) and item.get("type") == "image":
            images.append(dict(item, toolUseId=call_id))
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            texts.append(item["text"])
        elif isinstance(item, dict):
            texts.append(f"[{as_str(item.get('type'), 'part')}]")
    if not items and isinstance(part.get("text"), str):
        texts.append(part["text"])
    result = {
        "type": "tool_result",
        "tool_use_id": call_id,
        "content": "\n".join(texts),
        "is_error": part.get("is_error") is True,
    }
    return [result, *images]


def blocks(content: Any) -> list[dict[str, Any]]:
    """lime content blocks for a Claude Code ``message.content`` (a string or a list of blocks)."""
    if type(content) is str:  # JSON gives exact types: ``type() is`` is isinstance here, and cheaper
        return [{"type": "text", "text": content}]
    out: list[dict[str, Any]] = []
    for part in content if type(content) is list else ():
        if type(part) is not dict:
            continue  # as an empty block: nothing is kept
        kind = part.get("type")
        if kind == "text":
            text = part.get("text")
            out.append({"type": "text", "text": text if type(text) is str else ""})
        elif kind == "tool_use":
            value, call_id, name = part.get("input"), part.get("id"), part.get("name")
            out.append(
                {
                    "type": "tool_use",
                    "id": call_id if type(call_id) is str else "",
                    "name": name if type(name) is str else "",
                    "input": value if type(value) is dict else {"input": value},
                }
            )
        elif kind == "tool_result":
            if type(part.get("content")) is str:
                out.append(_result(part)[0])
            else:
                out.extend(_result(part))
        elif kind in ("thinking", "redacted_thinking"):
            out.append(
                {"type": "reasoning", "provider": TOOL, "summary": as_str(part.get("thinking")), "data": part}
            )
        elif part:
            out.append(part)
    return out


def record_fields(record: dict[str, Any]) -> dict[str, Any]:
    """Everything of a ``user``/``assistant`` record but its ``message``, kept as the entry's ``source``."""
    fields = dict(record)  # a C-level copy, in the record's order, less the one key
    fields.pop("message", None)
    return fields
