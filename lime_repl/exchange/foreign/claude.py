"""Reader for Claude Code project logs (``~/.claude/projects/<dashed-cwd>/<session-id>.jsonl``).

Each line is a record with a ``type``: ``user`` and ``assistant`` records carry
``uuid``, ``parentUuid``, ``sessionId``, ``cwd``, ``timestamp`` and ``message``
(the Anthropic Messages shape: ``text``, ``tool_use``, ``tool_result``,
``thinking`` blocks); ``summary`` records name a conversation; ``system``,
``file-history-snapshot`` and newer types carry bookkeeping.

Mapping onto lime entries:

* ``uuid``/``parentUuid`` become the tree (``parentUuid: null`` starts a root,
  ``logicalParentUuid`` bridges a compaction boundary, and a record with no
  ``parentUuid`` key at all follows the previous record);
* ``tool_result`` blocks keep ``is_error``; their content is flattened to text;
* Claude Code's own ``!`` mode writes ``<bash-input>`` and then
  ``<bash-stdout>``/``<bash-stderr>`` user messages: they become lime's bash
  triple (Claude Code records no exit code, so it is 0);
* ``thinking`` blocks become ``reasoning`` tagged ``claude-code``;
* the first ``summary`` is the title; every other record type is kept as a
  ``custom`` entry.

The leaf is the last main-chain (non-sidechain) message of the file.
"""

from __future__ import annotations

import re
from typing import Any

from ...store.records import Entry
from .common import CHAIN, Builder, Imported, as_dict, as_list, as_str, flatten_text, usage_of

__all__ = ["looks_like", "read"]

TOOL = "claude-code"
_INPUT = re.compile(r"^\s*<bash-input>(.*)</bash-input>\s*$", re.S)
_OUTPUT = re.compile(r"^\s*<bash-stdout>(.*)</bash-stdout>\s*(?:<bash-stderr>(.*)</bash-stderr>)?\s*$", re.S)


def looks_like(records: list[tuple[int, Any]]) -> bool:
    """True when an early record is a Claude Code ``user``/``assistant``/``summary`` record."""
    for _, value in records[:50]:
        if not isinstance(value, dict):
            continue
        kind = value.get("type")
        if kind in ("user", "assistant") and isinstance(value.get("message"), dict):
            return True
        if kind == "summary" and "leafUuid" in value:
            return True
        if kind == "file-history-snapshot" and "messageId" in value:
            return True
    return False


def _plain_text(content: Any) -> str | None:
    """The text of a message that is a single string or a single text block, else None."""
    if isinstance(content, str):
        return content
    parts = as_list(content)
    if len(parts) == 1 and isinstance(parts[0], dict) and parts[0].get("type") == "text":
        text = parts[0].get("text")
        return text if isinstance(text, str) else None
    return None


def _blocks(content: Any, role: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for part in as_list(content):
        part = as_dict(part)
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": as_str(part.get("text"))})
        elif kind == "tool_use":
            value = part.get("input")
            blocks.append(
                {
                    "type": "tool_use",
                    "id": as_str(part.get("id")),
                    "name": as_str(part.get("name")),
                    "input": value if isinstance(value, dict) else {"input": value},
                }
            )
        elif kind == "tool_result":
            blocks.append(
                {
                    "type": "tool_result",
                    "tool_use_id": as_str(part.get("tool_use_id")),
                    "content": flatten_text(part.get("content")),
                    "is_error": part.get("is_error") is True,
                }
            )
        elif kind in ("thinking", "redacted_thinking"):
            blocks.append(
                {"type": "reasoning", "provider": TOOL, "summary": as_str(part.get("thinking")), "data": part}
            )
        elif part:
            blocks.append(part)
    return blocks


def read(records: list[tuple[int, Any]], path: str, warnings: list[str], fallback: str) -> Imported:
    """Map a Claude Code log's records onto an :class:`Imported`."""
    b = Builder(TOOL, fallback)
    title: str | None = None
    session_id: str | None = None
    cwd: str | None = None
    leaf: str | None = None
    pending_bash: list[Entry] | None = None
    for _lineno, record in records:
        if not isinstance(record, dict):
            b.custom("value", record)
            continue
        kind = record.get("type")
        stamp = record.get("timestamp")
        if kind == "summary":
            summary = record.get("summary")
            if title is None and isinstance(summary, str) and summary.strip():
                title = summary.strip()
            b.custom("summary", record, time=stamp, node=False, parent=b.last_node)
            continue
        message = record.get("message")
        if kind not in ("user", "assistant") or not isinstance(message, dict):
            b.custom(as_str(kind, "unknown"), record, time=stamp)
            continue
        session_id = session_id or (
            record.get("sessionId") if isinstance(record.get("sessionId"), str) else None
        )
        cwd = cwd or (record.get("cwd") if isinstance(record.get("cwd"), str) else None)
        uuid = record.get("uuid")
        if "parentUuid" in record:
            parent_src = record.get("parentUuid") or record.get("logicalParentUuid")
            links: dict[str, Any] = {"parent": None, "parent_src": parent_src}
        else:
            links = {"parent": CHAIN}
        content = message.get("content")
        text = _plain_text(content) if kind == "user" else None
        if text is not None and (m := _INPUT.match(text)):
            pending_bash = b.bash(m.group(1), "", "", exit_code=0, cwd=cwd, time=stamp, src=uuid, **links)
            entry_id = pending_bash[2]["id"]
        elif text is not None and (m := _OUTPUT.match(text)):
            if pending_bash is None:
                pending_bash = b.bash("", "", "", exit_code=0, cwd=cwd, time=stamp, **links)
            pending_bash[1]["content"] = [
                {"type": "text", "text": f"<bash-stdout>{m.group(1)}</bash-stdout>"}
            ]
            pending_bash[2]["content"] = [
                {"type": "text", "text": f"<bash-stderr>{m.group(2) or ''}</bash-stderr>"}
            ]
            if isinstance(uuid, str):
                b.alias(uuid, pending_bash[2]["id"])
            entry_id, pending_bash = pending_bash[2]["id"], None
        else:
            pending_bash = None
            body: dict[str, Any] = {"type": "message", "role": kind, "content": _blocks(content, kind)}
            if kind == "assistant":
                if isinstance(message.get("model"), str):
                    body["model"] = message["model"]
                    body["provider"] = "anthropic"
                if isinstance(message.get("stop_reason"), str):
                    body["stopReason"] = message["stop_reason"]
                usage = usage_of(
                    message.get("usage"),
                    input_keys=("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"),
                    output_keys=("output_tokens",),
                    cache_read_keys=("cache_read_input_tokens",),
                    cache_write_keys=("cache_creation_input_tokens",),
                )
                if usage is not None:
                    body["usage"] = usage
            entry_id = b.add(body, time=stamp, src=uuid, **links)["id"]
        if record.get("isSidechain") is not True:
            leaf = entry_id
    imported = Imported(TOOL, session_id, path, b.finish(), title=title, cwd=cwd, warnings=warnings)
    imported.created = b.first_time
    imported.leaf_id = leaf
    if b.dangling:
        warnings.append(
            f"{path}: {b.dangling} entries name a parent that is not in the file; they start new branches"
        )
    return imported
