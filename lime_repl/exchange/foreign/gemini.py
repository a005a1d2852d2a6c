"""Reader for Gemini CLI chat recordings (``~/.gemini/tmp/<project-hash>/chats/session-<time>-<id>.json``).

The format (gemini-cli's ``chatRecordingService``): one JSON document
``{sessionId, projectHash, startTime, lastUpdated, messages: [...], summary?}``.
Each message has ``id``, ``timestamp``, ``type`` and ``content`` (a string, or
a list of Gemini ``Part``s in later versions). ``user`` messages are the
prompts; ``gemini`` messages add ``thoughts`` [{``subject``, ``description``,
``timestamp``}], ``toolCalls`` [{``id``, ``name``, ``args``, ``result`` (a
list of ``functionResponse`` parts), ``status``, ``timestamp``, …}],
``tokens`` {``input``, ``output``, ``cached``, ``thoughts``, ``tool``,
``total``} and ``model``; ``info``, ``error`` and ``warning`` messages are the
UI's notices.

Mapping onto lime entries, chained in file order:

* ``user``: a user message;
* ``gemini``: an assistant message holding one ``reasoning`` block per thought
  (tagged ``gemini-cli``), its text, and one ``tool_use`` per tool call; then
  one user message with the calls' ``tool_result``s, whose text is the
  ``functionResponse.response`` ``output`` (or ``error``) and whose
  ``is_error`` is ``status`` ``error`` or ``cancelled``;
* ``info`` / ``error`` / ``warning`` and any other type: ``custom`` entries;
* the title is the document's ``summary``.
"""

from __future__ import annotations

import json
from typing import Any

from .builder import Builder
from .common import Imported, as_dict, as_list, as_str, usage_of

__all__ = ["looks_like", "read"]

TOOL = "gemini-cli"
_FAILED = ("error", "cancelled")


def looks_like(value: Any) -> bool:
    """True for a document with a ``sessionId`` and a ``messages`` list of ``type``d records."""
    doc = as_dict(value)
    messages = doc.get("messages")
    return (
        isinstance(doc.get("sessionId"), str)
        and isinstance(messages, list)
        and ("projectHash" in doc or "startTime" in doc)
        and all(isinstance(m, dict) and isinstance(m.get("type"), str) for m in messages[:20])
    )


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for part in as_list(content) if not isinstance(content, dict) else [content]:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str) and not part.get("thought"):
            parts.append(part["text"])
    return "\n".join(parts)


def _result_text(call: dict[str, Any]) -> str:
    texts: list[str] = []
    result = call.get("result")
    for part in as_list(result) if not isinstance(result, dict) else [result]:
        part = as_dict(part)
        response = as_dict(as_dict(part.get("functionResponse")).get("response"))
        for key in ("output", "error"):
            value = response.get(key)
            if isinstance(value, str):
                texts.append(value)
            elif value is not None:
                texts.append(json.dumps(value, ensure_ascii=False))
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
    if not texts and isinstance(call.get("resultDisplay"), str):
        texts.append(call["resultDisplay"])
    return "\n".join(texts)


def _assistant(b: Builder, message: dict[str, Any]) -> None:
    stamp = message.get("timestamp")
    content: list[dict[str, Any]] = []
    for thought in as_list(message.get("thoughts")):
        thought = as_dict(thought)
        summary = "\n".join(as_str(thought.get(k)) for k in ("subject", "description") if thought.get(k))
        content.append({"type": "reasoning", "provider": TOOL, "summary": summary, "data": thought})
    text = _text(message.get("content"))
    if text:
        content.append({"type": "text", "text": text})
    calls = [as_dict(c) for c in as_list(message.get("toolCalls"))]
    for call in calls:
        args = call.get("args")
        content.append(
            {
                "type": "tool_use",
                "id": as_str(call.get("id")),
                "name": as_str(call.get("name")),
                "input": args if isinstance(args, dict) else {"args": args},
            }
        )
    body: dict[str, Any] = {"type": "message", "role": "assistant", "content": content, "source": message}
    if isinstance(message.get("model"), str):
        body["model"] = message["model"]
        body["provider"] = "google"
    usage = usage_of(
        message.get("tokens"),
        input_keys=("input",),
        output_keys=("output", "thoughts"),
        cache_read_keys=("cached",),
    )
    if usage is not None:
        body["usage"] = usage
    b.add(body, time=stamp)
    if calls:
        results = [
            {
                "type": "tool_result",
                "tool_use_id": as_str(call.get("id")),
                "content": _result_text(call),
                "is_error": call.get("status") in _FAILED,
            }
            for call in calls
        ]
        b.add(
            {"type": "message", "role": "user", "content": results}, time=calls[-1].get("timestamp") or stamp
        )


def read(document: dict[str, Any], path: str, warnings: list[str], fallback: str) -> Imported:
    """Map a Gemini CLI chat recording onto an :class:`Imported`."""
    b = Builder(TOOL, fallback)
    header = {k: v for k, v in document.items() if k != "messages"}
    b.stamp(document.get("startTime"))
    b.custom("session", header, time=document.get("startTime"), parent=None, node=False)
    for message in as_list(document.get("messages")):
        message = as_dict(message)
        kind = message.get("type")
        if kind == "user":
            b.add(
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "text", "text": _text(message.get("content"))}],
                    "source": message,
                },
                time=message.get("timestamp"),
            )
        elif kind == "gemini":
            _assistant(b, message)
        else:
            b.custom(as_str(kind, "unknown"), message, time=message.get("timestamp"))
    summary = document.get("summary")
    imported = Imported(
        TOOL,
        as_str(document.get("sessionId")) or None,
        path,
        b.finish(),
        title=summary.strip() if isinstance(summary, str) and summary.strip() else None,
        created=b.first_time,
        warnings=warnings,
    )
    imported.leaf_id = b.last_node
    return imported
