"""``lime export --format pi``: a pi v3 session file that pi can open and continue.

The format is pi's ``session-manager.ts`` (``CURRENT_SESSION_VERSION = 3``)
with the message shapes of pi's ``packages/ai/src/types.ts`` and
``coding-agent/src/core/messages.ts``:

* line 1: the header ``{type: "session", version: 3, id, timestamp, cwd}``;
  ``id`` is lime's session id as a dashed UUID. It has no ``sessionId`` key,
  which is how lime tells a pi file from its own (lime's header carries
  ``sessionId``; see :func:`lime_repl.exchange.lime_reader.is_lime_header`).
  ``version: 3`` means pi never runs its v1/v2 migrations on the file;
* each entry ``{type, id, parentId, timestamp}`` keeps lime's 8-hex id and
  parent (pi's ids are the same 8 hex);
* ``message`` entries wrap ``message: {role, …, timestamp (Unix ms)}``:
  user ``content`` holds ``text`` and ``image {data, mimeType}``; assistant
  ``content`` holds ``text``, ``toolCall {id, name, arguments}`` and
  ``thinking {thinking, thinkingSignature}``, beside ``api``, ``provider``,
  ``model``, ``usage {input, output, cacheRead, cacheWrite, totalTokens,
  cost}`` and ``stopReason`` (``stop``/``length``/``toolUse``/``error``/``aborted``);
* every ``tool_result`` block becomes its own ``toolResult`` message
  ``{toolCallId, toolName, content, isError}``;
* a bash triple becomes one ``bashExecution`` message ``{command, output,
  exitCode, cancelled, truncated, excludeFromContext}`` (stdout, then stderr);
* ``compaction`` -> ``compaction {summary, firstKeptEntryId, tokensBefore,
  details: {readFiles, modifiedFiles}}``; ``branch_summary``, ``label`` and
  ``model_change`` (``model`` -> ``modelId``) map one to one; ``title`` ->
  ``session_info {name}``; lime's other entries (``system_prompt``,
  ``microcompaction``, ``custom`` …) become pi ``custom`` entries, which pi
  keeps but does not send to the model;
* the last line is a ``session_info`` entry whose parent is lime's leaf: pi's
  leaf on load is the last entry of the file, so pi continues where lime would.

Only signatures the wire understands are kept: an Anthropic thinking
block's ``signature`` and an OpenAI Responses reasoning item (as JSON, the way
pi's openai-responses provider stores it); other reasoning keeps its text only.
"""

from __future__ import annotations

import json
from typing import Any

from ..store.entry_guard import repair_text
from ..store.records import Entry
from ..store.state import SessionState
from .export_walk import (
    BashExchange,
    bash_exchanges,
    epoch_ms,
    export_order,
    image_parts,
    session_uuid,
    stable_uuid,
    tool_names,
)

__all__ = ["pi_file_name", "render_pi"]

_API = {
    "openai": "openai-completions",
    "openai-responses": "openai-responses",
    "anthropic": "anthropic-messages",
}
_PROVIDER = {"openai-responses": "openai"}
_STOP = {
    "end_turn": "stop",
    "stop": "stop",
    "tool_use": "toolUse",
    "max_tokens": "length",
    "length": "length",
    "cancelled": "aborted",
    "error": "error",
}


def pi_file_name(session: SessionState) -> str:
    """pi's file name ``<timestamp with : and . as ->_<uuid>.jsonl`` (``session-manager.ts``)."""
    stamp = str(session.header.get("created") or session.header.get("timestamp") or "")
    return f"{stamp.replace(':', '-').replace('.', '-')}_{session_uuid(session.session_id)}.jsonl"


def _usage(raw: Any) -> dict[str, Any]:
    usage = raw if isinstance(raw, dict) else {}

    def count(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    read, write = count("cache_read_tokens"), count("cache_write_tokens")
    fresh = max(count("input_tokens") - read - write, 0)
    output = count("output_tokens")
    zero = {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "total": 0}
    return {
        "input": fresh,
        "output": output,
        "cacheRead": read,
        "cacheWrite": write,
        "totalTokens": fresh + read + write + output,
        "cost": zero,
    }


def _thinking(block: dict[str, Any]) -> dict[str, Any]:
    data = block.get("data")
    out: dict[str, Any] = {"type": "thinking", "thinking": str(block.get("summary") or "")}
    if block.get("provider") == "anthropic" and isinstance(data, dict):
        if isinstance(data.get("signature"), str):
            out["thinkingSignature"] = data["signature"]
        elif data.get("type") == "redacted_thinking" and isinstance(data.get("data"), str):
            out.update(thinkingSignature=data["data"], redacted=True)
    elif block.get("provider") == "openai-responses" and isinstance(data, dict):
        out["thinkingSignature"] = json.dumps(data, ensure_ascii=False)
    return out


def _assistant(entry: Entry, stamp: int) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for block in entry.get("content") or []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            content.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "tool_use":
            args = block.get("input")
            content.append(
                {
                    "type": "toolCall",
                    "id": str(block.get("id", "")),
                    "name": str(block.get("name", "")),
                    "arguments": args if isinstance(args, dict) else {"input": args},
                }
            )
        elif kind == "reasoning":
            content.append(_thinking(block))
    provider = str(entry.get("provider") or "")
    message: dict[str, Any] = {
        "role": "assistant",
        "content": content,
        "api": _API.get(provider, provider or "unknown"),
        "provider": _PROVIDER.get(provider, provider or "unknown"),
        "model": str(entry.get("model") or ""),
        "usage": _usage(entry.get("usage")),
        "stopReason": _STOP.get(str(entry.get("stopReason") or "end_turn"), "stop"),
        "timestamp": stamp,
    }
    if isinstance(entry.get("errorMessage"), str):
        message["errorMessage"] = entry["errorMessage"]
    return message


def _user_blocks(blocks: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            out.append({"type": "text", "text": str(block.get("text", ""))})
        elif block.get("type") == "image" and (parts := image_parts(block)):
            out.append({"type": "image", "data": parts[0], "mimeType": parts[1]})
    return out


def _result_content(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return _user_blocks(content if isinstance(content, list) else [])


class _Writer:
    """Turns lime entries into pi entries, remembering which pi id stands for each lime id."""

    def __init__(self, session: SessionState) -> None:
        self.session = session
        self.bash = bash_exchanges(session)
        self.names = tool_names(session)
        self.alias: dict[str, str] = {}  # lime id -> the pi id its children hang from
        self.taken: set[str] = set(session.entries)
        self.lines: list[dict[str, Any]] = []

    def fresh(self, seed: str) -> str:
        """An 8-hex id derived from ``seed`` (the same on every export), not used before."""
        entry_id = stable_uuid(self.session.session_id, seed)[:8]
        while entry_id in self.taken:
            entry_id = stable_uuid(self.session.session_id, seed := seed + "'")[:8]
        self.taken.add(entry_id)
        return entry_id

    def parent(self, value: Any) -> str | None:
        return self.alias.get(value, value) if isinstance(value, str) else None

    def emit(self, kind: str, entry_id: str, parent: str | None, stamp: Any, **fields: Any) -> None:
        self.lines.append({"type": kind, "id": entry_id, "parentId": parent, "timestamp": stamp, **fields})

    def message(self, entry: Entry) -> None:
        stamp, ms = entry.get("timestamp"), epoch_ms(entry.get("timestamp"))
        parent = self.parent(entry.get("parentId"))
        blocks = [b for b in entry.get("content") or [] if isinstance(b, dict)]
        if entry.get("role") == "assistant":
            self.emit("message", entry["id"], parent, stamp, message=_assistant(entry, ms))
            return
        results = [b for b in blocks if b.get("type") == "tool_result"]
        rest = _user_blocks([b for b in blocks if b.get("type") != "tool_result"])
        ids = [entry["id"]] + [self.fresh(f"{entry['id']}/{n}") for n in range(len(results) + bool(rest) - 1)]
        for block, pi_id in zip(results, ids, strict=False):
            call = str(block.get("tool_use_id", ""))
            message = {
                "role": "toolResult",
                "toolCallId": call,
                "toolName": self.names.get(call, ""),
                "content": _result_content(block.get("content")),
                "isError": block.get("is_error") is True,
                "timestamp": ms,
            }
            self.emit("message", pi_id, parent, stamp, message=message)
            parent = pi_id
        if rest or not results:
            self.emit(
                "message", ids[-1], parent, stamp, message={"role": "user", "content": rest, "timestamp": ms}
            )
        self.alias[entry["id"]] = ids[-1]

    def bash_execution(self, exchange: BashExchange) -> None:
        first = exchange.first
        shell = first.get("shell") or {}
        truncated: dict[str, Any] = (
            shell["truncatedBytes"] if isinstance(shell.get("truncatedBytes"), dict) else {}
        )
        message: dict[str, Any] = {
            "role": "bashExecution",
            "command": exchange.command,
            "output": exchange.stdout + exchange.stderr,
            "exitCode": exchange.exit_code,
            "cancelled": shell.get("interrupted") is True,
            "truncated": any(isinstance(v, int) and v > 0 for v in truncated.values()),
            "timestamp": epoch_ms(first.get("timestamp")),
        }
        if not exchange.context:
            message["excludeFromContext"] = True
        self.emit(
            "message",
            first["id"],
            self.parent(first.get("parentId")),
            first.get("timestamp"),
            message=message,
        )
        for member in exchange.ids:
            self.alias[member] = first["id"]

    def entry(self, entry: Entry) -> None:
        kind, entry_id = entry.get("type"), entry["id"]
        stamp, parent = entry.get("timestamp"), self.parent(entry.get("parentId"))
        if kind == "message" and entry_id in self.bash:
            if self.bash[entry_id].ids[0] == entry_id:
                self.bash_execution(self.bash[entry_id])
        elif kind == "message":
            self.message(entry)
        elif kind == "compaction":
            files: dict[str, Any] = entry["files"] if isinstance(entry.get("files"), dict) else {}
            tokens = entry.get("tokensBefore")
            self.emit(
                "compaction",
                entry_id,
                parent,
                stamp,
                summary=str(entry.get("summary") or ""),
                firstKeptEntryId=self.parent(entry.get("firstKeptEntryId")),
                tokensBefore=tokens if isinstance(tokens, int) else 0,
                details={"readFiles": files.get("read") or [], "modifiedFiles": files.get("modified") or []},
            )
        elif kind == "branch_summary":
            summary = str(entry.get("summary") or "")
            self.emit(
                "branch_summary",
                entry_id,
                parent,
                stamp,
                fromId=self.parent(entry.get("fromId")),
                summary=summary,
            )
        elif kind == "model_change":
            fields = {"provider": str(entry.get("provider") or ""), "modelId": str(entry.get("model") or "")}
            self.emit("model_change", entry_id, parent, stamp, **fields)
        elif kind == "label":
            self.emit(
                "label",
                entry_id,
                parent,
                stamp,
                targetId=self.parent(entry.get("targetId")),
                label=entry.get("label"),
            )
        elif kind == "title":
            self.emit("session_info", entry_id, parent, stamp, name=entry.get("title") or "")
        elif kind == "custom" and isinstance(entry.get("customType"), str):
            self.emit(
                "custom", entry_id, parent, stamp, customType=entry["customType"], data=entry.get("data")
            )
        else:
            fields = {k: v for k, v in entry.items() if k not in ("type", "id", "parentId", "timestamp")}
            self.emit("custom", entry_id, parent, stamp, customType=f"lime:{kind}", data=fields)


def render_pi(session: SessionState) -> bytes:
    """The pi v3 file for ``session`` (see the module doc), UTF-8 JSONL."""
    writer = _Writer(session)
    for entry in export_order(session):
        writer.entry(entry)
    leaf = writer.parent(session.leaf_id)
    last_stamp = writer.lines[-1]["timestamp"] if writer.lines else session.header.get("timestamp")
    tail = writer.fresh("session_info")
    writer.emit("session_info", tail, leaf, last_stamp, **({"name": session.title} if session.title else {}))
    header = {
        "type": "session",
        "version": 3,
        "id": session_uuid(session.session_id),
        "timestamp": session.header.get("created") or session.header.get("timestamp"),
        "cwd": session.cwd or "",
    }
    lines = [header, *writer.lines]
    data = "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)
    # Valid UTF-8 whatever an old log held: lone surrogates become U+FFFD (one repair, as in the log).
    return repair_text(data).encode("utf-8")
