"""Fuzzing every importer with hostile logs, folders and archives (hypothesis, real files, real sessions).

Each generated input is written to disk and imported through
``import_source`` into a private profile. The only outcomes allowed are a
new session or an :class:`ImportRefused` (one line, nothing written); no
file outside the sessions directory may appear or change, and an imported
session must load, build its transcript and export as Markdown (and, for
every eighth one, as HTML).

Inputs are small JSON records whose keys come from each format's own
vocabulary and whose values have random types, plus byte-level damage
(invalid UTF-8, torn lines, deep nesting, BOMs, NUL bytes). The number of
examples per importer is ``LIME_FUZZ_EXAMPLES`` (see ``fuzz_budget``). The work
directory is on ``/dev/shm`` when there is one, so that fsync is cheap.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from import_strategies import DAMAGE, FUZZ, IDS, SEED, WORDS, Gen, jsonl, mutate
from support.exchange_helpers import make_workspace

from lime_repl.context.transcript import build_transcript
from lime_repl.exchange.export import export_bytes
from lime_repl.exchange.guard import ImportRefused
from lime_repl.exchange.import_ import import_source
from lime_repl.exchange.manifest import build_manifest
from lime_repl.store.session import Session


# -- the harness -------------------------------------------------------------------------
@pytest.fixture
def arena() -> Iterator[Callable[[Callable[[Path], Path]], None]]:
    """Run one import of an input written by ``make(dir) -> source`` and check what it wrote."""
    base = Path(tempfile.mkdtemp(prefix="lime-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    ws = make_workspace(base)
    target = ws.sessions_dir
    counter = itertools.count()

    def snapshot(root: Path) -> dict[str, tuple[int, int]]:
        """Size and mtime of every file and link under ``root`` outside the sessions directory."""
        out = {}
        for top, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if Path(top, d) != target]
            for name in [*files, *(d for d in dirs if Path(top, d).is_symlink())]:
                info = os.lstat(os.path.join(top, name))
                out[os.path.join(top, name)] = (info.st_size, info.st_mtime_ns)
        return out

    state: dict[str, tuple[int, int]] = {}

    def run(make: Callable[[Path], Path]) -> None:
        number = next(counter)
        work = base / "inputs" / str(number)
        work.mkdir(parents=True)
        sessions_before = set(os.listdir(target)) if target.exists() else set()
        try:
            source = make(work)
            before = {**state, **snapshot(work)}
            try:
                result = import_source(ws, str(source))
            except ImportRefused as exc:
                assert "\n" not in str(exc)
                assert (set(os.listdir(target)) if target.exists() else set()) == sessions_before
            else:
                assert result.path.parent == target
                session = Session.load(result.path)
                build_transcript(session.branch(), session.header)
                export_bytes("md", session=session)
                if number % 8 == 0:  # pygments makes HTML the slowest check; every 8th import still covers it
                    export_bytes("html", session=session)
            assert snapshot(base) == before
        finally:
            # Clean up even when an example fails, so one failure cannot leak into the next example
            # (hypothesis replays examples while shrinking and must see the same failure again).
            if target.exists():
                for name in os.listdir(target):
                    if name not in sessions_before:
                        os.unlink(target / name)
            shutil.rmtree(work, ignore_errors=True)
            state.clear()
            state.update({k: v for k, v in snapshot(base).items() if not k.startswith(str(work) + os.sep)})

    yield run
    shutil.rmtree(base, ignore_errors=True)


def _file(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(work: Path) -> Path:
        (work / name).write_bytes(data)
        return work / name

    return make


# -- lime ------------------------------------------------------------------------------------
def lime_entry(g: Gen) -> Any:
    return g.record(
        ["message", "compaction", "leaf", "label", "title", "checkpoint", "session", "custom", "future"],
        {
            "id": lambda: g.pick(IDS),
            "parentId": lambda: g.pick(IDS),
            "timestamp": g.stamp,
            "role": lambda: g.pick(["user", "assistant"]),
            "content": g.content,
            "targetId": lambda: g.pick(IDS),
            "label": lambda: g.pick(WORDS),
            "title": lambda: g.pick(WORDS),
            "summary": lambda: g.pick(WORDS),
            "firstKeptEntryId": lambda: g.pick(IDS),
            "shell": g.json,
            "leafId": lambda: g.pick(IDS),
            "labels": g.json,
            "segment": g.leaf,
        },
    )


@FUZZ
@given(seed=SEED, as_doc=st.booleans(), damage=DAMAGE, lime_header=st.booleans())
def test_fuzz_lime_logs(arena, seed, as_doc, damage, lime_header):
    g = Gen(seed)
    header = {
        "type": "session",
        "sessionId": "ab" * 16,
        **g.obj(
            {"version": g.leaf, "cwd": g.leaf, "systemPrompt": g.leaf, "segment": g.leaf, "created": g.stamp}
        ),
    }
    entries = g.many(lambda: lime_entry(g))
    if not lime_header:
        header = g.json()
    data = (
        json.dumps({"session": header, "entries": entries}).encode() if as_doc else jsonl([header, *entries])
    )
    arena(_file("s.jsonl", mutate(data, damage)))


EVIL = [
    "../x.jsonl",
    "/abs.jsonl",
    "a/../../b",
    "C:/x",
    "a\\b",
    "session/ok.jsonl",
    "manifest.json",
    "session/",
    "logs/lime.log",
    "x" * 50,
    "session/a.jsonl.1",
]


@FUZZ
@given(
    seed=SEED,
    manifest=st.sampled_from(["none", "right", "wrong", "junk"]),
    symlink=st.booleans(),
    bomb=st.booleans(),
    members=st.integers(0, 4),
)
def test_fuzz_lime_archives(arena, seed, manifest, symlink, bomb, members):
    g = Gen(seed)
    good = jsonl([{"type": "session", "sessionId": "ab" * 16}, *g.many(lambda: lime_entry(g), 3)])
    chosen = [
        (g.r.choice(EVIL), good if g.r.random() < 0.5 else g.r.randbytes(g.r.randint(0, 40)))
        for _ in range(members)
    ]
    files = [(n, g.r.choice(["segment", "torn", "log", "x"]), d) for n, d in chosen if n != "manifest.json"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        seen = set()
        for name, data in chosen:
            if name not in seen:
                seen.add(name)
                archive.writestr(name, data)
        if manifest != "none" and "manifest.json" not in seen:
            doc = build_manifest("ab" * 16, "2026-01-01T00:00:00.000Z", files)
            if manifest == "wrong" and doc["files"]:
                doc["files"][0]["sha256"] = "0" * 64
            archive.writestr("manifest.json", json.dumps(doc) if manifest != "junk" else json.dumps(g.json()))
        if symlink:
            info = zipfile.ZipInfo("session/link.jsonl")
            info.external_attr = 0o120777 << 16
            archive.writestr(info, "/etc/passwd")
        if bomb:
            archive.writestr("session/bomb.jsonl", b"\0" * 300_000)
    arena(_file("a.zip", buffer.getvalue()))


# -- pi --------------------------------------------------------------------------------------
@FUZZ
@given(seed=SEED, version=st.sampled_from([None, 1, 2, 3, "3", True]), damage=DAMAGE)
def test_fuzz_pi(arena, seed, version, damage):
    g = Gen(seed)
    header: dict[str, Any] = {
        "type": "session",
        "id": "pi-1",
        "timestamp": "2026-01-01T00:00:00Z",
        "cwd": "/w",
    }
    if version is not None:
        header["version"] = version
    entries = g.many(
        lambda: g.record(
            [
                "message",
                "model_change",
                "compaction",
                "branch_summary",
                "label",
                "session_info",
                "custom",
                "custom_message",
                "thinking_level_change",
                "session",
            ],
            {
                "id": lambda: g.pick(IDS),
                "parentId": lambda: g.pick(IDS),
                "timestamp": g.stamp,
                "message": g.message,
                "modelId": lambda: g.pick(WORDS),
                "summary": lambda: g.pick(WORDS),
                "firstKeptEntryId": lambda: g.pick(IDS),
                "firstKeptEntryIndex": lambda: g.r.randint(-2, 9),
                "details": g.json,
                "fromId": lambda: g.pick(IDS),
                "targetId": lambda: g.pick(IDS),
                "label": lambda: g.pick(WORDS),
                "name": lambda: g.pick(WORDS),
            },
        )
    )
    arena(_file("pi.jsonl", mutate(jsonl([header, *entries]), damage)))


# -- Claude Code --------------------------------------------------------------------------------
@FUZZ
@given(seed=SEED, damage=DAMAGE)
def test_fuzz_claude_code(arena, seed, damage):
    g = Gen(seed)
    first = {"type": "user", "uuid": "u0", "message": {"role": "user", "content": "hi"}}
    records = g.many(
        lambda: g.record(
            ["user", "assistant", "summary", "system", "file-history-snapshot"],
            {
                "uuid": lambda: g.pick(IDS),
                "parentUuid": lambda: g.pick(IDS),
                "logicalParentUuid": lambda: g.pick(IDS),
                "timestamp": g.stamp,
                "sessionId": lambda: g.pick(WORDS),
                "cwd": lambda: g.pick(WORDS),
                "isSidechain": lambda: g.pick([True, False]),
                "summary": lambda: g.pick(WORDS),
                "leafUuid": lambda: g.pick(IDS),
                "message": g.message,
            },
        )
    )
    arena(_file("cc.jsonl", mutate(jsonl([first, *records]), damage)))


# -- Codex ------------------------------------------------------------------------------------------
@FUZZ
@given(seed=SEED, damage=DAMAGE)
def test_fuzz_codex(arena, seed, damage):
    g = Gen(seed)

    def payload() -> Any:
        return g.record(
            [
                "message",
                "reasoning",
                "function_call",
                "function_call_output",
                "custom_tool_call",
                "custom_tool_call_output",
                "local_shell_call",
                "user_message",
                "token_count",
                "web_search_call",
            ],
            {
                "role": lambda: g.pick(["user", "assistant", "developer"]),
                "content": g.content,
                "summary": g.json,
                "name": lambda: g.pick(WORDS),
                "arguments": lambda: g.pick(WORDS),
                "call_id": lambda: g.pick(IDS),
                "output": lambda: g.pick(WORDS + ['{"metadata": {"exit_code": 3}}']),
                "input": g.json,
                "action": g.json,
                "message": lambda: g.pick(WORDS),
                "id": lambda: g.pick(WORDS),
                "info": lambda: {"last_token_usage": {"input_tokens": g.leaf(), "output_tokens": 3}},
            },
        )

    first = {"timestamp": "2026-01-01T00:00:00Z", "type": "session_meta", "payload": {"id": "c", "cwd": "/w"}}
    lines = g.many(
        lambda: g.record(
            ["session_meta", "response_item", "event_msg", "turn_context", "compacted"],
            {"timestamp": g.stamp, "payload": payload},
        )
    )
    arena(_file("rollout.jsonl", mutate(jsonl([first, *lines]), damage)))


# -- Kimi folders -------------------------------------------------------------------------------------
@FUZZ
@given(seed=SEED, legacy=st.booleans(), damage=DAMAGE, pick=st.sampled_from(["folder", "context", "wire"]))
def test_fuzz_kimi(arena, seed, legacy, damage, pick):
    g = Gen(seed)
    context = g.many(
        lambda: g.record(
            ["user", "assistant", "tool", "_system_prompt", "_checkpoint", "_usage"],
            {"content": g.content, "tool_calls": lambda: [g.block()], "tool_call_id": lambda: g.pick(IDS)},
            key="role",
        )
    )
    wire = g.many(
        lambda: {
            "timestamp": g.stamp(),
            "message": g.record(
                ["TurnBegin", "StepBegin", "ContentPart", "ToolCall", "ToolResult", "StatusUpdate"],
                {
                    "payload": lambda: g.obj(
                        {
                            "user_input": g.content,
                            "type": lambda: g.pick(WORDS),
                            "text": g.leaf,
                            "id": lambda: g.pick(IDS),
                            "function": g.json,
                            "tool_call_id": lambda: g.pick(IDS),
                            "return_value": lambda: {"is_error": g.leaf(), "output": g.leaf()},
                        }
                    )
                },
            ),
        }
    )

    def event() -> Any:
        return g.obj(
            {
                "type": lambda: g.pick(
                    ["step.begin", "content.part", "tool.call", "step.end", "tool.result"]
                ),
                "uuid": lambda: g.pick(IDS),
                "stepUuid": lambda: g.pick(IDS),
                "part": g.block,
                "toolCallId": lambda: g.pick(IDS),
                "args": g.json,
                "name": lambda: g.pick(WORDS),
                "usage": g.json,
                "result": lambda: {"output": g.leaf(), "isError": g.leaf()},
            },
            size=6,
        )

    def code() -> list[Any]:
        return g.many(
            lambda: g.record(
                [
                    "metadata",
                    "config.update",
                    "context.append_message",
                    "context.append_loop_event",
                    "context.apply_compaction",
                    "usage.record",
                    "context.clear",
                ],
                {
                    "time": g.stamp,
                    "cwd": lambda: g.pick(WORDS),
                    "message": g.message,
                    "compactedCount": lambda: g.r.randint(-1, 6),
                    "summary": lambda: g.pick(WORDS),
                    "event": event,
                },
            )
        )

    state = (
        g.json()
        if g.r.random() < 0.3
        else g.obj(
            {
                "title": lambda: g.pick(WORDS),
                "custom_title": lambda: g.pick(WORDS),
                "createdAt": g.stamp,
                "wire_mtime": g.stamp,
            }
        )
    )

    def make(work: Path) -> Path:
        folder = work / "session"
        folder.mkdir()
        (folder / "state.json").write_text(json.dumps(state))
        if legacy:
            (folder / "context.jsonl").write_bytes(
                mutate(jsonl([{"role": "user", "content": "hi"}, *context]), damage)
            )
            (folder / "wire.jsonl").write_bytes(
                jsonl([{"type": "metadata", "protocol_version": "1.8"}, *wire])
            )
            return folder / "context.jsonl" if pick == "context" else folder
        for name in ("main", "agent-0"):
            (folder / "agents" / name).mkdir(parents=True)
            data = jsonl([{"type": "metadata", "protocol_version": "1.1", "created_at": 1}, *code()])
            (folder / "agents" / name / "wire.jsonl").write_bytes(
                mutate(data, damage) if name == "main" else data
            )
        return folder / "agents/main/wire.jsonl" if pick == "wire" else folder

    arena(make)
