"""``lime export --format codex``: a Codex CLI rollout of the session's active branch.

A rollout (``~/.codex/sessions/YYYY/MM/DD/rollout-<local time>-<uuid>.jsonl``)
is one ``{timestamp, type, payload}`` object per line, in the shapes Codex
itself writes (its ``protocol`` crate; compare any real rollout):

* ``session_meta``: ``{id, timestamp, cwd, originator, cli_version, source,
  model_provider, base_instructions: {text}}``, lime's system prompt as the
  base instructions;
* per user prompt, a ``turn_context`` ``{cwd, approval_policy, sandbox_policy,
  model, summary}``, the ``response_item`` message (``input_text``) and the
  ``event_msg`` ``user_message`` that Codex's session picker lists;
* assistant text: ``response_item`` message (``output_text``) and the
  ``event_msg`` ``agent_message``; reasoning: a ``reasoning`` item whose
  ``summary`` is lime's, with ``encrypted_content`` only when the reasoning
  came from the OpenAI Responses API (Codex's own wire);
* ``tool_use`` -> ``function_call {name, arguments (JSON text), call_id}``;
  ``tool_result`` -> ``function_call_output {call_id, output}``, and for a
  failed result an ``event_msg`` ``exec_command_end`` with ``exit_code`` and
  ``status: "failed"``, the record Codex states failure in;
* a bash triple -> one user ``response_item`` message holding the three
  ``<bash-…>`` texts (Codex has no record for a command the user ran);
* ``compaction`` -> ``compacted {message: summary}``; assistant usage -> an
  ``event_msg`` ``token_count`` with ``info.last_token_usage``.

Codex has no branches, so only the active branch is written.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .. import __version__
from ..store.entry_guard import repair_text
from ..store.records import Entry
from ..store.state import SessionState
from .export_walk import bash_exchanges, epoch_ms, session_uuid

__all__ = ["codex_file_name", "render_codex"]


def codex_file_name(session: SessionState) -> tuple[str, str]:
    """``(YYYY/MM/DD, rollout-YYYY-MM-DDTHH-MM-SS-<uuid>.jsonl)`` in local time of the session's creation."""
    moment = datetime.fromtimestamp(epoch_ms(session.header.get("created")) / 1000)
    name = f"rollout-{moment.strftime('%Y-%m-%dT%H-%M-%S')}-{session_uuid(session.session_id)}.jsonl"
    return moment.strftime("%Y/%m/%d"), name


def _text(blocks: list[Any]) -> str:
    return "\n".join(
        str(b.get("text", "")) for b in blocks if isinstance(b, dict) and b.get("type") == "text"
    )


class _Writer:
    def __init__(self, session: SessionState) -> None:
        self.session = session
        self.lines: list[dict[str, Any]] = []
        self.model = ""

    def line(self, kind: str, stamp: Any, payload: dict[str, Any]) -> None:
        self.lines.append({"timestamp": stamp, "type": kind, "payload": payload})

    def user(self, entry: Entry, blocks: list[Any]) -> None:
        stamp = entry.get("timestamp")
        results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        for block in results:
            call = str(block.get("tool_use_id", ""))
            content = block.get("content")
            output = (
                content if isinstance(content, str) else _text(content if isinstance(content, list) else [])
            )
            self.line(
                "response_item", stamp, {"type": "function_call_output", "call_id": call, "output": output}
            )
            if block.get("is_error") is True:
                end = {"type": "exec_command_end", "call_id": call, "exit_code": 1, "status": "failed",
                       "aggregated_output": output}  # fmt: skip
                self.line("event_msg", stamp, end)
        text = _text(blocks)
        if text or not results:
            sandbox = {"type": "workspace-write", "network_access": False}
            context = {"cwd": self.session.cwd or "", "approval_policy": "on-request", "sandbox_policy": sandbox,
                       "model": self.model, "summary": "auto"}  # fmt: skip
            self.line("turn_context", stamp, context)
            content = [{"type": "input_text", "text": text}]
            self.line("response_item", stamp, {"type": "message", "role": "user", "content": content})
            event = {
                "type": "user_message",
                "message": text,
                "images": [],
                "local_images": [],
                "text_elements": [],
            }
            self.line("event_msg", stamp, event)

    def assistant(self, entry: Entry, blocks: list[Any]) -> None:
        stamp = entry.get("timestamp")
        self.model = str(entry.get("model") or self.model)
        for block in blocks:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                text = str(block.get("text", ""))
                content = [{"type": "output_text", "text": text}]
                self.line(
                    "response_item", stamp, {"type": "message", "role": "assistant", "content": content}
                )
                self.line("event_msg", stamp, {"type": "agent_message", "message": text})
            elif kind == "reasoning":
                summary = [{"type": "summary_text", "text": str(block.get("summary") or "")}]
                item: dict[str, Any] = {"type": "reasoning", "summary": summary, "content": None}
                data = block.get("data")
                if block.get("provider") == "openai-responses" and isinstance(data, dict):
                    if isinstance(data.get("encrypted_content"), str):
                        item["encrypted_content"] = data["encrypted_content"]
                self.line("response_item", stamp, item)
            elif kind == "tool_use":
                args = block.get("input")
                call = {"type": "function_call", "name": str(block.get("name", "")),
                        "arguments": json.dumps(args if args is not None else {}, ensure_ascii=False),
                        "call_id": str(block.get("id", ""))}  # fmt: skip
                self.line("response_item", stamp, call)
        usage = entry.get("usage")
        if isinstance(usage, dict):
            last = {
                "input_tokens": usage.get("input_tokens", 0),
                "cached_input_tokens": usage.get("cache_read_tokens", 0),
                "output_tokens": usage.get("output_tokens", 0),
                "total_tokens": (usage.get("input_tokens") or 0) + (usage.get("output_tokens") or 0),
            }
            self.line("event_msg", stamp, {"type": "token_count", "info": {"last_token_usage": last}})


def render_codex(session: SessionState) -> bytes:
    """The Codex rollout of ``session``'s active branch (see the module doc), UTF-8 JSONL."""
    writer = _Writer(session)
    bash = bash_exchanges(session)
    branch = session.branch()
    writer.model = next(
        (str(e["model"]) for e in branch if e.get("role") == "assistant" and e.get("model")), ""
    )
    provider = next(
        (str(e["provider"]) for e in branch if e.get("role") == "assistant" and e.get("provider")), ""
    )
    created = session.header.get("created") or session.header.get("timestamp")
    meta = {
        "id": session_uuid(session.session_id),
        "timestamp": created,
        "cwd": session.cwd or "",
        "originator": "lime",
        "cli_version": __version__,
        "source": "cli",
        "model_provider": "openai" if provider.startswith("openai") else (provider or "openai"),
        "base_instructions": {"text": session.system_prompt or ""},
    }
    writer.line("session_meta", created, meta)
    for entry in branch:
        kind = entry.get("type")
        blocks: list[Any] = entry["content"] if isinstance(entry.get("content"), list) else []
        if kind == "message" and entry["id"] in bash:
            exchange = bash[entry["id"]]
            if exchange.ids[0] == entry["id"]:
                text = (f"<bash-input>{exchange.command}</bash-input>\n<bash-stdout>{exchange.stdout}</bash-stdout>\n"
                        f"<bash-stderr>{exchange.stderr}</bash-stderr>")  # fmt: skip
                content = [{"type": "input_text", "text": text}]
                writer.line(
                    "response_item",
                    entry.get("timestamp"),
                    {"type": "message", "role": "user", "content": content},
                )
        elif kind == "message" and entry.get("role") == "assistant":
            writer.assistant(entry, blocks)
        elif kind == "message":
            writer.user(entry, blocks)
        elif kind == "compaction":
            writer.line("compacted", entry.get("timestamp"), {"message": str(entry.get("summary") or "")})
    data = "".join(
        json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in writer.lines
    )
    # Valid UTF-8 whatever an old log held: lone surrogates become U+FFFD (one repair, as in the log).
    return repair_text(data).encode("utf-8")
