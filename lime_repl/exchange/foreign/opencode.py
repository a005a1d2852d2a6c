"""Reader for ``opencode export`` JSON (``{info, messages: [{info, parts}]}``).

The shapes are opencode's own (``packages/opencode/src/session/``: the
session ``Info`` {``id``, ``title``, ``directory``, ``time`` {``created``,
``updated``} in Unix ms}; ``message-v2``'s ``WithParts``). A message's
``info`` has ``id``, ``role`` (``user``/``assistant``), ``time.created``; an
assistant's also ``modelID``, ``providerID``, ``tokens`` {``input``,
``output``, ``reasoning``, ``cache`` {``read``, ``write``}}, ``finish``,
``error`` and ``summary: true`` on a compaction's summary. Parts are ``text``,
``reasoning``, ``file`` (``mime``, ``url``), ``tool`` {``callID``, ``tool``,
``state`` {``status``: ``pending``/``running``/``completed``/``error``,
``input``, ``output``, ``error``}}, ``compaction``, ``subtask``,
``step-start``/``step-finish``, ``snapshot``, ``patch``, ``agent``, ``retry``.

Mapping onto lime entries, chained in message order:

* ``text`` (not ``ignored``) becomes text, ``reasoning`` a ``reasoning``
  block tagged ``opencode``, a ``file`` part with an image ``mime`` an
  ``image`` block {``url``, ``mimeType``}; other parts stay in the entry's
  ``source`` with the message's ``info``;
* each ``tool`` part is a ``tool_use`` in the assistant message and a
  ``tool_result`` in the user message after it: ``output`` for completed
  calls, ``error`` (``is_error``) for failed ones, and, as opencode sends it,
  "[Tool execution was interrupted]" (``is_error``) for pending or running ones;
* an assistant message with ``summary: true`` is a lime ``compaction``
  (its text the summary, ``firstKeptEntryId`` the entry after it); the user
  message that asked for it (a ``compaction`` part) is a ``custom`` entry;
* the title is the session's ``title``.
"""

from __future__ import annotations

from typing import Any

from ...store.records import Entry
from .builder import Builder
from .common import Imported, as_dict, as_list, as_str, usage_of

__all__ = ["looks_like", "read"]

TOOL = "opencode"
_INTERRUPTED = "[Tool execution was interrupted]"


def looks_like(value: Any) -> bool:
    """True for ``{info: {id, …}, messages: [{info: {role}, parts: [...]}, …]}``."""
    doc = as_dict(value)
    messages = doc.get("messages")
    if not (isinstance(as_dict(doc.get("info")).get("id"), str) and isinstance(messages, list)):
        return False
    return all(
        isinstance(as_dict(m).get("info"), dict) and isinstance(as_dict(m).get("parts"), list)
        for m in messages[:20]
    )


def _time(info: dict[str, Any]) -> Any:
    return as_dict(info.get("time")).get("created")


def _user_blocks(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for part in parts:
        kind = part.get("type")
        if kind == "text" and not part.get("ignored"):
            out.append({"type": "text", "text": as_str(part.get("text"))})
        elif kind == "file" and as_str(part.get("mime")).startswith("image/"):
            out.append({"type": "image", "url": as_str(part.get("url")), "mimeType": part["mime"]})
    return out


def _result(part: dict[str, Any]) -> dict[str, Any]:
    state = as_dict(part.get("state"))
    status = state.get("status")
    if status == "completed":
        text, failed = as_str(state.get("output")), False
    elif status == "error":
        text, failed = as_str(state.get("error")), True
    else:
        text, failed = _INTERRUPTED, True
    return {
        "type": "tool_result",
        "tool_use_id": as_str(part.get("callID")),
        "content": text,
        "is_error": failed,
    }


def _assistant(b: Builder, info: dict[str, Any], parts: list[dict[str, Any]]) -> Entry:
    content: list[dict[str, Any]] = []
    tools: list[dict[str, Any]] = []
    for part in parts:
        kind = part.get("type")
        if kind == "text" and not part.get("ignored"):
            content.append({"type": "text", "text": as_str(part.get("text"))})
        elif kind == "reasoning":
            content.append(
                {"type": "reasoning", "provider": TOOL, "summary": as_str(part.get("text")), "data": part}
            )
        elif kind == "tool":
            state = as_dict(part.get("state"))
            value = state.get("input")
            content.append(
                {
                    "type": "tool_use",
                    "id": as_str(part.get("callID")),
                    "name": as_str(part.get("tool")),
                    "input": value if isinstance(value, dict) else {"input": value},
                }
            )
            tools.append(part)
        elif kind == "file" and as_str(part.get("mime")).startswith("image/"):
            content.append({"type": "image", "url": as_str(part.get("url")), "mimeType": part["mime"]})
    body: dict[str, Any] = {"type": "message", "role": "assistant", "content": content}
    if isinstance(info.get("modelID"), str):
        body["model"] = info["modelID"]
        body["provider"] = as_str(info.get("providerID"))
    if isinstance(info.get("finish"), str):
        body["stopReason"] = info["finish"]
    tokens = as_dict(info.get("tokens"))
    cache = as_dict(tokens.get("cache"))
    usage = usage_of(
        {**tokens, "cacheRead": cache.get("read"), "cacheWrite": cache.get("write")} if tokens else None,
        input_keys=("input", "cacheRead", "cacheWrite"),
        output_keys=("output", "reasoning"),
        cache_read_keys=("cacheRead",),
        cache_write_keys=("cacheWrite",),
    )
    if usage is not None:
        body["usage"] = usage
    body["source"] = {"info": info, "parts": parts}
    entry = b.add(body, time=_time(info), src=info.get("id"))
    if tools:
        b.add(
            {"type": "message", "role": "user", "content": [_result(p) for p in tools]},
            time=as_dict(as_dict(tools[-1].get("state")).get("time")).get("end") or _time(info),
        )
    return entry


def read(document: dict[str, Any], path: str, warnings: list[str], fallback: str) -> Imported:
    """Map an ``opencode export`` document onto an :class:`Imported`."""
    b = Builder(TOOL, fallback)
    session = as_dict(document.get("info"))
    b.stamp(_time(session))
    b.custom("session", session, time=_time(session), parent=None, node=False)
    compactions: list[Entry] = []
    for message in as_list(document.get("messages")):
        info = as_dict(as_dict(message).get("info"))
        parts = [as_dict(p) for p in as_list(as_dict(message).get("parts"))]
        role = info.get("role")
        if role == "user" and any(p.get("type") == "compaction" for p in parts):
            b.custom("compaction-request", message, time=_time(info), src=info.get("id"))
        elif role == "user":
            body = {"type": "message", "role": "user", "content": _user_blocks(parts), "source": message}
            b.add(body, time=_time(info), src=info.get("id"))
        elif role == "assistant" and info.get("summary") is True:
            text = "\n".join(as_str(p.get("text")) for p in parts if p.get("type") == "text")
            compactions.append(
                b.add(
                    {
                        "type": "compaction",
                        "summary": text,
                        "firstKeptEntryId": None,
                        "trigger": "auto",
                        "source": message,
                    },
                    time=_time(info),
                    src=info.get("id"),
                )
            )
        elif role == "assistant":
            _assistant(b, info, parts)
        else:
            b.custom(f"message/{as_str(role, 'unknown')}", message, time=_time(info))
    entries = b.finish()
    position = {e["id"]: i for i, e in enumerate(entries)}
    for compaction in compactions:
        after = entries[position[compaction["id"]] + 1 :]
        compaction["firstKeptEntryId"] = after[0]["id"] if after else None
    title = session.get("title")
    imported = Imported(
        TOOL,
        as_str(session.get("id")) or None,
        path,
        entries,
        title=title.strip() if isinstance(title, str) and title.strip() else None,
        cwd=as_str(session.get("directory")) or None,
        created=b.first_time,
        warnings=warnings,
    )
    imported.leaf_id = b.last_node
    return imported
