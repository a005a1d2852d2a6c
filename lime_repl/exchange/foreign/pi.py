"""Reader for Pi session logs (``~/.pi/agent/sessions/--<cwd>--/<time>_<uuid>.jsonl``).

The format (Pi's ``session-manager.ts``): a ``session`` header
``{type, version?, id, timestamp, cwd, parentSession?}``, then entries. Version
1 entries have no ids; they are migrated the way Pi itself does on load
(fresh 8-hex ids, each entry's parent the previous entry, a compaction's
``firstKeptEntryIndex`` turned into ``firstKeptEntryId``). Version 2 renamed
nothing lime cares about but the ``hookMessage`` role, which v3 calls ``custom``.

Mapping onto lime entries:

* ``message`` with role ``user`` / ``assistant``: lime messages; ``toolCall``
  blocks become ``tool_use``, ``thinking`` becomes ``reasoning``;
* role ``toolResult``: a user message holding one ``tool_result`` with
  ``is_error`` from ``isError`` (its ``image`` parts follow it as image blocks);
* role ``bashExecution`` (Pi's ``!`` mode): the bash triple (Pi keeps stdout
  and stderr as one ``output``, so stderr is empty);
* ``compaction``, ``branch_summary``, ``model_change`` (``modelId`` -> ``model``),
  ``label`` and ``session_info`` (its ``name`` is the title) map one to one;
* everything else (``custom``, ``custom_message``, ``thinking_level_change``,
  the header, other roles) is kept as a ``custom`` entry.

Every ``compaction`` is kept (a v1 file may hold several), and the session's
``created`` is the earliest timestamp of the file, header or entry.

Pi's leaf on load is the last entry of the file; lime's is the last node appended.
"""

from __future__ import annotations

from typing import Any

from .builder import Builder
from .common import Imported, as_dict, as_list, as_str, flatten_text, to_rfc3339, usage_of

__all__ = ["looks_like", "read"]

TOOL = "pi"


def looks_like(records: list[tuple[int, Any]]) -> bool:
    """True when the first record is a Pi ``session`` header (an ``id``, no lime ``sessionId``)."""
    if not records:
        return False
    first = records[0][1]
    return (
        isinstance(first, dict)
        and first.get("type") == "session"
        and isinstance(first.get("id"), str)
        and "sessionId" not in first
    )


def _migrate_v1(entries: list[Any]) -> None:
    """Pi's migrateV1ToV2: give each entry an id and chain it to the previous one."""
    import secrets

    taken: set[str] = set()
    previous: str | None = None
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        while (entry_id := secrets.token_hex(4)) in taken:
            continue
        taken.add(entry_id)
        entry["id"], entry["parentId"] = entry_id, previous
        previous = entry_id
    for entry in entries:
        if isinstance(entry, dict) and entry.get("type") == "compaction":
            index = entry.pop("firstKeptEntryIndex", None)
            # Pi's index counts the header as entry 0.
            if isinstance(index, int) and not isinstance(index, bool) and 1 <= index <= len(entries):
                target = entries[index - 1]
                if isinstance(target, dict):
                    entry["firstKeptEntryId"] = target.get("id")


def _assistant_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for part in as_list(content):
        part = as_dict(part)
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": as_str(part.get("text"))})
        elif kind == "toolCall":
            args = part.get("arguments")
            blocks.append(
                {
                    "type": "tool_use",
                    "id": as_str(part.get("id")),
                    "name": as_str(part.get("name")),
                    "input": args if isinstance(args, dict) else {"arguments": args},
                }
            )
        elif kind == "thinking":
            blocks.append(
                {"type": "reasoning", "provider": TOOL, "summary": as_str(part.get("thinking")), "data": part}
            )
        elif part:
            blocks.append(part)
    return blocks


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [
        p if p.get("type") != "text" else {"type": "text", "text": as_str(p.get("text"))}
        for p in (as_dict(x) for x in as_list(content))
        if p
    ]


def _message(b: Builder, entry: dict[str, Any], cwd: str | None) -> None:
    message = as_dict(entry.get("message"))
    role = message.get("role")
    common: dict[str, Any] = {
        "time": entry.get("timestamp"),
        "src": entry.get("id"),
        "keep_id": entry.get("id"),
        "parent": None,
        "parent_src": entry.get("parentId"),
    }
    if role == "user":
        b.add({"type": "message", "role": "user", "content": _user_blocks(message.get("content"))}, **common)
    elif role == "assistant":
        body: dict[str, Any] = {
            "type": "message",
            "role": "assistant",
            "content": _assistant_blocks(message.get("content")),
        }
        for key in ("model", "provider", "stopReason", "errorMessage"):
            if isinstance(message.get(key), str):
                body[key] = message[key]
        usage = usage_of(
            message.get("usage"),
            input_keys=("input", "cacheRead", "cacheWrite"),
            output_keys=("output",),
            cache_read_keys=("cacheRead",),
            cache_write_keys=("cacheWrite",),
        )
        if usage is not None:
            body["usage"] = usage
        b.add(body, **common)
    elif role == "toolResult":
        parts = as_list(message.get("content"))
        images = [
            dict(p, toolUseId=as_str(message.get("toolCallId")))
            for p in parts
            if as_dict(p).get("type") == "image"
        ]
        result = {
            "type": "tool_result",
            "tool_use_id": as_str(message.get("toolCallId")),
            "content": flatten_text(
                [p for p in parts if as_dict(p).get("type") != "image"]
                if isinstance(message.get("content"), list)
                else message.get("content")
            ),
            "is_error": message.get("isError") is True,
        }
        b.add({"type": "message", "role": "user", "content": [result, *images]}, **common)
    elif role == "bashExecution":
        code = message.get("exitCode")
        cancelled = message.get("cancelled") is True
        exit_code = (
            code if isinstance(code, int) and not isinstance(code, bool) else (130 if cancelled else 0)
        )
        extra: dict[str, Any] = {
            k: message[k] for k in ("cancelled", "truncated", "excludeFromContext") if k in message
        }
        b.bash(
            as_str(message.get("command")),
            as_str(message.get("output")),
            "",
            exit_code=exit_code,
            cwd=cwd,
            extra=extra,
            **common,
        )
    else:
        b.custom(f"message/{as_str(role, 'unknown')}", entry, **common)


def _earliest(values: list[Any]) -> str | None:
    """The earliest of the timestamps (v1 headers may be written after the first entry)."""
    moments = [m for m in (to_rfc3339(v) for v in values) if m is not None]
    return min(moments) if moments else None


def read(records: list[tuple[int, Any]], path: str, warnings: list[str], fallback: str) -> Imported:
    """Map a Pi log's records (the header first) onto an :class:`Imported`."""
    header = as_dict(records[0][1])
    version = header.get("version")
    version = version if isinstance(version, int) and not isinstance(version, bool) else 1
    entries = [value for _, value in records[1:]]
    if version < 2:
        _migrate_v1(entries)
    cwd = header.get("cwd") if isinstance(header.get("cwd"), str) else None
    created = header.get("timestamp")
    b = Builder(TOOL, fallback)
    b.stamp(created)
    b.custom("session", header, time=created, parent=None, node=False)
    title: str | None = None
    for entry in entries:
        if not isinstance(entry, dict):
            b.custom("value", entry)
            continue
        kind = entry.get("type")
        common: dict[str, Any] = {
            "time": entry.get("timestamp"),
            "src": entry.get("id"),
            "keep_id": entry.get("id"),
            "parent": None,
            "parent_src": entry.get("parentId"),
        }
        if kind == "message":
            if version < 3 and as_dict(entry.get("message")).get("role") == "hookMessage":
                entry["message"]["role"] = "custom"
            _message(b, entry, cwd)
        elif kind == "model_change":
            b.add(
                {
                    "type": "model_change",
                    "provider": as_str(entry.get("provider")),
                    "model": as_str(entry.get("modelId")),
                },
                **common,
            )
        elif kind == "compaction":
            details = as_dict(entry.get("details"))
            compaction = b.add(
                {
                    "type": "compaction",
                    "summary": as_str(entry.get("summary")),
                    "firstKeptEntryId": None,
                    "tokensBefore": entry.get("tokensBefore"),
                    "files": {
                        "read": as_list(details.get("readFiles")),
                        "modified": as_list(details.get("modifiedFiles")),
                    },
                },
                **common,
            )
            b.refer(compaction, "firstKeptEntryId", entry.get("firstKeptEntryId"))
        elif kind == "branch_summary":
            summary = b.add(
                {"type": "branch_summary", "fromId": None, "summary": as_str(entry.get("summary"))}, **common
            )
            b.refer(summary, "fromId", entry.get("fromId"))
        elif kind == "label":
            label = b.add(
                {"type": "label", "targetId": None, "label": entry.get("label") or None},
                time=entry.get("timestamp"),
                keep_id=entry.get("id"),
                parent=b.last_node,
                node=False,
            )
            b.refer(label, "targetId", entry.get("targetId"))
        elif kind == "session_info":
            name = entry.get("name")
            title = name if isinstance(name, str) and name else title
            b.add(
                {"type": "title", "title": title},
                time=entry.get("timestamp"),
                keep_id=entry.get("id"),
                parent=b.last_node,
                node=False,
            )
        else:
            b.custom(as_str(kind, "unknown"), entry, **common)
    imported = Imported(
        TOOL,
        as_str(header.get("id")) or None,
        path,
        b.finish(),
        title=title,
        cwd=cwd,
        created=_earliest([created, *(as_dict(e).get("timestamp") for e in entries)]) or b.first_time,
        warnings=warnings,
    )
    imported.leaf_id = b.last_node
    return imported
