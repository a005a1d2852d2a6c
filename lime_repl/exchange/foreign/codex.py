"""Reader for Codex CLI rollouts (``~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<uuid>.jsonl``).

Each line is ``{"timestamp", "type", "payload"}``. ``session_meta`` opens the
file (id, cwd, base instructions); ``response_item`` lines are the items the
model saw or produced (the Responses API shapes); ``event_msg`` lines are the
UI's event stream (``user_message``, ``agent_message``, ``token_count``, ...);
``turn_context`` and ``compacted`` record settings and compactions.

Mapping onto lime entries (one entry per line, chained in file order):

* ``response_item`` ``message`` with role ``user``/``assistant``: lime messages
  (``input_text``/``output_text`` become ``text``); roles ``developer`` and
  ``system`` hold Codex's own instructions and are kept as ``custom`` entries,
  so they are not sent to lime's model;
* ``reasoning``: an assistant message with a ``reasoning`` block tagged ``codex``;
* ``function_call``, ``custom_tool_call``, ``local_shell_call``: an assistant
  ``tool_use`` (``call_id`` is the id; JSON ``arguments`` are parsed);
* ``function_call_output``, ``custom_tool_call_output``: a ``tool_result``;
  ``is_error`` comes from the call's end event when there is one
  (``exec_command_end``: ``exit_code`` not 0 or ``status: "failed"``;
  ``patch_apply_end``: ``success: false`` or ``status: "failed"``;
  ``mcp_tool_call_end``: an ``Err`` result or ``isError``), so unified-exec
  outputs ("Process running with session ID …") take the status of the
  command's end; otherwise from ``success: false``, a non-zero
  ``metadata.exit_code``, or an ``Exit code: N`` / ``Process exited with code N``
  line with N not 0;
* a user message holding Codex's context (``<environment_context>``,
  ``<user_instructions>``, ``# AGENTS.md instructions``) is kept as a
  ``custom`` entry ``codex:context``, not a prompt;
* ``event_msg`` ``user_message`` whose text no ``response_item`` user message
  holds becomes the user message (some versions record the prompt only there);
* ``compacted``: a lime ``compaction`` whose summary is its ``message``;
* ``event_msg`` ``token_count``: its ``last_token_usage`` becomes the ``usage``
  of the latest assistant message; the title is the last ``thread_name_updated``
  ``thread_name``, else the first line of the first ``user_message``;
* ``input_image`` parts become ``image`` blocks {``url``}, in messages and
  in tool outputs (there after the ``tool_result``);
* the mid-2025 shape without the ``payload`` envelope (a first line with the
  session's ``id``, ``{"record_type": "state"}`` lines, items as lines) is read
  the same way;
* every line not mapped above (``session_meta``, ``event_msg``,
  ``turn_context``, other item types) is kept as a ``custom`` entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

from ...store.records import Entry
from ..guard import loads
from .builder import Builder
from .common import Imported, as_dict, as_list, as_str, flatten_text, parse_arguments, usage_of

__all__ = ["looks_like", "mapped", "read"]

TOOL = "codex"
_TYPES = frozenset({"session_meta", "response_item", "event_msg", "turn_context", "compacted"})
_ITEMS = (
    "message",
    "reasoning",
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "local_shell_call",
    "web_search_call",
)
_CONTEXT = ("<environment_context>", "<user_instructions>", "# AGENTS.md instructions", "<INSTRUCTIONS>")
_EXIT = re.compile(r"^(?:Exit code:|Process exited with code)\s*(-?\d+)", re.M)
_CALLS = ("function_call", "custom_tool_call", "local_shell_call")
_OUTPUTS = ("function_call_output", "custom_tool_call_output")


def looks_like(records: list[tuple[int, Any]]) -> bool:
    """True for rollout lines: the first ones ``{"type", "payload"}`` with a known type among them
    (unknown types such as ``world_state`` are allowed), or the envelope-less mid-2025 shape."""
    head = [value for _, value in records[:5]]
    if head and all(isinstance(v, dict) and "payload" in v for v in head):
        return any(isinstance(v.get("type"), str) and v["type"] in _TYPES for v in head)
    return _bare(records)


def _bare(records: list[tuple[int, Any]]) -> bool:
    """The mid-2025 shape: ``{"record_type": "state"}`` lines, or a session line then bare items."""
    head = [as_dict(value) for _, value in records[:5]]
    if any(v.get("record_type") == "state" for v in head):
        return True
    return (
        len(head) > 1
        and isinstance(head[0].get("id"), str)
        and "timestamp" in head[0]
        and "type" not in head[0]
        and head[1].get("type") in _ITEMS
    )


def _envelope(record: Any, first: bool) -> dict[str, Any]:
    """A line of either shape as ``{"type", "timestamp", "payload"}``."""
    line = as_dict(record)
    if "payload" in line:
        return line
    if line.get("record_type") == "state":
        return {"type": "state", "payload": line}
    if first and isinstance(line.get("id"), str) and "type" not in line:
        return {"type": "session_meta", "timestamp": line.get("timestamp"), "payload": line}
    if line.get("type") in _ITEMS or isinstance(line.get("type"), str):
        return {"type": "response_item", "timestamp": line.get("timestamp"), "payload": line}
    return line


def _envelopes(records: Iterable[tuple[int, Any]]) -> Iterator[dict[str, Any]]:
    for i, (_, record) in enumerate(records):
        yield _envelope(record, i == 0)


def _end_errors(lines: Iterable[dict[str, Any]]) -> dict[str, bool]:
    """``call_id`` -> failed, from ``exec_command_end``, ``patch_apply_end`` and ``mcp_tool_call_end`` events."""
    out: dict[str, bool] = {}
    for line in lines:
        item = as_dict(line.get("payload"))
        kind, call_id = item.get("type"), item.get("call_id")
        if line.get("type") != "event_msg" or not isinstance(call_id, str):
            continue
        if kind == "exec_command_end":
            code = item.get("exit_code")
            failed = (isinstance(code, int) and not isinstance(code, bool) and code != 0) or item.get(
                "status"
            ) == "failed"
        elif kind == "patch_apply_end":
            failed = item.get("success") is False or item.get("status") == "failed"
        elif kind == "mcp_tool_call_end":
            result = as_dict(item.get("result"))
            failed = "Err" in result or as_dict(result.get("Ok")).get("isError") is True
        else:
            continue
        out[call_id] = failed
    return out


def _first_pass(lines: Iterable[dict[str, Any]]) -> tuple[dict[str, bool], set[int]]:
    """What the mapping needs from later lines: :func:`_end_errors`, and the echoed prompts.

    The second set holds the positions (0 for the first line) of the
    ``user_message`` events whose turn also has a ``response_item`` user
    message. A turn here is the run of lines between two model outputs
    (assistant messages, reasoning, tool calls): the event and the item may
    come in either order, and their texts may differ.
    """
    ends: dict[str, bool] = {}
    out: set[int] = set()
    events: list[int] = []
    has_item = False
    end = {"type": "response_item", "payload": {"type": "reasoning"}}
    for index, line in enumerate(chain(lines, [end])):
        item = as_dict(line.get("payload"))
        if line.get("type") == "event_msg":
            ends.update(_end_errors([line]))
            if item.get("type") == "user_message":
                events.append(index)
        elif line.get("type") == "response_item":
            if item.get("type") == "message" and item.get("role") == "user":
                has_item = has_item or not _is_context(flatten_text(item.get("content")))
            elif item.get("type") in _ITEMS and item.get("type") not in _OUTPUTS:
                if has_item:
                    out.update(events)
                events, has_item = [], False
    return ends, out


def _paired(records: Iterable[tuple[int, Any]]) -> Iterator[tuple[tuple[int, Any], dict[str, Any]]]:
    for i, numbered in enumerate(records):
        yield numbered, _envelope(numbered[1], i == 0)


def _is_context(text: str) -> bool:
    return text.lstrip().startswith(_CONTEXT)


def _failed(output: Any, text: str) -> bool:
    if isinstance(output, dict):
        if output.get("success") is False:
            return True
    elif isinstance(output, str) and output.lstrip().startswith("{"):
        try:
            value = loads(output, "tool output")
        except ValueError:
            value = None
        code = as_dict(as_dict(value).get("metadata")).get("exit_code")
        if isinstance(code, int) and not isinstance(code, bool) and code != 0:
            return True
    match = _EXIT.search(text[:2000])
    return match is not None and int(match.group(1)) != 0


def _call(payload: dict[str, Any]) -> dict[str, Any]:
    kind = payload.get("type")
    if kind == "function_call":
        args = parse_arguments(payload.get("arguments"), "function_call arguments")
        name = as_str(payload.get("name"))
    elif kind == "custom_tool_call":
        args, name = {"input": payload.get("input")}, as_str(payload.get("name"))
    else:
        args, name = as_dict(payload.get("action")) or {"action": payload.get("action")}, "local_shell"
    call_id = payload.get("call_id") or payload.get("id")
    return {"type": "tool_use", "id": as_str(call_id), "name": name, "input": args}


def _message_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for part in as_list(content):
        part = as_dict(part)
        if part.get("type") in ("input_text", "output_text", "text", "refusal"):
            text = part.get("text", part.get("refusal"))
            blocks.append({"type": "text", "text": as_str(text)})
        elif part.get("type") == "input_image":
            blocks.append({"type": "image", "url": as_str(part.get("image_url")), "data": part})
        elif part:
            blocks.append(part)
    return blocks


def read(records: Iterable[tuple[int, Any]], path: str, warnings: list[str], fallback: str) -> Imported:
    """Map a Codex rollout's records onto an :class:`Imported`.

    ``records`` is iterated twice (a list, or a reader that reads the file
    again, :func:`~lime_repl.exchange.stream.read_streamed`): the first pass
    collects the end events and the echoed prompts, which may come after the
    lines they concern, so neither pass holds every record.
    """
    imported = Imported(TOOL, None, path, warnings=warnings)
    for _ in mapped(records, Builder(TOOL, fallback), imported):
        pass
    return imported


def mapped(records: Iterable[tuple[int, Any]], b: Builder, imported: Imported) -> Iterator[None]:
    """Map ``records`` into ``b`` one at a time, yielding after each, and fill in ``imported``.

    ``imported``'s ``source_id`` and ``cwd`` are set as soon as the
    ``session_meta`` line is read; its entries, title and ``created`` at the
    end. With a sink, ``b`` hands each entry over once complete (an assistant
    message is held until the ``token_count`` that gives its usage, or the next
    one, or :data:`~.handover.MAX_QUEUED` entries: then it is written without), so a writer can consume them between two records
    (:func:`~lime_repl.exchange.stream.import_streamed`).
    """
    title: str | None = None
    thread_name: str | None = None
    last_assistant: Entry | None = None

    def assistant(entry: Entry) -> Entry:
        if last_assistant is not None and "usage" not in last_assistant:
            b.release(last_assistant)
        # Its usage may come with a later token_count; past MAX_QUEUED entries it is written without
        # (the token_count stays as a custom entry) rather than moved to the end of the log.
        b.hold(entry, soft=True)
        return entry

    ends, echoed = _first_pass(_envelopes(records))
    for index, ((_, record), line) in enumerate(_paired(records)):
        kind, stamp = line.get("type"), line.get("timestamp")
        payload = line.get("payload")
        item = as_dict(payload)
        item_type = item.get("type")
        if kind == "session_meta":
            if imported.source_id is None and isinstance(item.get("id"), str):
                imported.source_id = item["id"]
            if imported.cwd is None and isinstance(item.get("cwd"), str):
                imported.cwd = item["cwd"]
            b.custom("session_meta", record, time=stamp or item.get("timestamp"))
        elif (
            kind == "response_item"
            and item_type == "message"
            and item.get("role") == "user"
            and _is_context(flatten_text(item.get("content")))
        ):
            b.custom("context", record, time=stamp)
        elif kind == "event_msg" and item_type == "user_message" and index not in echoed:
            text = as_str(item.get("message"))
            title = title or (text.strip().splitlines() or [""])[0][:80] or None
            content: list[dict[str, Any]] = [{"type": "text", "text": text}]
            content += [
                {"type": "image", "url": url} for url in as_list(item.get("images")) if isinstance(url, str)
            ]
            b.add({"type": "message", "role": "user", "content": content, "source": record}, time=stamp)
        elif kind == "response_item" and item_type == "message" and item.get("role") in ("user", "assistant"):
            entry = b.add(
                {"type": "message", "role": item["role"], "content": _message_blocks(item.get("content"))},
                time=stamp,
            )
            last_assistant = assistant(entry) if item["role"] == "assistant" else last_assistant
        elif kind == "response_item" and item_type == "reasoning":
            summary = "\n".join(as_str(as_dict(s).get("text")) for s in as_list(item.get("summary")))
            last_assistant = assistant(
                b.add(
                    {
                        "type": "message",
                        "role": "assistant",
                        "content": [
                            {"type": "reasoning", "provider": TOOL, "summary": summary, "data": item}
                        ],
                    },
                    time=stamp,
                )
            )
        elif kind == "response_item" and item_type in _CALLS:
            last_assistant = assistant(
                b.add({"type": "message", "role": "assistant", "content": [_call(item)]}, time=stamp)
            )
        elif kind == "response_item" and item_type in _OUTPUTS:
            output = item.get("output")
            raw = as_dict(output).get("content", output) if isinstance(output, dict) else output
            parts = as_list(raw)
            images = [
                {"type": "image", "url": as_str(as_dict(p).get("image_url")), "data": p}
                for p in parts
                if as_dict(p).get("type") == "input_image"
            ]
            text = (
                raw
                if isinstance(raw, str)
                else flatten_text([p for p in parts if as_dict(p).get("type") != "input_image"] or raw)
            )
            call_id = as_str(item.get("call_id"))
            result = {
                "type": "tool_result",
                "tool_use_id": call_id,
                "content": text,
                "is_error": ends[call_id] if call_id in ends else _failed(output, text),
            }
            b.add({"type": "message", "role": "user", "content": [result, *images]}, time=stamp)
        elif kind == "compacted":
            b.add(
                {
                    "type": "compaction",
                    "summary": as_str(item.get("message")),
                    "firstKeptEntryId": None,
                    "trigger": "auto",
                    "source": record,
                },
                time=stamp,
            )
        else:
            if kind == "event_msg" and item_type == "thread_name_updated":
                name = as_str(item.get("thread_name")).strip()
                thread_name = name or thread_name
            if kind == "event_msg" and item_type == "user_message" and title is None:
                first = as_str(item.get("message")).strip().splitlines()
                title = first[0][:80] if first else None
            if kind == "event_msg" and item_type == "token_count" and last_assistant is not None:
                usage = usage_of(
                    as_dict(item.get("info")).get("last_token_usage"),
                    input_keys=("input_tokens",),
                    output_keys=("output_tokens",),
                    cache_read_keys=("cached_input_tokens",),
                )
                if usage is not None and "usage" not in last_assistant:
                    last_assistant["usage"] = usage
                    b.release(last_assistant)
            sub = (
                f"/{item_type}"
                if isinstance(item_type, str) and kind in ("event_msg", "response_item")
                else ""
            )
            b.custom(f"{as_str(kind, 'unknown')}{sub}", record, time=stamp)
        b.flush()
        yield
    imported.entries = b.finish()
    imported.title = thread_name or title
    imported.created = b.first_time
