"""The tree of a Claude Code log: every record on its chain, compactions, sidechains, the leaf and the title.

Claude Code links records by ``uuid`` / ``parentUuid``, and in 2.1 a message's
parent is often a ``system``, ``progress`` or ``attachment`` record. Every
record that has a ``uuid`` therefore becomes a tree node registered under it:
messages as lime messages, the rest as ``custom`` entries kept on the chain
(``custom`` entries are not sent to the model), so the conversation path runs
through them. Records without a ``uuid`` (``custom-title``, ``queue-operation``,
``file-history-snapshot``, …) are kept as ``custom`` entries beside the current
node, off the chain.

* ``system`` / ``compact_boundary`` (``parentUuid: null``, ``logicalParentUuid``
  naming the last record before it) is kept on the chain under that record, and
  the ``isCompactSummary: true`` user record after it becomes a lime
  ``compaction`` (``summary`` = its text, ``trigger`` and ``tokensBefore`` from
  the boundary's ``compactMetadata``, ``firstKeptEntryId`` = the first entry
  after it), so the history it summarizes stays in the same tree;
* ``system`` / ``microcompact_boundary`` becomes a ``microcompaction`` whose
  ``pruned`` are the results of ``microcompactMetadata.compactedToolIds``;
* sidechain records (``isSidechain: true`` inline, and every record of 2.1's
  ``<session>/subagents/agent-*.jsonl`` files) keep their own chain; a
  sidechain's root is hung under the assistant message whose ``Task`` /
  ``Agent`` call started it (matched by the result's ``toolUseResult.agentId``
  or by the prompt), else under the main-chain node before it, and labelled
  ``subagent <agentId>``: a branch off the main chain;
* the leaf is the newest record of the main chain (the last non-sidechain
  record with a ``uuid``);
* the title is the last ``custom-title``, else the last ``ai-title``, else the
  newest ``summary``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ...store.records import Entry
from .builder import CHAIN, Builder
from .claude_blocks import TOOL, blocks, plain_text, record_fields
from .common import Imported, as_dict, as_list, as_str, flatten_text, usage_of

__all__ = ["ClaudeReader"]

_INPUT = re.compile(r"^\s*<bash-input>(.*)</bash-input>\s*$", re.S)
_OUTPUT = re.compile(r"^\s*<bash-stdout>(.*)</bash-stdout>\s*(?:<bash-stderr>(.*)</bash-stderr>)?\s*$", re.S)
_TASK_TOOLS = ("Task", "Agent")
_CHAINED: tuple[Any, Any] = (CHAIN, None)  # the links of a record without ``parentUuid``: after the last node
_MAPPED = frozenset(("role", "content", "model", "stop_reason", "usage"))  # the message fields lime maps
_TITLE_FIELDS = {"custom-title": "customTitle", "ai-title": "aiTitle", "summary": "summary"}


class ClaudeReader:
    """Reads the records of one Claude Code session (and its subagent files) into an :class:`Imported`."""

    def __init__(
        self, path: str, warnings: list[str], fallback: str, sink: Callable[[Entry], None] | None = None
    ) -> None:
        self.b = Builder(TOOL, fallback, sink)
        self.path = path
        self.warnings = warnings
        self.titles: dict[str, str] = {}
        self.session_id: str | None = None
        self.cwd: str | None = None
        self.leaf: str | None = None
        self.main_last: str | None = None
        self.off_chain: set[str] = set()
        self.boundary: dict[str, Any] = {}
        self.results: dict[str, str] = {}
        self.calls: dict[str, str] = {}
        self.prompts: dict[str, str] = {}
        self.agent_calls: dict[str, str] = {}
        self.side_roots: list[tuple[Entry, str | None, str | None, str | None]] = []
        self.pending_bash: list[Entry] | None = None
        #: Messages holding a block of the source's whose ``type`` is not a string: the only shape a message
        #: this reader builds can get wrong (:func:`~.claude_blocks.blocks` keeps unknown blocks as they are).
        self.suspect: set[str] = set()

    # -- one record ---------------------------------------------------------
    def feed(self, record: Any, *, sidechain: bool = False) -> None:
        """Map one record. With a sink, the entries that are complete go to it when the record is done."""
        self._feed(record, sidechain)
        self.b.flush()

    def _feed(self, record: Any, sidechain: bool) -> None:
        b = self.b
        if not isinstance(record, dict):
            entry = b.custom("value", record, parent=b.last_node, node=False)
            self.off_chain.add(entry["id"])
            return
        kind = record.get("type")
        if not isinstance(kind, str):
            kind = as_str(kind, "unknown")
        stamp = record.get("timestamp")
        if kind in _TITLE_FIELDS:
            self._title(kind, record)
        uuid = record.get("uuid")
        if not isinstance(uuid, str):
            uuid = None
        side = sidechain or record.get("isSidechain") is True
        if uuid is None and "parentUuid" not in record:
            entry = b.custom(kind, record, time=stamp, parent=b.last_node, node=False)
            self.off_chain.add(entry["id"])
            return
        if "parentUuid" in record:
            links: tuple[Any, Any] = (None, record.get("parentUuid") or record.get("logicalParentUuid"))
        else:
            links = _CHAINED
        message = record.get("message")
        if (kind == "user" or kind == "assistant") and isinstance(message, dict):
            if self.session_id is None:
                self.session_id = _str(record.get("sessionId"))
            if self.cwd is None:
                self.cwd = _str(record.get("cwd"))
            entry = self._message(kind, record, message, uuid, links, stamp)
        elif kind == "system" and (subtype := as_str(record.get("subtype"))) == "microcompact_boundary":
            entry = self._microcompaction(record, uuid, links)
        else:
            subtype = as_str(record.get("subtype"))
            if kind == "system" and subtype == "compact_boundary":
                self.boundary = as_dict(record.get("compactMetadata"))
            name = f"{kind}/{subtype}" if kind == "system" and subtype else kind
            entry = b.custom(name, record, time=stamp, src=uuid, parent=links[0], parent_src=links[1])
        if side:
            if not record.get("parentUuid") and not record.get("logicalParentUuid"):
                content = as_dict(message).get("content")
                self.side_roots.append(
                    (entry, _str(record.get("agentId")), plain_text(content), self.main_last)
                )
                b.hold(entry)  # its parent is chosen at the end
        else:
            self.leaf = self.main_last = entry["id"]

    def _title(self, kind: str, record: dict[str, Any]) -> None:
        field = _TITLE_FIELDS.get(kind)
        if field is None:
            return
        value = record.get(field)
        if isinstance(value, str) and value.strip():
            self.titles[kind] = value.strip()

    def _message(
        self,
        kind: str,
        record: dict[str, Any],
        message: dict[str, Any],
        uuid: str | None,
        links: tuple[Any, Any],
        stamp: Any,
    ) -> Entry:
        b = self.b
        content = message.get("content")
        if kind == "user" and record.get("isCompactSummary") is True:
            self._bash(None)
            meta = self.boundary
            trigger = meta.get("trigger") if meta.get("trigger") in ("manual", "auto") else "auto"
            entry = b.add(
                {
                    "type": "compaction",
                    "summary": flatten_text(content),
                    "firstKeptEntryId": None,
                    "tokensBefore": meta.get("preTokens"),
                    "trigger": trigger,
                    "source": record_fields(record) | {"message": message},
                },
                time=stamp,
                src=uuid,
                parent=links[0],
                parent_src=links[1],
            )
            b.await_node(entry, "firstKeptEntryId")  # the first entry after it on the chain
            self.boundary = {}
            return entry
        text = plain_text(content) if kind == "user" else None
        if text is not None and "<bash-" not in text:
            text = None  # neither of the two patterns below can match
        if text is not None and (m := _INPUT.match(text)):
            triple = b.bash(
                m.group(1), "", "", exit_code=0, cwd=self.cwd, time=stamp, src=uuid, parent=links[0], parent_src=links[1]
            )
            triple[0]["source"] = record_fields(record)
            self._bash(triple)
            return triple[2]
        if text is not None and (m := _OUTPUT.match(text)):
            triple = self.pending_bash or b.bash(
                "", "", "", exit_code=0, cwd=self.cwd, time=stamp, parent=links[0], parent_src=links[1]
            )
            triple[1]["content"] = [{"type": "text", "text": f"<bash-stdout>{m.group(1)}</bash-stdout>"}]
            triple[2]["content"] = [
                {"type": "text", "text": f"<bash-stderr>{m.group(2) or ''}</bash-stderr>"}
            ]
            triple[1]["source"] = record_fields(record)
            if uuid is not None:
                b.alias(uuid, triple[2]["id"])
            self._bash(None)
            return triple[2]
        if self.pending_bash is not None:
            self._bash(None)
        body = _body(kind, record, message, content)
        entry = b.add(body, time=stamp, src=uuid, parent=links[0], parent_src=links[1])
        self._note_blocks(entry, record)
        return entry

    def _note_blocks(self, entry: Entry, record: dict[str, Any]) -> None:
        """Register the tool calls and results of the message ``entry`` built from ``record``."""
        for block in entry["content"]:
            block_type = block.get("type")
            if block_type != "tool_use" and block_type != "tool_result":
                if not isinstance(block_type, str):
                    self.suspect.add(entry["id"])
                continue
            if block_type == "tool_use":  # built by blocks(): a string id and name, a dict input
                self.calls[block["id"]] = entry["id"]
                if block["name"] in _TASK_TOOLS:
                    prompt = block["input"].get("prompt")
                    if isinstance(prompt, str):
                        self.prompts.setdefault(prompt.strip(), entry["id"])
            else:
                self.results[block["tool_use_id"]] = entry["id"]
                agent = _str(as_dict(record.get("toolUseResult")).get("agentId"))
                if agent and block["tool_use_id"] in self.calls:
                    self.agent_calls.setdefault(agent, self.calls[block["tool_use_id"]])

    def quick(self, record: Any) -> Entry | None:
        """What :meth:`feed` does with a plain message record, its entry returned, not handed to the sink.

        A plain message record: a ``user`` or ``assistant`` record of the main chain with a ``uuid``
        and a ``message``, neither a compaction summary nor a ``!`` exchange, read while no bash triple
        waits for its output, whose entry :meth:`.Builder.direct` can hand over at once. This is
        nearly every record of a long session, so a streamed import takes this way first. Returns
        None, having changed nothing the entry depends on, for any other record: :meth:`feed` it.
        """
        if type(record) is not dict or self.pending_bash is not None:
            return None
        kind = record.get("type")
        if kind != "user" and kind != "assistant":
            return None
        message, uuid = record.get("message"), record.get("uuid")
        if type(message) is not dict or type(uuid) is not str or not uuid or record.get("isSidechain") is True:
            return None
        content = message.get("content")
        if kind == "user":
            if record.get("isCompactSummary") is True:
                return None
            text = content if type(content) is str else plain_text(content) if type(content) is list and len(content) == 1 else None
            if text is not None and "<bash-" in text:
                return None
        if self.session_id is None or self.cwd is None:
            return None  # _feed takes them from the record
        links = (record.get("parentUuid") or record.get("logicalParentUuid")) if "parentUuid" in record else CHAIN
        entry = self.b.direct(_body(kind, record, message, content), record.get("timestamp"), uuid, links)
        if entry is None:
            return None
        self._note_blocks(entry, record)
        self.leaf = self.main_last = entry["id"]
        return entry

    def _bash(self, triple: list[Entry] | None) -> None:
        """The bash triple whose output may still come (its output entries are held back until then)."""
        if self.pending_bash is not None:
            self.b.release(self.pending_bash[1])
            self.b.release(self.pending_bash[2])
        self.pending_bash = triple
        if triple is not None:
            self.b.hold(triple[1])
            self.b.hold(triple[2])

    def _microcompaction(self, record: dict[str, Any], uuid: str | None, links: tuple[Any, Any]) -> Entry:
        meta = as_dict(record.get("microcompactMetadata"))
        ids = [
            self.results[c]
            for c in as_list(meta.get("compactedToolIds"))
            if isinstance(c, str) and c in self.results
        ]
        saved = meta.get("tokensSaved")
        return self.b.add(
            {
                "type": "microcompaction",
                "pruned": list(dict.fromkeys(ids)),
                "trimmed": [],
                "trigger": "threshold",
                "tokensSaved": saved if isinstance(saved, int) else 0,
                "source": record,
            },
            time=record.get("timestamp"),
            src=uuid,
            parent=links[0],
            parent_src=links[1],
        )

    # -- the end --------------------------------------------------------------
    def shaped(self, entry: Entry) -> bool:
        """True for a ``message`` or ``custom`` entry this reader built that has its type's shape by construction.

        Its blocks are lime's own but for the source's unknown blocks (kept as they are), so only a message
        holding one whose ``type`` is not a string (:attr:`suspect`) needs :func:`~..shapes.checked`.
        """
        kind = entry.get("type")
        return (kind == "message" or kind == "custom") and entry["id"] not in self.suspect

    def finish(self) -> Imported:
        b = self.b
        labels: dict[str, str] = {}
        for entry, agent, prompt, before in self.side_roots:
            if entry.get("parentId") is not None:
                continue
            target = (agent and self.agent_calls.get(agent)) or (prompt and self.prompts.get(prompt.strip()))
            entry["parentId"] = target or before or self.leaf
            labels[entry["id"]] = f"subagent {agent}" if agent else "subagent"
        entries = b.finish()
        title = self.titles.get("custom-title") or self.titles.get("ai-title") or self.titles.get("summary")
        imported = Imported(TOOL, self.session_id, self.path, entries, title=title, cwd=self.cwd)
        imported.warnings = self.warnings
        imported.created = b.first_time
        imported.leaf_id = self.leaf
        imported.labels = labels
        if b.dangling:
            self.warnings.append(
                f"{self.path}: {b.dangling} entries name a parent that is not in the file; they start new branches"
            )
        return imported


def _body(kind: str, record: dict[str, Any], message: dict[str, Any], content: Any) -> dict[str, Any]:
    """The fields of the lime message for a ``user`` or ``assistant`` record (its ``source`` included)."""
    body: dict[str, Any] = {"type": "message", "role": kind, "content": blocks(content)}
    if kind == "assistant":
        model = message.get("model")
        if isinstance(model, str):
            body["model"] = model
            body["provider"] = "anthropic"
        stop = message.get("stop_reason")
        if isinstance(stop, str):
            body["stopReason"] = stop
        usage = message.get("usage")
        if usage:  # usage_of gives None for anything empty
            usage = usage_of(
                usage,
                input_keys=("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"),
                output_keys=("output_tokens",),
                cache_read_keys=("cache_read_input_tokens",),
                cache_write_keys=("cache_creation_input_tokens",),
            )
            if usage is not None:
                body["usage"] = usage
    source = body["source"] = record_fields(record)
    if not message.keys() <= _MAPPED:  # the message fields lime does not map, kept beside it
        source["message"] = {k: v for k, v in message.items() if k not in _MAPPED}
    return body


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
