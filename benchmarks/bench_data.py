"""Benchmark data, written straight in lime's log format (DESIGN.md section 3), fast and reproducibly.

* :func:`make_session`: one realistic session of a given size, rotated into
  segments exactly as lime rotates (a ``session`` header opening every
  segment, a ``checkpoint`` second line from the second segment on, each
  segment at most ``max_bytes``): user turns, assistant answers with tool
  calls, tool results of 1 to 8 KB and ``!`` bash triples;
* :func:`make_tree`: many small sessions spread over sessions directories, one
  sessions directory per working directory, with a rare search word in some.

Text comes from a pool of pseudo-words built once from a seed, so a tree of
100 MiB is written in seconds. A ``.complete`` file next to the data records
the parameters, so a second run with the same parameters reuses the data.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

from lime_repl.paths import cwd_key
from lime_repl.store.records import checkpoint, dumps, session_header

__all__ = ["SEARCH_WORD", "make_claude_log", "make_session", "make_tree"]

SEARCH_WORD = "quokkafjord"
_SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "ta",
    "vo",
    "zi",
    "pe",
    "sho",
    "qua",
    "dre",
    "fin",
    "gal",
    "bor",
    "tek",
]


def _pool(rng: random.Random, size: int = 1 << 20) -> str:
    words = ["".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4))) for _ in range(4000)]
    words += ["def", "return", "import", "class", "self", "None", "error", "file", "test", "{", "}", "(", ")"]
    text = " ".join(rng.choices(words, k=size // 5))
    return text[:size]


class _Text:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pool = _pool(rng)

    def __call__(self, low: int, high: int) -> str:
        n = self.rng.randint(low, high)
        start = self.rng.randrange(0, len(self.pool) - n)
        return self.pool[start : start + n]


def _stamp(n: int) -> str:
    return f"2026-11-{1 + n // 86400 % 28:02d}T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000Z"


def _conversation(rng: random.Random, text: _Text, word: str | None = None):  # type: ignore[no-untyped-def]
    """Endless entries (without id/parentId) of a coding session: turns, tool calls, ``!`` triples."""
    turn = 0
    while True:
        turn += 1
        ask = text(80, 500)
        if word is not None and turn == 1:
            ask = f"{ask} {word} {text(10, 40)}"
        yield {"type": "message", "role": "user", "content": [{"type": "text", "text": ask}]}
        call = f"call_{rng.getrandbits(48):012x}"
        tool = rng.choice(["bash", "read"])
        arguments = {"command": f"grep -rn {text(4, 12)!r} ."} if tool == "bash" else {"path": "src/app.py"}
        yield {
            "type": "message",
            "role": "assistant",
            "content": [
                {"type": "text", "text": text(40, 300)},
                {"type": "tool_use", "id": call, "name": tool, "input": arguments},
            ],
            "model": "gpt-5.4",
            "provider": "openai",
            "usage": {"input_tokens": 1000 * turn, "output_tokens": rng.randint(20, 400)},
            "stopReason": "tool_use",
        }
        yield {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call, "content": text(1000, 8000), "is_error": False}
            ],
        }
        yield {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": text(200, 900)}],
            "model": "gpt-5.4",
            "provider": "openai",
            "usage": {"input_tokens": 1000 * turn + 500, "output_tokens": rng.randint(20, 400)},
            "stopReason": "end_turn",
        }
        if rng.random() < 0.4:
            exchange = f"{rng.getrandbits(32):08x}"
            shell = {
                "exchange": exchange,
                "exitCode": 0,
                "durationMs": 12,
                "truncatedBytes": {"stdout": 0, "stderr": 0},
                "cwd": "/srv/app",
            }
            for tag, body in (
                ("bash-input", "pytest -q"),
                ("bash-stdout", text(300, 5000)),
                ("bash-stderr", ""),
            ):
                yield {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "text", "text": f"<{tag}>{body}</{tag}>"}],
                    "shell": shell,
                }


def _segments(
    sid: str, cwd: str, entries: Any, target: int, max_bytes: int, rng: random.Random
) -> list[bytes]:
    """Whole segment files (oldest first) holding about ``target`` bytes, rotated at ``max_bytes``."""
    created = _stamp(0)
    base = session_header(
        f"{rng.getrandbits(32):08x}", sid, cwd, created=created, system_prompt="You are lime."
    )
    segments: list[list[bytes]] = [[dumps(base)]]
    sizes = [len(segments[0][0])]
    preamble = sizes[0]
    total, count, leaf, clock = sizes[0], 0, None, 0
    for raw in entries:
        clock += rng.randint(1, 30)
        entry = {
            "type": raw.pop("type"),
            "id": f"{rng.getrandbits(32):08x}",
            "parentId": leaf,
            "timestamp": _stamp(clock),
        }
        entry.update(raw)
        line = dumps(entry)
        if count and total + len(line) // 2 > target:  # on average, lands on target
            break
        if sizes[-1] + len(line) > max_bytes and sizes[-1] > preamble:
            header = dict(base, id=f"{rng.getrandbits(32):08x}", segment=len(segments))
            point = checkpoint(
                f"{rng.getrandbits(32):08x}",
                leaf_id=leaf,
                title=None,
                labels={},
                compaction=None,
                dropped_entries=count,
            )
            opening = [dumps(header), dumps(point)]
            segments.append(opening)
            preamble = sum(map(len, opening))
            sizes.append(preamble)
            total += preamble
        segments[-1].append(line)
        sizes[-1] += len(line)
        total += len(line)
        count += 1
        leaf = entry["id"]
    return [b"".join(lines) for lines in segments]


def _write(directory: Path, sid: str, files: list[bytes]) -> Path:
    active = directory / f"{sid}.jsonl"
    for age, data in enumerate(reversed(files)):  # newest first: active, .1, .2 ...
        path = active if age == 0 else Path(f"{active}.{age}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    return active


def make_session(
    directory: Path, *, target: int = 1_040_000, max_bytes: int = 262_144, seed: int = 1
) -> Path:
    """A session of about ``target`` bytes in ``directory`` (4 segments for the default 1 MiB); its active path."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    sid = f"{rng.getrandbits(128):032x}"
    files = _segments(sid, "/srv/app", _conversation(rng, _Text(rng)), target, max_bytes, rng)
    return _write(directory, sid, files)


def make_tree(
    root: Path, *, sessions: int, total_bytes: int, dirs: int = 50, seed: int = 2
) -> dict[str, Any]:
    """``sessions`` sessions of ``total_bytes`` in all under ``root`` (a LIME_HOME), in ``dirs`` directories.

    One session in a hundred mentions :data:`SEARCH_WORD` once. Returns the
    parameters (also stored in ``root/.complete``); an existing tree with the
    same parameters is kept as it is.
    """
    params = {
        "sessions": sessions,
        "total_bytes": total_bytes,
        "dirs": dirs,
        "seed": seed,
        "word": SEARCH_WORD,
    }
    marker = root / ".complete"
    if marker.exists() and json.loads(marker.read_text()) == params:
        return params
    rng = random.Random(seed)
    text = _Text(rng)
    per = total_bytes // sessions
    paths = [root / "sessions" / cwd_key(f"/srv/project-{d:03d}") for d in range(dirs)]
    for path in paths:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(root, 0o700)
    os.chmod(root / "sessions", 0o700)
    for n in range(sessions):
        sid = f"{rng.getrandbits(128):032x}"
        word = SEARCH_WORD if n % 100 == 7 else None
        cwd = f"/srv/project-{n % dirs:03d}"
        files = _segments(sid, cwd, _conversation(rng, text, word), per, 262_144, rng)
        _write(paths[n % dirs], sid, files)
    marker.write_text(json.dumps(params))
    return params


def make_claude_log(path: Path, source: Path, size: int) -> Path:
    """A Claude Code project log of at least ``size`` bytes: ``source``'s records repeated.

    Each repetition gives every record a fresh ``uuid`` (``parentUuid`` and
    ``leafUuid`` follow), and its first root hangs from the last record of the
    repetition before, so the result is one long conversation, as a session
    Claude Code wrote over weeks. Reused when ``path`` exists with that size or more.
    """
    import uuid as uuid_module

    if path.exists() and path.stat().st_size >= size:
        return path
    records = [json.loads(line) for line in source.read_bytes().splitlines() if line.strip()]
    rng = random.Random(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    written, last = 0, None
    with open(tmp, "wb") as out:
        while written < size:
            fresh: dict[str, str] = {}

            def new(old: Any, fresh: dict[str, str] = fresh) -> Any:
                if not isinstance(old, str):
                    return old
                if old not in fresh:
                    fresh[old] = str(uuid_module.UUID(int=rng.getrandbits(128), version=4))
                return fresh[old]

            for record in records:
                if not isinstance(record, dict):
                    continue
                copy = dict(record)
                if "uuid" in copy:
                    copy["uuid"] = new(copy["uuid"])
                if "parentUuid" in copy:
                    copy["parentUuid"] = new(copy["parentUuid"]) if copy["parentUuid"] else last
                if "leafUuid" in copy:
                    copy["leafUuid"] = new(copy["leafUuid"])
                line = (json.dumps(copy, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
                out.write(line)
                written += len(line)
                if isinstance(copy.get("uuid"), str) and copy.get("isSidechain") is not True:
                    last = copy["uuid"]
    os.replace(tmp, path)
    return path
