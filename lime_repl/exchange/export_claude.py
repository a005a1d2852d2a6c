"""``lime export --format claude``: a Claude Code project log that ``claude --resume`` can continue.

Claude Code keeps one JSONL file per session in
``~/.claude/projects/<cwd, every character but A-Z a-z 0-9 as ->/<session uuid>.jsonl``.
Each conversation record is ``{type, uuid, parentUuid, isSidechain,
userType, cwd, sessionId, version, timestamp, message}`` where ``message``
is the Anthropic Messages shape (``role``, ``content`` blocks ``text``,
``image``, ``tool_use``, ``tool_result``, ``thinking``); assistant records add
``message.id``, ``model``, ``stop_reason`` and ``usage``. The mapping:

* lime messages keep their blocks; the record's ``uuid`` is derived from the
  lime entry id (:func:`~.export_walk.stable_uuid`) and ``parentUuid`` from
  its parent, so branches stay branches; entries Claude Code has no record
  for (``model_change``, ``system_prompt``, ``label``, ``custom`` …) are
  left out and their children hang from the nearest message above them;
* a ``tool_result`` record also carries ``toolUseResult`` (the result text), as
  Claude Code writes it;
* only signed Anthropic thinking (``thinking`` with a ``signature``, or
  ``redacted_thinking``) is replayed; other providers' reasoning becomes a
  ``text`` block holding its summary, since Anthropic would reject it;
* a bash triple becomes Claude Code's own ``!`` records: a user
  ``<bash-input>`` message, then one holding ``<bash-stdout>`` and
  ``<bash-stderr>``;
* a ``compaction`` becomes a ``system`` record with ``subtype:
  "compact_boundary"`` (``parentUuid`` null, ``logicalParentUuid`` the record
  before, ``compactMetadata {trigger, preTokens}``) followed by the
  ``isCompactSummary`` user record holding the summary;
* the title is a ``summary`` record (``leafUuid`` the leaf) at the top and a
  ``custom-title`` record at the end;
* records off the active branch come first, so the file ends on lime's leaf,
  which is where Claude Code resumes.
"""

from __future__ import annotations

import json
from typing import Any

from .. import __version__
from ..store.entry_guard import repair_text
from ..store.records import Entry
from ..store.state import SessionState
from .export_walk import bash_exchanges, export_order, image_parts, session_uuid, stable_uuid

__all__ = ["claude_project_dir_name", "render_claude"]


def claude_project_dir_name(cwd: str) -> str:
    """Claude Code's project folder name for ``cwd``: every character but ASCII letters and digits as ``-``."""
    return "".join(c if c.isascii() and c.isalnum() else "-" for c in cwd)


def _assistant_blocks(blocks: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            out.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "tool_use":
            args = block.get("input")
            out.append(
                {
                    "type": "tool_use",
                    "id": str(block.get("id", "")),
                    "name": str(block.get("name", "")),
                    "input": args if isinstance(args, dict) else {"input": args},
                }
            )
        elif kind == "reasoning":
            data = block.get("data")
            signed = (
                block.get("provider") == "anthropic"
                and isinstance(data, dict)
                and (
                    (data.get("type") == "thinking" and isinstance(data.get("signature"), str))
                    or (data.get("type") == "redacted_thinking" and isinstance(data.get("data"), str))
                )
            )
            if signed:
                assert isinstance(data, dict)
                out.append(dict(data))
            elif str(block.get("summary") or "").strip():
                out.append({"type": "text", "text": str(block["summary"])})
    return out


def _user_blocks(blocks: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            out.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "image" and (parts := image_parts(block)):
            out.append(
                {"type": "image", "source": {"type": "base64", "media_type": parts[1], "data": parts[0]}}
            )
        elif kind == "tool_result":
            content = block.get("content")
            out.append(
                {
                    "type": "tool_result",
                    "tool_use_id": str(block.get("tool_use_id", "")),
                    "content": content if isinstance(content, str | list) else str(content or ""),
                    "is_error": block.get("is_error") is True,
                }
            )
    return out


def _usage(raw: Any) -> dict[str, int]:
    usage = raw if isinstance(raw, dict) else {}

    def count(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    read, write = count("cache_read_tokens"), count("cache_write_tokens")
    return {
        "input_tokens": max(count("input_tokens") - read - write, 0),
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        "output_tokens": count("output_tokens"),
    }


class _Writer:
    def __init__(self, session: SessionState) -> None:
        self.session = session
        self.sid = session_uuid(session.session_id)
        self.cwd = session.cwd or ""
        self.alias: dict[str, str | None] = {}  # lime id -> uuid its children hang from
        self.records: list[dict[str, Any]] = []

    def uuid(self, entry_id: str) -> str:
        return stable_uuid(self.session.session_id, entry_id)

    def parent(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        if value in self.alias:
            return self.alias[value]
        entry = self.session.entries.get(value)
        return self.uuid(value) if entry is not None and entry.get("type") == "message" else None

    def record(self, kind: str, uuid: str, parent: str | None, stamp: Any, **fields: Any) -> dict[str, Any]:
        record = {
            "parentUuid": parent,
            "isSidechain": False,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.sid,
            "version": __version__,
            "type": kind,
            **fields,
            "uuid": uuid,
            "timestamp": stamp,
        }
        self.records.append(record)
        return record

    def message(self, entry: Entry) -> None:
        blocks: list[Any] = entry["content"] if isinstance(entry.get("content"), list) else []
        uuid, parent, stamp = (
            self.uuid(entry["id"]),
            self.parent(entry.get("parentId")),
            entry.get("timestamp"),
        )
        if entry.get("role") == "assistant":
            message: dict[str, Any] = {
                "id": f"msg_lime_{entry['id']}",
                "type": "message",
                "role": "assistant",
                "model": str(entry.get("model") or ""),
                "content": _assistant_blocks(blocks),
                "stop_reason": entry.get("stopReason") if isinstance(entry.get("stopReason"), str) else None,
                "stop_sequence": None,
                "usage": _usage(entry.get("usage")),
            }
            self.record("assistant", uuid, parent, stamp, message=message)
        else:
            content = _user_blocks(blocks)
            extra: dict[str, Any] = {}
            results = [b for b in content if b["type"] == "tool_result"]
            if results:
                extra["toolUseResult"] = (
                    results[0]["content"] if len(results) == 1 else [r["content"] for r in results]
                )
            self.record("user", uuid, parent, stamp, message={"role": "user", "content": content}, **extra)
        self.alias[entry["id"]] = uuid

    def compaction(self, entry: Entry) -> None:
        before = self.parent(entry.get("parentId"))
        boundary = self.uuid(entry["id"] + ":boundary")
        tokens = entry.get("tokensBefore")
        self.record(
            "system",
            boundary,
            None,
            entry.get("timestamp"),
            subtype="compact_boundary",
            content="Conversation compacted",
            isMeta=False,
            level="info",
            logicalParentUuid=before,
            compactMetadata={
                "trigger": "manual" if entry.get("trigger") == "manual" else "auto",
                "preTokens": tokens if isinstance(tokens, int) else 0,
            },
        )
        summary = self.uuid(entry["id"])
        self.record(
            "user",
            summary,
            boundary,
            entry.get("timestamp"),
            message={"role": "user", "content": str(entry.get("summary") or "")},
            isCompactSummary=True,
            isVisibleInTranscriptOnly=True,
        )
        self.alias[entry["id"]] = summary


def _bash_text(exchange: Any) -> tuple[str, str]:
    return (
        f"<bash-input>{exchange.command}</bash-input>",
        f"<bash-stdout>{exchange.stdout}</bash-stdout><bash-stderr>{exchange.stderr}</bash-stderr>",
    )


def render_claude(session: SessionState) -> tuple[bytes, str]:
    """The Claude Code log for ``session`` and its session uuid (the file's stem)."""
    writer = _Writer(session)
    bash = bash_exchanges(session)
    for entry in export_order(session):
        kind, entry_id = entry.get("type"), entry["id"]
        if kind == "message" and entry_id in bash:
            exchange = bash[entry_id]
            if exchange.ids[0] == entry_id:
                command, output = _bash_text(exchange)
                first, last = writer.uuid(exchange.ids[0]), writer.uuid(exchange.ids[2])
                stamp = entry.get("timestamp")
                writer.record(
                    "user",
                    first,
                    writer.parent(entry.get("parentId")),
                    stamp,
                    message={"role": "user", "content": command},
                )
                writer.record(
                    "user",
                    last,
                    first,
                    exchange.last.get("timestamp"),
                    message={"role": "user", "content": output},
                )
                for member in exchange.ids:
                    writer.alias[member] = last
        elif kind == "message":
            writer.message(entry)
        elif kind == "compaction":
            writer.compaction(entry)
        else:
            writer.alias[entry_id] = writer.parent(entry.get("parentId"))
    leaf = writer.parent(session.leaf_id)
    lines: list[dict[str, Any]] = []
    if session.title:
        lines.append({"type": "summary", "summary": session.title, "leafUuid": leaf})
    lines.extend(writer.records)
    if session.title:
        lines.append({"type": "custom-title", "customTitle": session.title, "sessionId": writer.sid})
    data = "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)
    # Valid UTF-8 whatever an old log held: lone surrogates become U+FFFD (one repair, as in the log).
    return repair_text(data).encode("utf-8"), writer.sid
