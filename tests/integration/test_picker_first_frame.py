"""`lime -r` draws the picker's first screen before prompt-toolkit loads (lime_repl/repl/picker_frame.py).

Every test runs the real `lime -r` in a pseudo terminal over real session files. A broken
prompt-toolkit (a package of that name that raises on import, put first on PYTHONPATH) shows what
was on the screen before the toolkit was imported, and that the terminal is given back whole.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pexpect
import pyte
import pytest
from support.alt_screen import AltScreen
from support.lime_env import LimeEnv

from lime_repl.store.records import dumps, new_entry_id, new_session_id, now_rfc3339, session_header
from lime_repl.workspace import Workspace

pytestmark = pytest.mark.pty

COUNT = 120
ROWS, COLS = 30, 100
LEAVE = b"\x1b[?1049l"


@pytest.fixture()
def sessions(lime_env: LimeEnv) -> LimeEnv:
    """COUNT sessions of this directory, every tenth titled, written with the store's serializer."""
    directory = Workspace(lime_env.cwd, lime_env.env).sessions_dir
    directory.mkdir(parents=True, mode=0o700)
    for i in range(COUNT):
        sid = new_session_id()
        lines = [dumps(session_header(new_entry_id(), sid, str(lime_env.cwd), created=now_rfc3339()))]
        entry = {"type": "message", "id": new_entry_id(), "parentId": None, "timestamp": now_rfc3339()}
        lines.append(dumps({**entry, "role": "user", "content": [{"type": "text", "text": f"job {i:04d} to do"}]}))
        if i % 10 == 0:
            title = {"type": "title", "id": new_entry_id(), "parentId": entry["id"], "timestamp": now_rfc3339()}
            lines.append(dumps({**title, "title": f"Named {i:04d}"}))
        (directory / f"{sid}.jsonl").write_bytes(b"".join(lines))
    return lime_env


def _broken_toolkit(root: Path) -> str:
    package = root / "broken" / "prompt_toolkit"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('raise ImportError("prompt_toolkit is broken here")\n')
    return str(root / "broken")


def _spawn(lime_env: LimeEnv, env: dict[str, str], then: str = "") -> AltScreen:
    """`lime -r` in a ROWS x COLS pty, then (in the same terminal, after lime exits) the shell command ``then``."""
    command = f"{shlex.quote(sys.executable)} -m lime_repl -r" + (f"; {then}" if then else "")
    child = pexpect.spawn("/bin/sh", ["-c", command], cwd=str(lime_env.cwd), env=env, dimensions=(ROWS, COLS))
    return AltScreen(child, ROWS, COLS)


def _lines(data: bytes) -> list[str]:
    screen = pyte.Screen(COLS, ROWS)
    pyte.ByteStream(screen).feed(data)
    return [line.rstrip() for line in screen.display]


def test_the_first_frame_is_what_the_picker_then_draws(sessions: LimeEnv, tmp_path: Path) -> None:
    env = dict(sessions.env, PYTHONPATH=_broken_toolkit(tmp_path) + ":" + sessions.env.get("PYTHONPATH", ""))
    early = _spawn(sessions, env)
    assert early.wait_exit() == 1  # the toolkit could not be imported: the first frame was all there was
    transcript = early.transcript
    assert LEAVE in transcript, "the first frame's alternate screen was not left"
    first = _lines(transcript[: transcript.rindex(LEAVE)])
    assert first[0].startswith(f" Resume a session · this directory · {COUNT} of {COUNT}")

    picker = _spawn(sessions, sessions.env)
    picker.wait_for(f"of {COUNT}")
    picker.send("\x1b[B")  # Down, then Up: only prompt-toolkit moves the selection, so this screen is its own
    picker.wait_for("› " + first[4][2:])
    picker.send("\x1b[A")
    picker.wait_for(first[3])
    drawn = [line.rstrip() for line in picker.screen.display]
    assert drawn[3].startswith("› ") and drawn[4].startswith("  ")
    assert first == drawn
    picker.send("\x1b")
    assert picker.wait_exit() == 0


def test_keys_typed_before_the_picker_loads_are_kept_and_the_terminal_is_given_back(sessions: LimeEnv) -> None:
    picker = _spawn(sessions, sessions.env, then="stty -a")
    picker.child.send("0042")  # at once, before anything is on the screen
    picker.wait_for(f"1 of {COUNT}")
    picker.wait_for("job 0042 to do")
    picker.send("\x1b")
    assert picker.wait_exit() == 0
    modes = picker.transcript.decode("utf-8", "replace").split()
    assert "icanon" in modes and "echo" in modes, "the terminal was left without line mode or echo"


def test_a_broken_toolkit_after_the_first_frame_is_one_line_and_a_whole_terminal(
    sessions: LimeEnv, tmp_path: Path
) -> None:
    env = dict(sessions.env, PYTHONPATH=_broken_toolkit(tmp_path) + ":" + sessions.env.get("PYTHONPATH", ""))
    early = _spawn(sessions, env, then="stty -a")
    assert early.wait_exit() == 0  # stty's status; lime's own is checked above
    assert not early.alternate
    text = early.text
    assert "lime: internal error: prompt_toolkit is broken here" in text
    assert "Traceback" not in text
    modes = early.transcript.decode("utf-8", "replace").split()
    assert "icanon" in modes and "echo" in modes
