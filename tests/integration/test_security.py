"""Security: file modes of everything lime creates, and secret redaction in the log.

The mode test runs a realistic workload with ``umask 000``, so a file or
directory only ends up private because lime asked for it explicitly: line mode
with ``!`` commands and rotation, a pty session (input history), a listing
(the catalog index), a torn tail repaired on resume (``.torn``), ``doctor
--repair`` and ``--debug`` (the program log).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv
from support.screen import TIMEOUT, Screen

SECRET = "s3cr3t-value-for-the-test"
SK = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0"


def _run(
    lime_env: LimeEnv,
    *args: str,
    input: str = "",
    extra: dict[str, str] | None = None,
    cwd: Path | None = None,
):
    """``lime ARGS`` with umask 000 (so only explicit modes make files private)."""
    return subprocess.run(
        [sys.executable, "-m", "lime_repl", *args],
        input=input.encode(),
        cwd=cwd or lime_env.cwd,
        env=dict(lime_env.env, **(extra or {})),
        capture_output=True,
        timeout=60,
        preexec_fn=lambda: os.umask(0),
    )


def _modes(root: Path) -> dict[Path, int]:
    found = {root: stat.S_IMODE(root.stat().st_mode)}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            found[path] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_every_directory_is_0700_and_every_file_0600(lime_env: LimeEnv) -> None:
    project = lime_env.cwd / "project"
    (project / ".lime").mkdir(parents=True)  # the user marks a project; lime creates what is inside
    small = {"LIME_SESSION_MAX_BYTES": "2048"}
    lines = "".join(f"!echo line {i} && seq 20\n" for i in range(12)) + "!ls -la\n!cd /tmp\n"
    for cwd in (lime_env.cwd, project):
        made = _run(lime_env, input=lines, extra=small, cwd=cwd)
        assert made.returncode == 0, made.stderr
    [active] = lime_env.session_files()
    assert list(active.parent.glob("*.jsonl.1")), "the workload must rotate"

    # A torn tail, repaired on resume (writes .torn), and one repaired by doctor.
    with open(active, "ab") as fh:
        fh.write(b'{"type":"message","id":"torn')
    assert _run(lime_env, "-c", input="!true\n").returncode == 0
    [proj_log] = sorted((project / ".lime" / "sessions").glob("*.jsonl"))
    with open(proj_log, "ab") as fh:
        fh.write(b'{"type":"mess')
    assert _run(lime_env, "doctor", "--repair", cwd=project).returncode == 0
    assert Path(f"{proj_log}.torn").exists() and Path(f"{active}.torn").exists()

    # Catalog index, program log.
    assert _run(lime_env, "session", "list", "--all").returncode == 0
    assert _run(lime_env, "--debug", "session", "show", "ffffffff").returncode == 2

    # Input history: the interactive REPL in a pty, also under umask 000.
    child = pexpect.spawn(
        "/bin/sh",
        ["-c", f"umask 000; exec {sys.executable} -m lime_repl"],
        cwd=str(lime_env.cwd),
        env=lime_env.env,
        dimensions=(30, 100),
        timeout=TIMEOUT,
    )
    screen = Screen(child, 30, 100)
    screen.wait_empty_prompt()
    screen.send("!echo from-the-pty\r")
    screen.wait_line("from-the-pty")
    screen.wait_empty_prompt()  # Ctrl-D typed while the command runs would be lost in the terminal
    screen.send("\x04")
    assert screen.wait_exit() == 0

    home_modes = _modes(lime_env.home)
    proj_modes = _modes(project / ".lime" / "sessions")
    kinds = {p.name.split(".")[-1] for p in home_modes} | {p.suffix for p in proj_modes}
    for expected in ("sqlite", "log", "txt", "torn", "lock", "jsonl", "1"):
        assert any(k.endswith(expected) for k in kinds), (expected, sorted(kinds))
    wrong = {
        str(path): oct(mode)
        for path, mode in {**home_modes, **proj_modes}.items()
        if mode != (0o700 if path.is_dir() else 0o600)
    }
    assert wrong == {}


def _entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_bang_output_is_redacted_in_the_log_but_shown_on_the_terminal(lime_env: LimeEnv) -> None:
    extra = {"MY_API_KEY": SECRET, "SHORT_TOKEN": "abc"}
    result = _run(
        lime_env,
        input=f'!echo "key=$MY_API_KEY short=$SHORT_TOKEN"\n!echo {SK} >&2\n',
        extra=extra,
    )
    assert result.returncode == 0, result.stderr
    assert f"key={SECRET} short=abc".encode() in result.stdout
    assert SK.encode() in result.stderr
    [log] = lime_env.session_files()
    data = log.read_text()
    assert SECRET not in data and SK not in data
    texts = [e["content"][0]["text"] for e in _entries(log) if e["type"] == "message"]
    assert "<bash-stdout>key=[REDACTED] short=abc\n</bash-stdout>" in texts
    assert "<bash-stderr>[REDACTED]\n</bash-stderr>" in texts
    assert "<bash-input>echo [REDACTED] >&2</bash-input>" in texts


def test_redact_false_in_config_keeps_the_output(lime_env: LimeEnv) -> None:
    lime_env.home.mkdir(parents=True, exist_ok=True)
    (lime_env.home / "config.toml").write_text("redact = false\n")
    result = _run(lime_env, input='!echo "$MY_API_KEY"\n', extra={"MY_API_KEY": SECRET})
    assert result.returncode == 0, result.stderr
    [log] = lime_env.session_files()
    assert f"<bash-stdout>{SECRET}\\n</bash-stdout>" in log.read_text()


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def test_tool_output_is_redacted_in_the_log_and_the_next_request(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    server.reply_tool_call("bash", {"command": 'echo "token=$SERVICE_TOKEN"'}).reply_text("done")
    extra = {**server.env("openai", "gpt-5.4"), "SERVICE_TOKEN": SECRET}
    result = _run(lime_env, "-p", "show the token", "--yolo", extra=extra)
    assert result.returncode == 0, result.stderr
    assert SECRET.encode() in result.stderr  # the terminal shows the real tool output
    [log] = lime_env.session_files()
    assert SECRET not in log.read_text()
    results = [
        block
        for e in _entries(log)
        if e["type"] == "message"
        for block in e["content"]
        if block.get("type") == "tool_result"
    ]
    assert [r["content"].strip() for r in results] == ["token=[REDACTED]"]
    assert SECRET not in json.dumps(server.requests[1])
    assert "token=[REDACTED]" in json.dumps(server.requests[1])
