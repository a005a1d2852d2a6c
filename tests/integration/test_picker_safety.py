"""The session picker and the list selector show stored text through the one sanitizer, in a real pty.

prompt-toolkit escapes C0 controls itself, but C1 controls (``\\x9b`` is a
one-byte CSI) and bidi overrides (U+202E turns the rest of the line around)
would reach the terminal as they are. A title and a user message holding both
must show the override as ``<U+202E>`` and lose the CSI sequence, and neither byte sequence may ever
be written to the terminal.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pexpect
import pytest
from support.lime_env import LimeEnv
from support.screen import Screen

from lime_repl.store.records import dumps, new_entry_id, new_session_id, now_rfc3339, session_header

pytestmark = pytest.mark.pty

HOSTILE = "evil\u202eeman\x9b31mred"
RAW = ("\u202e".encode(), "\x9b".encode())  # E2 80 AE and C2 9B as they would reach the terminal


def _session(lime_env: LimeEnv) -> str:
    """One session written with the store's serializer: a hostile title and a hostile user message."""
    directory = lime_env.cwd / ".lime" / "sessions"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    sid = new_session_id()
    lines = [dumps(session_header(new_entry_id(), sid, str(lime_env.cwd), created=now_rfc3339()))]
    parent = None
    for entry in (
        {"type": "message", "role": "user", "content": [{"type": "text", "text": f"ask {HOSTILE}"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "ok"}]},
        {"type": "title", "title": f"T {HOSTILE}"},
    ):
        entry_id = new_entry_id()
        lines.append(dumps({"type": entry["type"], "id": entry_id, "parentId": parent,
                            "timestamp": now_rfc3339(), **{k: v for k, v in entry.items() if k != "type"}}))
        parent = entry_id
    path: Path = directory / f"{sid}.jsonl"
    path.write_bytes(b"".join(lines))
    path.chmod(0o600)
    return sid


def _spawn(lime_env: LimeEnv, *args: str) -> tuple[Screen, io.BytesIO]:
    child = pexpect.spawn(
        sys.executable, ["-m", "lime_repl", *args], cwd=str(lime_env.cwd), env=lime_env.env, dimensions=(40, 120)
    )
    raw = io.BytesIO()
    child.logfile_read = raw
    return Screen(child, 40, 120), raw


def test_the_picker_shows_bidi_overrides_and_c1_controls_visibly(lime_env: LimeEnv) -> None:
    _session(lime_env)
    screen, raw = _spawn(lime_env, "-r")
    screen.wait_for("1 of 1")
    screen.wait_for("T evil<U+202E>emanred")
    screen.send("\x1b")
    screen.wait_exit()
    for data in RAW:
        assert data not in raw.getvalue()


def test_the_fork_selector_shows_bidi_overrides_and_c1_controls_visibly(lime_env: LimeEnv) -> None:
    sid = _session(lime_env)
    screen, raw = _spawn(lime_env, "-r", sid[:8])
    screen.wait_prompt()
    screen.send("/fork\r")
    screen.wait_for("Fork from which message?")
    screen.wait_for("ask evil<U+202E>emanred")
    screen.send("\x1b")
    screen.wait_prompt()
    screen.send("/quit\r")
    assert screen.wait_exit() == 0
    for data in RAW:
        assert data not in raw.getvalue()
