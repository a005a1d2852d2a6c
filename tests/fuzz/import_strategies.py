"""Generators for the importer fuzz tests: random records in each format's vocabulary, byte-level damage.

Records are built in plain Python from a seed that hypothesis draws, so one
example costs well under a millisecond to generate; the structural choices
(damage kind, versions, flags) are drawn by hypothesis directly.
The examples per importer are :mod:`fuzz_budget`'s (``LIME_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from fuzz_budget import EXAMPLES, fuzz_settings
from hypothesis import strategies as st

FUZZ = fuzz_settings(EXAMPLES, database=None)

WORDS = [
    "",
    "x",
    "user",
    "assistant",
    "tool",
    "toolResult",
    "bashExecution",
    "text",
    "tool_use",
    "tool_result",
    "<bash-input>ls</bash-input>",
    "<bash-stdout>out</bash-stdout><bash-stderr>e</bash-stderr>",
    "<system>ERROR: no</system>",
    "2026-01-02T03:04:05.000Z",
    "2026-13-45T99:99",
    "aaaa0001",
    "aaaa0002",
    "u1",
    "u2",
    "c1",
    "main",
    '{"a": 1}',
    "[1,2",
    "Exit code: 1",
    "\u0000",
    "\ud800",
    "</textarea><script>",
    "Process exited with code 2",
    "```python\nx\n```",
    "\u202e\u0301",
]
IDS = ["aaaa0001", "aaaa0002", "aaaa0003", "u1", "u2", "c1", None]
STAMPS = [
    "2026-01-02T03:04:05.000Z",
    "2026-01-02T03:04:05+05:00",
    "nope",
    "",
    1775448000100,
    1.5e9,
    -1,
    10**20,
    float("nan"),
    True,
]


class Gen:
    """Random JSON records whose keys come from a format's vocabulary and whose values may have any type."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def leaf(self) -> Any:
        r = self.r
        return r.choice(
            [
                lambda: None,
                lambda: r.random() < 0.5,
                lambda: r.randint(-(2**66), 2**66),
                lambda: r.choice(WORDS),
                lambda: r.choice([0.5, float("inf"), float("nan"), -0.0]),
                lambda: r.choice(WORDS),
                lambda: "".join(chr(r.randint(0, 0x2FFF)) for _ in range(r.randint(0, 6))),
            ]
        )()

    def json(self, depth: int = 2) -> Any:
        roll = self.r.random()
        if depth <= 0 or roll < 0.6:
            return self.leaf()
        if roll < 0.8:
            return [self.json(depth - 1) for _ in range(self.r.randint(0, 3))]
        return {self.r.choice(WORDS): self.json(depth - 1) for _ in range(self.r.randint(0, 3))}

    def pick(self, options: list[Any]) -> Any:
        return self.r.choice(options) if self.r.random() < 0.85 else self.json()

    def obj(self, vocab: dict[str, Callable[[], Any]], size: int = 5) -> dict[str, Any]:
        keys = self.r.sample(list(vocab), min(len(vocab), self.r.randint(0, size)))
        return {k: vocab[k]() if self.r.random() < 0.8 else self.json() for k in keys}

    def record(self, types: list[str], vocab: dict[str, Callable[[], Any]], key: str = "type") -> Any:
        if self.r.random() < 0.05:
            return self.json()
        return {key: self.pick(types), **self.obj(vocab)}

    def many(self, make: Callable[[], Any], most: int = 8) -> list[Any]:
        return [make() for _ in range(self.r.randint(0, most))]

    # shapes shared by several formats
    def block(self) -> Any:
        return self.record(
            [
                "text",
                "toolCall",
                "tool_use",
                "tool_result",
                "thinking",
                "think",
                "image",
                "input_text",
                "output_text",
                "function",
                "redacted_thinking",
            ],
            {
                "text": lambda: self.pick(WORDS),
                "id": lambda: self.pick(IDS),
                "name": lambda: self.pick(WORDS),
                "arguments": self.json,
                "input": self.json,
                "tool_use_id": lambda: self.pick(IDS),
                "content": self.content,
                "is_error": lambda: self.pick([True, False]),
                "thinking": lambda: self.pick(WORDS),
                "think": lambda: self.pick(WORDS),
                "function": lambda: {"name": self.pick(WORDS), "arguments": self.json()},
            },
        )

    def content(self) -> Any:
        roll = self.r.random()
        return [self.block() for _ in range(self.r.randint(0, 3))] if roll < 0.7 else self.pick(WORDS)

    def message(self) -> Any:
        return self.obj(
            {
                "role": lambda: self.pick(
                    [
                        "user",
                        "assistant",
                        "toolResult",
                        "bashExecution",
                        "hookMessage",
                        "tool",
                        "custom",
                        "developer",
                    ]
                ),
                "content": self.content,
                "toolCallId": lambda: self.pick(IDS),
                "isError": lambda: self.pick([True, False]),
                "command": lambda: self.pick(WORDS),
                "output": lambda: self.pick(WORDS),
                "exitCode": self.leaf,
                "tool_calls": lambda: [self.block()],
                "toolCalls": lambda: [self.block()],
                "usage": self.json,
                "model": lambda: self.pick(WORDS),
                "provider": lambda: self.pick(WORDS),
                "cancelled": self.leaf,
            },
            size=7,
        )

    def stamp(self) -> Any:
        return self.pick(STAMPS)


SEED = st.integers(0, 2**32 - 1)


def mutate(data: bytes, how: int) -> bytes:
    return [
        lambda d: d,
        lambda d: d[: len(d) // 2],  # torn
        lambda d: d + b'{"a":"\xff\xfe"}\n',  # invalid UTF-8
        lambda d: d + b"[" * 1000 + b"]" * 1000 + b"\n",  # deep
        lambda d: b"\xef\xbb\xbf" + d.replace(b"\n", b"\r\n"),  # BOM, CRLF
        lambda d: d + b"\0\0not json\n\n",
        lambda d: d * 2,  # duplicated ids
    ][how](data)


DAMAGE = st.integers(0, 6)


def jsonl(records: list[Any]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode("utf-8", "surrogatepass")
