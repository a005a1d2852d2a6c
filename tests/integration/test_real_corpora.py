"""Real session files of other tools import with nothing lost: the source's counts against lime's.

Every file under ``tests/data/real/`` (copied from public repositories, see
``SOURCES.md`` there) is imported into a private LIME_HOME and read back from
disk. The source side is counted here, per format, from that format's own
documentation and source code (Claude Code's record layout, Codex's
``protocol`` rollout items and events, gemini-cli's ``chatRecordingService``,
pi's ``session-manager.ts``, kimi-cli's context file), never by calling lime's
readers. The lime side is counted from the written session's entries.

Counted on both sides: user prompts, assistant messages, tool calls, tool
results and how many are errors, reasoning blocks, images, shell commands,
compaction summaries, the first and last timestamp, the title, and the length
of the chain the conversation continues from (the leaf's path; a lime bash
triple counts once, as the source's ``!`` exchange does).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.exchange_helpers import make_workspace

from lime_repl.exchange.import_ import import_source
from lime_repl.store.session import Session

REAL = Path(__file__).resolve().parent.parent / "data" / "real"
FILES = sorted(
    str(p.relative_to(REAL))
    for p in REAL.rglob("*")
    if p.suffix in (".json", ".jsonl") and "subagents" not in p.parts
)


@dataclass
class Counts:
    user: int = 0
    assistant: int = 0
    tool_calls: int = 0
    tool_results: int = 0
    errors: int = 0
    reasoning: int = 0
    images: int = 0
    shell: int = 0
    compactions: int = 0
    first: str | None = None
    last: str | None = None
    title: str | None = None
    chain: int = 0


def _moment(value: Any) -> datetime | None:
    """A record's time, to the millisecond, or None when it is not an ISO 8601 time or Unix number."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            moment = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        elif isinstance(value, str) and len(value) >= 10:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def _span(counts: Counts, values: list[Any]) -> None:
    moments = [m for m in map(_moment, values) if m is not None]
    if moments:
        counts.first = min(moments).isoformat()
        counts.last = max(moments).isoformat()


def _lines(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, dict):
        return [content]
    return [p for p in content if isinstance(p, dict)] if isinstance(content, list) else []


# -- Claude Code: records {type, uuid, parentUuid, isSidechain, message{role, content[]}} ----------------
_BASH_IN = re.compile(r"^\s*<bash-input>.*</bash-input>\s*$", re.S)
_BASH_OUT = re.compile(r"^\s*<bash-stdout>.*</bash-stdout>", re.S)


def _claude_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    parts = _parts(content)
    return parts[0].get("text") if len(parts) == 1 and parts[0].get("type") == "text" else None


def _claude(path: Path) -> Counts:
    records = [r for r in _lines(path) if isinstance(r, dict)]
    folder = path.with_suffix("") / "subagents"
    for sub in sorted(folder.glob("agent-*.jsonl")) if folder.is_dir() else []:
        records += [dict(r, isSidechain=True) for r in _lines(sub) if isinstance(r, dict)]
    c = Counts()
    titles: dict[str, str] = {}
    for r in records:
        kind = r.get("type")
        for key, field in (("custom-title", "customTitle"), ("ai-title", "aiTitle"), ("summary", "summary")):
            if kind == key and isinstance(r.get(field), str) and r[field].strip():
                titles[key] = r[field].strip()
        message = r.get("message")
        if kind not in ("user", "assistant") or not isinstance(message, dict):
            continue
        content = message.get("content")
        blocks = _parts(content)
        text = _claude_text(content)
        if kind == "assistant":
            c.assistant += 1
        elif r.get("isCompactSummary") is True:
            c.compactions += 1
            continue
        elif text is not None and _BASH_IN.match(text):
            c.shell += 1
            continue
        elif text is not None and _BASH_OUT.match(text):
            continue
        elif not any(b.get("type") == "tool_result" for b in blocks):
            c.user += 1
        for block in blocks:
            kind_b = block.get("type")
            c.tool_calls += kind_b == "tool_use"
            c.reasoning += kind_b in ("thinking", "redacted_thinking")
            c.images += kind_b == "image"
            if kind_b == "tool_result":
                c.tool_results += 1
                c.errors += block.get("is_error") is True
                c.images += sum(p.get("type") == "image" for p in _parts(block.get("content")))
    _span(
        c, [r.get("timestamp") for r in records] + [r.get("snapshot", {}).get("timestamp") for r in records]
    )
    c.title = titles.get("custom-title") or titles.get("ai-title") or titles.get("summary")
    # The conversation continues from the newest main-chain record (the last non-sidechain one with a uuid).
    by_uuid = {r["uuid"]: r for r in records if isinstance(r.get("uuid"), str)}
    main = [r for r in records if isinstance(r.get("uuid"), str) and r.get("isSidechain") is not True]
    node, seen = (main[-1] if main else None), set()
    if node is None:  # no conversation: the leaf is the last record kept
        c.chain = 1 if records else 0
    while node is not None and node["uuid"] not in seen:
        seen.add(node["uuid"])
        text = _claude_text(node.get("message", {}).get("content")) if node.get("type") == "user" else None
        c.chain += not (text is not None and _BASH_OUT.match(text))
        parent = node.get("parentUuid") or node.get("logicalParentUuid")
        node = by_uuid.get(parent) if isinstance(parent, str) else None
    return c


# -- Codex: lines {timestamp, type, payload}; response_item items, event_msg events ----------------------
_CONTEXT = ("<environment_context>", "<user_instructions>", "# AGENTS.md instructions", "<INSTRUCTIONS>")
_CALLS = ("function_call", "custom_tool_call", "local_shell_call")
_OUTPUTS = ("function_call_output", "custom_tool_call_output")
_EXIT = re.compile(r"^(?:Exit code:|Process exited with code)\s*(-?\d+)", re.M)


def _codex_text(content: Any) -> str:
    return "\n".join(str(p.get("text", "")) for p in _parts(content))


def _codex(path: Path) -> Counts:
    lines = [r for r in _lines(path) if isinstance(r, dict)]
    c = Counts()
    failed: dict[str, bool] = {}
    for line in lines:
        ev = line.get("payload") if isinstance(line.get("payload"), dict) else {}
        if line.get("type") != "event_msg" or not isinstance(ev.get("call_id"), str):
            continue
        if ev.get("type") == "exec_command_end":
            failed[ev["call_id"]] = ev.get("exit_code") not in (0, None) or ev.get("status") == "failed"
        elif ev.get("type") == "patch_apply_end":
            failed[ev["call_id"]] = ev.get("success") is False or ev.get("status") == "failed"
        elif ev.get("type") == "mcp_tool_call_end":
            result = ev.get("result") if isinstance(ev.get("result"), dict) else {}
            failed[ev["call_id"]] = "Err" in result or (result.get("Ok") or {}).get("isError") is True
    turn_events = 0
    turn_has_prompt = False
    names: list[str] = []
    first_event_prompt: str | None = None
    for line in [*lines, {"type": "response_item", "payload": {"type": "reasoning", "end": True}}]:
        item = line.get("payload") if isinstance(line.get("payload"), dict) else {}
        kind, item_type = line.get("type"), item.get("type")
        if kind == "event_msg" and item_type == "user_message":
            turn_events += 1
            c.images += len(item.get("images") or [])
            first_event_prompt = (
                first_event_prompt or str(item.get("message", "")).strip().splitlines()[0][:80]
            )
        if kind == "event_msg" and item_type == "thread_name_updated" and item.get("thread_name"):
            names.append(str(item["thread_name"]).strip())
        if kind == "compacted":
            c.compactions += 1
        if kind != "response_item":
            continue
        if item_type == "message":
            c.images += sum(p.get("type") == "input_image" for p in _parts(item.get("content")))
        if item_type in _OUTPUTS and isinstance(item.get("output"), list):
            c.images += sum(p.get("type") == "input_image" for p in _parts(item["output"]))
        if item_type == "message" and item.get("role") == "user":
            if not _codex_text(item.get("content")).lstrip().startswith(_CONTEXT):
                c.user += 1
                turn_has_prompt = True
        elif item_type in ("message", "reasoning", *_CALLS):
            # A prompt recorded only as a user_message event is still the turn's prompt.
            if not turn_has_prompt:
                c.user += turn_events
            turn_events, turn_has_prompt = 0, False
            if item.get("end"):
                break
            if item_type == "message" and item.get("role") == "assistant":
                c.assistant += 1
            elif item_type == "reasoning":
                c.assistant += 1
                c.reasoning += 1
            elif item_type in _CALLS:
                c.assistant += 1
                c.tool_calls += 1
        elif item_type in _OUTPUTS:
            c.tool_results += 1
            output = item.get("output")
            text = output if isinstance(output, str) else json.dumps(output)
            if item.get("call_id") in failed:
                c.errors += failed[item["call_id"]]
            else:
                meta = json.loads(text).get("metadata", {}) if text.lstrip().startswith("{") else {}
                code = _EXIT.search(text[:2000])
                c.errors += (
                    (isinstance(output, dict) and output.get("success") is False)
                    or meta.get("exit_code") not in (0, None)
                    or (code is not None and int(code.group(1)) != 0)
                )
    _span(c, [line.get("timestamp") for line in lines])
    c.title = names[-1] if names else first_event_prompt
    c.chain = len(lines)  # a rollout is one linear history: every line is on it
    return c


# -- Gemini CLI: {sessionId, startTime, messages[{type, timestamp, thoughts, toolCalls}], summary?} -------
def _gemini(path: Path) -> Counts:
    doc = json.loads(path.read_text(encoding="utf-8"))
    c = Counts()
    times: list[Any] = [doc.get("startTime")]
    for m in doc.get("messages", []):
        times.append(m.get("timestamp"))
        if m.get("type") == "user":
            c.user += 1
            c.chain += 1
        elif m.get("type") == "gemini":
            c.assistant += 1
            c.reasoning += len(m.get("thoughts") or [])
            calls = m.get("toolCalls") or []
            c.tool_calls += len(calls)
            c.tool_results += len(calls)
            c.errors += sum(call.get("status") in ("error", "cancelled") for call in calls)
            times += [call.get("timestamp") for call in calls]
            c.chain += 1 + bool(calls)  # the answer, then its tool results
        else:
            c.chain += 1
        c.images += sum("inlineData" in p for p in _parts(m.get("content")))
    _span(c, times)  # lastUpdated is when the file was written, not a message's time
    c.title = doc.get("summary") or None
    return c


# -- pi: header {type: session}, then entries {type: message, message{role, content}} ------------------
def _pi(path: Path) -> Counts:
    records = [r for r in _lines(path) if isinstance(r, dict)]
    header, entries = records[0], records[1:]
    c = Counts()
    for e in entries:
        message = e.get("message") if isinstance(e.get("message"), dict) else {}
        role = message.get("role")
        blocks = _parts(message.get("content"))
        if e.get("type") == "compaction":
            c.compactions += 1
        if e.get("type") == "session_info" and e.get("name"):
            c.title = e["name"]
        if e.get("type") != "message":
            continue
        c.user += role == "user"
        c.assistant += role == "assistant"
        c.shell += role == "bashExecution"
        if role == "toolResult":
            c.tool_results += 1
            c.errors += message.get("isError") is True
        c.tool_calls += sum(b.get("type") == "toolCall" for b in blocks)
        c.reasoning += sum(b.get("type") == "thinking" for b in blocks)
        c.images += sum(b.get("type") == "image" for b in blocks)
    _span(c, [header.get("timestamp")] + [e.get("timestamp") for e in entries])
    if header.get("version", 1) >= 2:
        by_id = {e.get("id"): e for e in entries}
        node = entries[-1] if entries else None
        while node is not None:
            c.chain += 1
            node = by_id.get(node.get("parentId"))
    else:
        c.chain = len(entries)  # v1: each entry follows the one before it
    return c


# -- kimi-cli context.jsonl: {role: user|assistant|tool|_checkpoint|_usage|_system_prompt, ...} -----------
def _kimi(path: Path) -> Counts:
    records = [r for r in _lines(path) if isinstance(r, dict)]
    c = Counts()
    for r in records:
        role = r.get("role")
        c.user += role == "user"
        if role == "assistant":
            c.assistant += 1
            c.tool_calls += len(r.get("tool_calls") or [])
            c.reasoning += sum(p.get("type") == "think" for p in _parts(r.get("content")))
        if role == "tool":
            c.tool_results += 1
            text = r["content"] if isinstance(r.get("content"), str) else _codex_text(r.get("content"))
            c.errors += text.lstrip().startswith("<system>ERROR")
        c.images += sum(p.get("type") == "image_url" for p in _parts(r.get("content")))
    c.chain = len(records)
    return c


SOURCE = {"claude-code": _claude, "codex": _codex, "gemini": _gemini, "pi": _pi, "kimi": _kimi}


# -- lime's side -----------------------------------------------------------------------------------
def _blocks(session: Session) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for entry in session.entries.values():
        if entry.get("type") == "message":
            for block in entry.get("content", []):
                yield entry, block


def _lime(session: Session) -> Counts:
    c = Counts()
    for entry in session.entries.values():
        kind = entry.get("type")
        c.compactions += kind == "compaction"
        if kind != "message":
            continue
        blocks = entry.get("content", [])
        if "shell" in entry:
            c.shell += str(blocks[0].get("text", "")).startswith("<bash-input>")
        elif entry.get("role") == "assistant":
            c.assistant += 1
        elif not any(b.get("type") == "tool_result" for b in blocks):
            c.user += 1
    for _, block in _blocks(session):
        kind = block.get("type")
        c.tool_calls += kind == "tool_use"
        c.tool_results += kind == "tool_result"
        c.errors += kind == "tool_result" and block.get("is_error") is True
        c.reasoning += kind == "reasoning"
        c.images += kind == "image"
    # title, label and leaf entries are lime's own, written at import time
    _span(
        c, [e["timestamp"] for e in session.entries.values() if e["type"] not in ("title", "label", "leaf")]
    )
    c.title = session.title
    c.chain = sum(
        1
        for e in session.branch()
        if not ("shell" in e and not str(e["content"][0].get("text", "")).startswith("<bash-input>"))
    )
    return c


def test_every_real_file_is_counted():
    assert FILES, "tests/data/real is empty"
    assert {Path(f).parts[0] for f in FILES} <= set(SOURCE)


@pytest.mark.parametrize("name", FILES)
def test_real_file_imports_with_nothing_lost(tmp_path, name):
    source = REAL / name
    expected = SOURCE[Path(name).parts[0]](source)
    # The default rotation limits (3 backups) apply: an import must keep every segment anyway.
    ws = make_workspace(tmp_path)
    result = import_source(ws, str(source))
    assert not [w for w in result.warnings if "parent that is not in the file" in w], result.warnings
    got = _lime(Session.load(result.path))
    if expected.first is None:  # the source has no times: lime dates everything with the file's
        assert got.first == got.last
        got.first = got.last = None
    assert asdict(got) == asdict(expected)
