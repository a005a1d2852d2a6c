"""The session picker (`lime -r` with no value) in a real pty over 2,000 real session files."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest
from support.lime_env import LimeEnv
from support.screen import Screen

from lime_repl.store.records import dumps, new_entry_id, new_session_id, now_rfc3339, session_header
from lime_repl.store.session import Session
from lime_repl.workspace import Workspace

pytestmark = pytest.mark.pty

COUNT = 2000
BACKSPACE, CTRL_D, CTRL_N, CTRL_P, CTRL_R, CTRL_S = "\x7f", "\x04", "\x0e", "\x10", "\x12", "\x13"


def _generate(directory: Path, cwd: Path) -> list[str]:
    """COUNT session files written directly with the store's serializer (no lock, no fsync: fast).

    Each has the header, a prompt and an answer; every tenth a title.
    """
    directory.mkdir(parents=True, mode=0o700)
    ids = []
    for i in range(COUNT):
        sid = new_session_id()
        header = session_header(new_entry_id(), sid, str(cwd), created=now_rfc3339())
        text = "needle in the haystack" if i == 1234 else f"task {i:04d} about topic-{i % 7}"
        lines = [dumps(header)]
        parent = None
        for role, body in (("user", text), ("assistant", "ok")):
            entry_id = new_entry_id()
            entry = {"type": "message", "id": entry_id, "parentId": parent, "timestamp": now_rfc3339()}
            entry.update(role=role, content=[{"type": "text", "text": body}])
            lines.append(dumps(entry))
            parent = entry_id
        if i % 10 == 0:
            title = {"type": "title", "id": new_entry_id(), "parentId": parent, "timestamp": now_rfc3339()}
            lines.append(dumps({**title, "title": f"Named {i:04d}"}))
        path = directory / f"{sid}.jsonl"
        path.write_bytes(b"".join(lines))
        path.chmod(0o600)
        ids.append(sid)
    return ids


def _timed(args: list[str], lime_env: LimeEnv) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "lime_repl", *args],
        cwd=lime_env.cwd,
        env=lime_env.env,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return time.perf_counter() - start


def _open_picker(lime_env: LimeEnv) -> tuple[Screen, float]:
    start = time.perf_counter()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "lime_repl", "-r"],
        cwd=str(lime_env.cwd),
        env=lime_env.env,
        dimensions=(40, 120),
    )
    screen = Screen(child, 40, 120)
    screen.wait_for(f"of {COUNT}")
    return screen, time.perf_counter() - start


def _title_entries(path: Path) -> list[str | None]:
    return [
        json.loads(line).get("title") for line in path.read_text().splitlines() if '"type":"title"' in line
    ]


def test_picker_searches_renames_deletes_and_resumes(lime_env: LimeEnv) -> None:
    directory = Workspace(lime_env.cwd, lime_env.env).sessions_dir
    ids = _generate(directory, lime_env.cwd)
    needle, locked, doomed = ids[1234], ids[1501], ids[77]

    _timed(["session", "list"], lime_env)  # builds the catalog index once
    list_times = [_timed(["session", "list"], lime_env) for _ in range(3)]

    open_times = []
    for _ in range(2):
        screen, seconds = _open_picker(lime_env)
        open_times.append(seconds)
        screen.send("\x1b")
        assert screen.wait_exit() == 0  # Esc cancels: nothing is resumed, nothing created
    screen, seconds = _open_picker(lime_env)
    open_times.append(seconds)
    ratio = statistics.median(open_times) / statistics.median(list_times)
    print(
        f"\npicker_open over {COUNT} sessions: {statistics.median(open_times):.3f} s; "
        f"lime session list: {statistics.median(list_times):.3f} s; ratio {ratio:.2f}"
    )

    # typing searches titles and first messages
    screen.send(*"needle")
    screen.wait_for(f"1 of {COUNT}")
    screen.wait_for("needle in the haystack")
    screen.send(CTRL_R)
    screen.wait_for(f"rename {needle[:8]}:")
    screen.send(*"Found it", "\r")
    screen.wait_for(f"renamed {needle[:8]} to 'Found it'")
    assert _title_entries(directory / f"{needle}.jsonl") == ["Found it"]

    # a session open in another process cannot be renamed: the error line is shown instead
    holder = Session.open(directory / f"{locked}.jsonl")
    try:
        screen.send(*[BACKSPACE] * len("needle"), *locked[:10])
        screen.wait_for("task 1501")
        screen.send(CTRL_R, "x", "\r")
        screen.wait_for("use --fork")
    finally:
        holder.close()
    assert _title_entries(directory / f"{locked}.jsonl") == []

    # Ctrl-D asks first; anything but y keeps the session
    screen.send(*[BACKSPACE] * 10, *doomed[:10])
    screen.wait_for("task 0077")
    screen.send(CTRL_D)
    screen.wait_for("y/n")
    screen.send("n")
    screen.wait_for("not deleted")
    screen.send(CTRL_D, "y")
    screen.wait_for(f"deleted session {doomed[:8]}")
    assert not list(directory.glob(f"{doomed}.jsonl*"))
    screen.wait_for(f"0 of {COUNT - 1}")

    # the toggles: named only, sort by name, the path column, every directory
    screen.send(*[BACKSPACE] * 10, CTRL_N)
    screen.wait_for(f"{COUNT // 10 + 1} of {COUNT - 1} · sort: recent · named only")
    screen.send(CTRL_S)
    screen.wait_for("sort: name")
    screen.wait_for("Found it")  # "Found it" sorts before "Named ..."
    screen.send(CTRL_P)
    screen.wait_for("  CWD")
    screen.send("\t")
    screen.wait_for("all directories")
    screen.send(*"found", "\r")
    screen.wait_for(f"resumed session {needle[:8]}")
    screen.wait_empty_prompt()
    screen.send("/quit\r")
    assert screen.wait_exit() == 0
    assert "Traceback" not in screen.text

    listing = json.loads(lime_env.run("session", "list", "--format", "json").stdout)
    assert len(listing) == COUNT - 1  # nothing new: the picked session was resumed
    assert next(s for s in listing if s["id"] == needle)["title"] == "Found it"


def test_picker_needs_a_terminal_and_resume_lists_in_line_mode(lime_env: LimeEnv) -> None:
    made = lime_env.run(input="!true\n/rename listed\n")
    assert made.returncode == 0, made.stderr
    refused = lime_env.run("-r")
    assert refused.returncode == 2
    assert refused.stderr.decode().strip() == (
        "lime: choosing a session needs a terminal: pass an id, e.g. lime -r latest"
    )
    listed = lime_env.run("-c", input="/resume\n")
    assert listed.returncode == 0 and "listed" in listed.stdout.decode()


def test_resume_without_argument_opens_the_picker_inside_the_repl(lime_env: LimeEnv) -> None:
    made = lime_env.run(input="!echo earlier\n/rename Earlier work\n")
    assert made.returncode == 0, made.stderr
    [earlier] = lime_env.session_files()
    child = pexpect.spawn(
        sys.executable, ["-m", "lime_repl"], cwd=str(lime_env.cwd), env=lime_env.env, dimensions=(40, 120)
    )
    screen = Screen(child, 40, 120)
    screen.wait_empty_prompt()
    screen.send("!echo current\r")
    screen.wait_line("current")
    screen.wait_empty_prompt()
    screen.send("/resume\r")
    screen.wait_for("2 of 2")
    screen.wait_for("(open)")  # the session this REPL holds
    screen.send(CTRL_D)  # the open session is never deleted from inside it: said at once, no y/n first
    screen.wait_for("cannot be deleted from inside it")
    assert "y/n" not in screen.text
    screen.send(*"earlier", "\r")
    screen.wait_for(f"resumed session {earlier.name[:8]}")
    screen.wait_empty_prompt()
    screen.send("!echo back\r")
    screen.wait_line("back")
    screen.wait_empty_prompt()
    screen.send("/quit\r")
    assert screen.wait_exit() == 0
    assert "<bash-input>echo back</bash-input>" in earlier.read_text()
    assert len(lime_env.session_files()) == 2
