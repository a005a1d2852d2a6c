"""Helpers for the fault-injection tests: real ``lime`` processes on pipes, and reading their logs raw."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from support.lime_env import LimeEnv

from lime_repl.store.segments import segment_paths


def spawn(
    lime_env: LimeEnv, *args: str, extra: dict[str, str] | None = None, **kw: Any
) -> subprocess.Popen[bytes]:
    """``python -m lime_repl ARGS`` with stdin, stdout and stderr on pipes (line mode)."""
    return subprocess.Popen(
        [sys.executable, "-m", "lime_repl", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=lime_env.cwd,
        env=dict(lime_env.env, PYTHONDONTWRITEBYTECODE="1", **(extra or {})),
        **kw,
    )


def send(proc: subprocess.Popen[bytes], *lines: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write("".join(line + "\n" for line in lines).encode())
    proc.stdin.flush()


def whole_lines(path: Path) -> tuple[list[dict[str, Any]], bytes]:
    """The entries of one segment file and its torn tail; every whole line must be a JSON object."""
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    entries = []
    for number, raw in enumerate(data[:end].split(b"\n")[:-1], 1):
        value = json.loads(raw)
        assert isinstance(value, dict) and isinstance(value.get("type"), str), (path, number, raw[:80])
        entries.append(value)
    return entries, data[end:]


def session_entries(active: Path) -> list[dict[str, Any]]:
    """Every entry of every surviving segment, oldest first (torn tails excluded)."""
    result: list[dict[str, Any]] = []
    for path in segment_paths(active):
        result.extend(whole_lines(path)[0])
    return result


def bash_inputs(entries: list[dict[str, Any]]) -> list[str]:
    """The ``!`` commands recorded in ``entries``, in log order."""
    found = []
    for entry in entries:
        if entry.get("type") == "message" and isinstance(entry.get("shell"), dict):
            text = entry["content"][0]["text"]
            if text.startswith("<bash-input>"):
                found.append(text[len("<bash-input>") : -len("</bash-input>")])
    return found
