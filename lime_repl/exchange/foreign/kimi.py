"""Readers for Kimi session folders: kimi-cli (legacy) and kimi-code.

*kimi-cli* (``~/.kimi/sessions/<md5(workdir)>/<uuid>/``): ``context.jsonl`` is
the conversation as the model saw it, one message per line keyed by ``role``
(``user``, ``assistant`` with ``tool_calls``, ``tool`` with ``tool_call_id``)
between bookkeeping rows ``_system_prompt``, ``_checkpoint`` and ``_usage``;
``wire.jsonl`` is the UI's event log (``{"timestamp", "message": {"type",
"payload"}}``: ``TurnBegin``, ``ContentPart``, ``ToolCall``, ``ToolResult``...);
``state.json`` holds the title (``custom_title``). As kimi-code's own
migration does, the conversation comes from ``context.jsonl``; ``wire.jsonl``
adds the times and the ``is_error`` of tool results, and is the conversation
only when ``context.jsonl`` has no message. A tool message whose text starts
with ``<system>ERROR`` is an error too (kimi-cli's convention).

*kimi-code* (``~/.kimi-code/sessions/wd_<slug>_<hash>/<id>/``): each agent's
``agents/<agent>/wire.jsonl`` is a flat record log (``metadata``,
``config.update``, ``context.append_message``, ``context.append_loop_event``
with ``step.begin``/``content.part``/``tool.call``/``step.end``/``tool.result``,
``context.apply_compaction``, ``usage.record``...); ``state.json`` has the title.
Messages are rebuilt the way kimi-code's viewer projects them: a
``step.begin`` opens an assistant message that later parts and tool calls of
the same step fill. ``context.apply_compaction`` becomes a lime compaction
whose ``firstKeptEntryId`` is the first message after the ``compactedCount``
compacted ones. Sub-agents' records are kept as ``custom`` entries on a
branch of their own, and so is every record not mapped above.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...store.records import Entry
from .builder import Builder
from .common import (
    Imported,
    as_dict,
    as_list,
    as_str,
    flatten_text,
    parse_arguments,
    to_rfc3339,
    usage_of,
)

__all__ = ["read_kimi_cli", "read_kimi_code"]

Records = list[tuple[int, Any]]


def _parts(content: Any, tool: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in as_list(content) if not isinstance(content, dict) else [content]:
        part = as_dict(part)
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": as_str(part.get("text"))})
        elif kind == "think":
            blocks.append(
                {"type": "reasoning", "provider": tool, "summary": as_str(part.get("think")), "data": part}
            )
        elif part:
            blocks.append(part)
    return blocks


def _tool_use(call: Any) -> dict[str, Any]:
    call = as_dict(call)
    fn = as_dict(call.get("function")) or call
    return {
        "type": "tool_use",
        "id": as_str(call.get("id", call.get("toolCallId"))),
        "name": as_str(fn.get("name")),
        "input": parse_arguments(fn.get("arguments", fn.get("args")), "tool call arguments"),
    }


def _result(call_id: Any, content: Any, is_error: bool) -> dict[str, Any]:
    text = flatten_text(content)
    failed = is_error or text.lstrip().startswith("<system>ERROR")
    return {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": as_str(call_id), "content": text, "is_error": failed}
        ],
    }


def _state(b: Builder, state: Any) -> str | None:
    data = as_dict(state)
    if data:
        b.custom("state", data, parent=None, node=False)
    for key in ("custom_title", "title"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


# -- kimi-cli -------------------------------------------------------------------
def _wire_facts(wire: Records) -> tuple[list[tuple[Any, str]], dict[str, Any], dict[str, tuple[Any, bool]]]:
    """(TurnBegin time and text, ToolCall time by id, ToolResult (time, is_error) by id) from a legacy wire log."""
    turns: list[tuple[Any, str]] = []
    calls: dict[str, Any] = {}
    results: dict[str, tuple[Any, bool]] = {}
    for _, record in wire:
        record = as_dict(record)
        message = as_dict(record.get("message"))
        payload = as_dict(message.get("payload"))
        kind, stamp = message.get("type"), record.get("timestamp")
        if kind == "TurnBegin":
            turns.append((stamp, flatten_text(payload.get("user_input"))))
        elif kind == "ToolCall" and isinstance(payload.get("id"), str):
            calls[payload["id"]] = stamp
        elif kind == "ToolResult" and isinstance(payload.get("tool_call_id"), str):
            results[payload["tool_call_id"]] = (
                stamp,
                as_dict(payload.get("return_value")).get("is_error") is True,
            )
    return turns, calls, results


def _from_wire(b: Builder, wire: Records) -> None:
    """Rebuild the conversation from a legacy wire log alone (no usable context.jsonl)."""
    current: Entry | None = None
    for _, record in wire:
        record = as_dict(record)
        message = as_dict(record.get("message"))
        payload = message.get("payload")
        kind, stamp = message.get("type"), record.get("timestamp")
        if kind == "TurnBegin":
            content = as_dict(payload).get("user_input")
            b.add({"type": "message", "role": "user", "content": _parts(content, "kimi-cli")}, time=stamp)
            current = None
        elif kind in ("ContentPart", "ToolCall"):
            if current is None:
                current = b.add({"type": "message", "role": "assistant", "content": []}, time=stamp)
            block = _parts(payload, "kimi-cli") if kind == "ContentPart" else [_tool_use(payload)]
            current["content"].extend(block)
        elif kind == "ToolResult":
            value = as_dict(as_dict(payload).get("return_value"))
            text = value.get("output") or value.get("message") or ""
            b.add(
                _result(as_dict(payload).get("tool_call_id"), text, value.get("is_error") is True), time=stamp
            )
            current = None
        elif kind == "StepBegin":
            current = None
        else:
            b.custom(f"wire/{as_str(kind, 'unknown')}", record, time=stamp)


def read_kimi_cli(
    context: Records,
    wire: Records,
    state: Any,
    path: str,
    source_id: str | None,
    warnings: list[str],
    fallback: str,
) -> Imported:
    """Map a kimi-cli session folder (parsed ``context.jsonl``, ``wire.jsonl``, ``state.json``).

    ``fallback`` (RFC 3339) is the time of entries nothing dates: the first
    wire event's, else ``state.json``'s ``wire_mtime``, else this value.
    """
    tool = "kimi-cli"
    b = Builder(tool, fallback)
    turns, calls, results = _wire_facts(wire)
    b.stamp(as_dict(state).get("wire_mtime"))
    for _, record in wire:
        if to_rfc3339(as_dict(record).get("timestamp")) is not None:
            b.stamp(as_dict(record)["timestamp"])
            break
    title = _state(b, state)
    usable = any(as_dict(v).get("role") in ("user", "assistant", "tool") for _, v in context)
    if not usable:
        _from_wire(b, wire)
    turn = 0
    for _, record in context if usable else []:
        row = as_dict(record)
        role = row.get("role")
        if role == "user":
            text = flatten_text(row.get("content"))
            stamp = None
            if turn < len(turns) and turns[turn][1] == text:
                stamp, turn = turns[turn][0], turn + 1
            b.add(
                {"type": "message", "role": "user", "content": _parts(row.get("content"), tool)}, time=stamp
            )
        elif role == "assistant":
            uses = [_tool_use(c) for c in as_list(row.get("tool_calls"))]
            stamp = calls.get(uses[0]["id"]) if uses else None
            b.add(
                {"type": "message", "role": "assistant", "content": _parts(row.get("content"), tool) + uses},
                time=stamp,
            )
        elif role == "tool":
            stamp, failed = results.get(as_str(row.get("tool_call_id")), (None, False))
            b.add(_result(row.get("tool_call_id"), row.get("content"), failed), time=stamp)
        else:
            b.custom(f"context/{as_str(role, 'unknown')}", record)
    imported = Imported(tool, source_id, path, b.finish(), title=title, warnings=warnings)
    imported.created = b.first_time
    return imported


# -- kimi-code ------------------------------------------------------------------
def _code_agent(b: Builder, records: Records, on_cwd: Callable[[str], None]) -> None:
    steps: dict[str, Entry] = {}
    history: list[str | None] = []
    for _, record in records:
        row = as_dict(record)
        kind, stamp = row.get("type"), row.get("time")
        event = as_dict(row.get("event"))
        ev = event.get("type")
        if kind == "config.update" and isinstance(row.get("cwd"), str):
            on_cwd(row["cwd"])
        if kind == "context.append_message":
            message = as_dict(row.get("message"))
            role = message.get("role")
            if role == "tool":
                entry = b.add(
                    _result(
                        message.get("toolCallId"), message.get("content"), message.get("isError") is True
                    ),
                    time=stamp,
                )
            elif role in ("user", "assistant"):
                uses = [_tool_use(c) for c in as_list(message.get("toolCalls"))]
                entry = b.add(
                    {
                        "type": "message",
                        "role": role,
                        "content": _parts(message.get("content"), "kimi-code") + uses,
                    },
                    time=stamp,
                )
            else:
                entry = b.custom(as_str(kind), record, time=stamp)
            history.append(entry["id"])
        elif kind == "context.append_loop_event" and ev == "step.begin":
            entry = b.add({"type": "message", "role": "assistant", "content": []}, time=stamp)
            steps[as_str(event.get("uuid"))] = entry
            history.append(entry["id"])
        elif (
            kind == "context.append_loop_event"
            and ev in ("content.part", "tool.call")
            and as_str(event.get("stepUuid")) in steps
        ):
            target = steps[as_str(event.get("stepUuid"))]
            target["content"].extend(
                _parts(event.get("part"), "kimi-code") if ev == "content.part" else [_tool_use(event)]
            )
        elif kind == "context.append_loop_event" and ev == "step.end" and as_str(event.get("uuid")) in steps:
            usage = usage_of(
                event.get("usage"),
                input_keys=("inputOther", "inputCacheRead", "inputCacheCreation"),
                output_keys=("output",),
                cache_read_keys=("inputCacheRead",),
                cache_write_keys=("inputCacheCreation",),
            )
            if usage is not None:
                steps[as_str(event.get("uuid"))]["usage"] = usage
            steps.pop(as_str(event.get("uuid")))
        elif kind == "context.append_loop_event" and ev == "tool.result":
            result = as_dict(event.get("result"))
            entry = b.add(
                _result(event.get("toolCallId"), result.get("output"), result.get("isError") is True),
                time=stamp,
            )
            history.append(entry["id"])
        elif kind == "context.apply_compaction":
            count = row.get("compactedCount")
            count = (
                count
                if isinstance(count, int) and not isinstance(count, bool) and count >= 0
                else len(history)
            )
            kept = history[count:]
            entry = b.add(
                {
                    "type": "compaction",
                    "summary": as_str(row.get("summary")),
                    "firstKeptEntryId": kept[0] if kept else None,
                    "tokensBefore": row.get("tokensBefore"),
                    "tokensAfter": row.get("tokensAfter"),
                    "trigger": "auto",
                },
                time=stamp,
            )
            history = [entry["id"], *kept]
            steps.clear()
        else:
            b.custom(as_str(kind, "unknown") + (f"/{ev}" if isinstance(ev, str) else ""), record, time=stamp)


def read_kimi_code(
    agents: dict[str, Records],
    state: Any,
    path: str,
    source_id: str | None,
    warnings: list[str],
    fallback: str,
) -> Imported:
    """Map a kimi-code session (each agent's parsed ``wire.jsonl``, ``state.json``); ``main`` is the conversation."""
    tool = "kimi-code"
    b = Builder(tool, fallback)
    data = as_dict(state)
    b.stamp(data.get("createdAt"))
    title = _state(b, state)
    cwd: list[str] = []
    for name, records in agents.items():
        if name == "main":
            continue
        b.last_node = None
        for _, record in records:
            b.custom(f"agent/{name}", record, time=as_dict(record).get("time"))
    b.last_node = None
    main = agents.get("main") or []
    for _, record in main[:1]:
        b.stamp(as_dict(record).get("created_at"))
    _code_agent(b, main, cwd.append)
    leaf = b.last_node
    imported = Imported(
        tool, source_id, path, b.finish(), title=title, cwd=cwd[0] if cwd else None, warnings=warnings
    )
    imported.created = b.first_time
    imported.leaf_id = leaf
    return imported
