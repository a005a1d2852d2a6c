"""`lime logs --follow` as a subprocess while a real line-mode `lime` writes and rotates the session."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import pexpect
import pytest
from support.lime_env import LimeEnv

from lime_repl.store.segments import segment_paths


def _session(lime_env: LimeEnv) -> str:
    # Keep every segment (retain 0 in its header): a resume keeps the session's own retention.
    made = lime_env.run(input="!echo first\n", extra_env={"LIME_SESSION_BACKUPS": "0"})
    assert made.returncode == 0, made.stderr
    match = re.search(rb"session ([0-9a-f]{8}) saved", made.stderr)
    assert match, made.stderr
    return match.group(1).decode()


def test_follow_prints_every_line_once_across_rotations(lime_env: LimeEnv) -> None:
    sid = _session(lime_env)
    follower = subprocess.Popen(
        [sys.executable, "-m", "lime_repl", "logs", sid, "--follow"],
        cwd=lime_env.cwd,
        env=lime_env.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    received = bytearray()

    def pump() -> None:
        assert follower.stdout is not None
        for chunk in iter(lambda: follower.stdout.read1(65536), b""):  # type: ignore[union-attr]
            received.extend(chunk)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        commands = "".join(f"!echo line-{i:04d}-{'x' * 40}\n" for i in range(150))
        writer = lime_env.run(
            "-r",
            sid,
            input=commands,
            extra_env={"LIME_SESSION_MAX_BYTES": "2500", "LIME_SESSION_BACKUPS": "0"},
        )
        assert writer.returncode == 0, writer.stderr
        [active] = lime_env.session_files()
        segments = segment_paths(active)  # oldest first, the active file last
        assert len(segments) > 20  # the writer really rotated, many times
        expected = b"".join(p.read_bytes() for p in segments)
        deadline = time.monotonic() + 30
        while len(received) < len(expected) and time.monotonic() < deadline and follower.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)  # anything printed twice would show up now
    finally:
        follower.send_signal(signal.SIGINT)
        try:
            follower.wait(timeout=10)
        except subprocess.TimeoutExpired:
            follower.kill()
            follower.wait()
        reader.join(timeout=5)
    assert follower.returncode == 0, follower.stderr.read() if follower.stderr else b""
    assert bytes(received) == expected
    lines = bytes(received).splitlines()
    echoed = [int(m.group(1)) for ln in lines if (m := re.search(rb"<bash-input>echo line-(\d{4})", ln))]
    assert echoed == list(range(150))


@pytest.mark.pty
def test_on_a_terminal_the_log_is_indented_and_coloured(lime_env: LimeEnv) -> None:
    sid = _session(lime_env)
    env = {k: v for k, v in lime_env.env.items() if k != "NO_COLOR"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "lime_repl", "logs", sid],
        cwd=str(lime_env.cwd),
        env=env,
        timeout=30,
        dimensions=(50, 200),
    )
    child.expect(pexpect.EOF)
    child.close()
    out = child.before.decode()
    assert child.exitstatus == 0, out
    assert "\x1b[" in out  # pygments' terminal colours
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert '  "type": "session",' in plain and '"text": "<bash-input>echo first</bash-input>"' in plain
    env["NO_COLOR"] = "1"
    plain_child = pexpect.spawn(
        sys.executable, ["-m", "lime_repl", "logs", sid], cwd=str(lime_env.cwd), env=env, timeout=30
    )
    plain_child.expect(pexpect.EOF)
    assert (
        "\x1b[" not in plain_child.before.decode() and '  "type": "session",' in plain_child.before.decode()
    )


def test_follow_exits_cleanly_when_its_reader_goes_away(lime_env: LimeEnv) -> None:
    sid = _session(lime_env)
    follower = subprocess.Popen(
        f"{sys.executable} -m lime_repl logs {sid} --follow | head -1",
        shell=True,
        cwd=lime_env.cwd,
        env=lime_env.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        time.sleep(1.0)
        writer = lime_env.run("-r", sid, input="!echo more\n")
        assert writer.returncode == 0, writer.stderr
        out, err = follower.communicate(timeout=20)
    finally:
        if follower.poll() is None:
            os.killpg(follower.pid, signal.SIGKILL)
    assert out.startswith(b'{"type":"session"') and out.count(b"\n") == 1
    assert b"Traceback" not in err
