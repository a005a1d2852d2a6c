"""Disk full, two writers racing for one session, and the log deleted or renamed under a writer.

Disk full is a file-size limit: ``RLIMIT_FSIZE`` set in the child with
SIGXFSZ ignored, so a write past the limit is cut short and the next one
fails with ``EFBIG`` exactly as on a full disk (``ENOSPC``), without needing
to mount anything.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import threading
import time
from pathlib import Path

import pytest
from fault_support import bash_inputs, send, session_entries, spawn, whole_lines
from support.lime_env import LimeEnv

LIMIT = 6000


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def test_disk_full_one_clear_error_per_line_and_a_valid_log(lime_env: LimeEnv) -> None:
    made = lime_env.run(input="!echo start\n")
    assert made.returncode == 0, made.stderr
    [active] = lime_env.session_files()
    size_before = active.stat().st_size
    lines = [f"!echo line-{i} && head -c 300 /dev/zero | tr '\\0' x" for i in range(12)] + [
        "!echo still-alive"
    ]
    proc = spawn(lime_env, "-r", active.name[:8], preexec_fn=_limit_file_size)
    out, err = proc.communicate(("\n".join(lines) + "\n").encode(), timeout=60)
    text = err.decode()
    assert "Traceback" not in text
    failures = [line for line in text.splitlines() if "was not recorded" in line]
    assert failures, text
    assert all(line.startswith("lime: ") and "File too large" in line for line in failures)
    # The REPL ran every line to the end, with one error line for each line it could not record whole.
    assert len(text.splitlines()) == len(failures) + 1  # + the closing "session … saved" notice
    assert out.decode().count("line-") == 12 and out.endswith(b"still-alive\n")
    assert proc.returncode == 1  # the last line's status: it ran, but could not be recorded

    data = active.read_bytes()
    assert len(data) <= LIMIT and len(data) > size_before
    assert data.endswith(b"\n")
    entries, torn = whole_lines(active)
    assert torn == b""
    recorded = bash_inputs(entries)
    assert recorded[0] == "echo start"
    assert "echo still-alive" not in recorded
    # A bash triple is three appends: the one cut short by the limit may lack its last entries.
    whole = sum(
        1 for e in entries if e.get("type") == "message" and "<bash-stderr>" in e["content"][0]["text"]
    )
    assert len(failures) == len(lines) - (whole - 1)

    # Once there is room again, the same session resumes and records.
    again = lime_env.run("-r", active.name[:8], input="!echo after\n")
    assert again.returncode == 0, again.stderr
    assert bash_inputs(session_entries(active))[-1] == "echo after"


def test_two_writers_race_exactly_one_wins(lime_env: LimeEnv) -> None:
    made = lime_env.run(input="!echo base\n")
    assert made.returncode == 0
    [active] = lime_env.session_files()
    sid = active.name[:8]
    for _ in range(3):
        a, b = spawn(lime_env, "-r", sid), spawn(lime_env, "-r", sid)
        # Both start at once; the loser exits 3 while the winner waits for input.
        send(a, "!echo from-a")
        send(b, "!echo from-b")
        deadline = time.monotonic() + 30
        while a.poll() is None and b.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        loser, winner = (a, b) if a.poll() is not None else (b, a)
        _, loser_err = loser.communicate(timeout=30)
        assert loser.returncode == 3, loser_err
        message = loser_err.decode().strip().splitlines()
        assert message == [
            f"lime: session {sid} is open in pid {winner.pid}; use --fork to continue it in a new session"
        ]
        out, err = winner.communicate(timeout=30)  # closes its stdin: the winner ends
        assert winner.returncode == 0, err
        assert out in (b"from-a\n", b"from-b\n")
    recorded = bash_inputs(session_entries(active))
    assert recorded[0] == "echo base" and len(recorded) == 4


@pytest.mark.parametrize("how", ["delete", "rename"])
def test_log_vanishing_under_a_writer_is_recreated_with_header_and_checkpoint(
    lime_env: LimeEnv, how: str
) -> None:
    proc = spawn(lime_env)
    send(proc, "!echo one", "!echo two; sleep 0.3")
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"one\n"
    assert proc.stdout.readline() == b"two\n"  # line one is recorded; line two is sleeping
    [active] = lime_env.session_files()
    old = json.loads(active.read_bytes().splitlines()[-1])
    if how == "delete":
        active.unlink()
    else:
        active.rename(active.with_name("moved-away.bak"))
    time.sleep(0.5)  # line two is recorded now, into a new file
    send(proc, "!echo three")
    assert proc.stdout.readline() == b"three\n"
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err

    entries, torn = whole_lines(active)
    assert torn == b""
    header, checkpoint = entries[0], entries[1]
    assert header["type"] == "session" and header["segment"] == 1
    assert header["sessionId"] == active.name.split(".")[0]
    assert checkpoint["type"] == "checkpoint"
    assert checkpoint["leafId"] == old["id"] and checkpoint["droppedEntries"] == 3
    assert bash_inputs(entries) == ["echo two; sleep 0.3", "echo three"]
    if how == "rename":
        moved, _ = whole_lines(active.with_name("moved-away.bak"))
        assert bash_inputs(moved) == ["echo one"]

    resumed = lime_env.run("-r", active.name[:8], input="!echo four\n")
    assert resumed.returncode == 0 and b"Traceback" not in resumed.stderr
    assert b"rotation dropped the" in resumed.stderr
    assert bash_inputs(session_entries(active))[-1] == "echo four"


def test_rotation_under_concurrent_readers(lime_env: LimeEnv) -> None:
    small = {"LIME_SESSION_MAX_BYTES": "2000", "LIME_SESSION_BACKUPS": "0"}  # keep all: the follower may lag
    made = lime_env.run(input="!echo first\n", extra_env=small)
    assert made.returncode == 0
    [active] = lime_env.session_files()
    sid = active.name[:8]
    follower = spawn(lime_env, "logs", sid, "--follow")
    followed = bytearray()
    assert follower.stdout is not None

    def pump_output() -> None:
        assert follower.stdout is not None
        while chunk := follower.stdout.read1():
            followed.extend(chunk)

    pump = threading.Thread(target=pump_output, daemon=True)
    pump.start()
    writer = spawn(lime_env, "-r", sid, extra=small)
    count = 120
    last = f"w-{count - 1:04d}".encode()
    assert writer.stdin is not None
    writer.stdin.write("".join(f"!echo w-{i:04d}-{'x' * 60}\n" for i in range(count)).encode())
    writer.stdin.close()

    readers = 0
    while writer.poll() is None:
        for args in (["session", "list", "--format", "json"], ["logs", sid], ["session", "show", sid]):
            result = lime_env.run(*args)
            readers += 1
            assert result.returncode == 0, result.stderr
            assert b"Traceback" not in result.stderr
            if args[0] == "logs":
                for raw in result.stdout.splitlines():
                    assert isinstance(json.loads(raw), dict)  # whole lines only
            elif args[1] == "list":
                [info] = json.loads(result.stdout)
                assert info["id"].startswith(sid)
    assert writer.wait(timeout=60) == 0
    deadline = time.monotonic() + 20
    while last not in followed and time.monotonic() < deadline:
        time.sleep(0.05)
    follower.send_signal(signal.SIGINT)
    _, err = follower.communicate(timeout=30)
    pump.join(timeout=10)
    assert follower.returncode == 0, err
    assert b"Traceback" not in err
    assert followed.endswith(b"\n")
    entries = [json.loads(raw) for raw in bytes(followed).splitlines()]  # no half line anywhere
    seen = [c for c in bash_inputs(entries) if c.startswith("echo w-")]
    numbers = [int(c[7:11]) for c in seen]
    assert numbers == list(range(count))  # every line, once, in order, across rotations
    headers = [e["segment"] for e in entries if e["type"] == "session"]
    assert len(headers) > 3 and headers == sorted(headers)  # it followed across rotations
    assert readers >= 3
    assert len(list(Path(active.parent).glob("*.jsonl.*[0-9]"))) > 10  # many rotations
    assert os.path.getsize(active) <= 2000
