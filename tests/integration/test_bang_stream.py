"""Line mode's ``!`` output to a file: byte for byte, however it is opened, and recorded as if read whole.

lime splices the middle of a long stream to its own stdout (DESIGN.md section 8,
``bang_stream``); a file opened for appending (``>>``) cannot be spliced to and
gets plain writes. Either way the file holds exactly the command's bytes, and
the log's ``<bash-stdout>`` holds the same head, tail and cut count as capping
the whole output would give.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.lime_env import LimeEnv

from lime_repl.outputs.capping import HeadTailBuffer

COMMAND = "seq 1 1500000"


def _stdout_entry(lime_env: LimeEnv) -> dict:
    (log,) = lime_env.session_files()
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return next(e for e in entries if e.get("content") and "<bash-stdout>" in e["content"][0]["text"])


@pytest.mark.parametrize("mode", ["wb", "ab"])
def test_a_long_stream_to_a_file_is_whole_and_recorded(lime_env: LimeEnv, tmp_path: Path, mode: str) -> None:
    expected = subprocess.run(COMMAND.split(), capture_output=True, check=True).stdout
    target = tmp_path / "out.txt"
    target.write_bytes(b"kept\n")
    with open(target, mode) as out:
        done = subprocess.run(
            [sys.executable, "-m", "lime_repl"],
            input=f"!{COMMAND}\n!echo after\n".encode(),
            stdout=out,
            stderr=subprocess.PIPE,
            cwd=lime_env.cwd,
            env=lime_env.env,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    prefix = b"kept\n" if mode == "ab" else b""
    assert target.read_bytes() == prefix + expected + b"after\n"
    reference = HeadTailBuffer()
    reference.feed(expected)
    entry = _stdout_entry(lime_env)
    assert entry["content"][0]["text"] == f"<bash-stdout>{reference.text()}</bash-stdout>"
    assert entry["shell"]["truncatedBytes"]["stdout"] == reference.truncated > 0


def test_line_mode_moves_a_long_stream_without_reading_it(lime_env: LimeEnv) -> None:
    # bash's parent is lime: its read counter (/proc/PID/io rchar) after a 50 MB stream went to stdout
    done = lime_env.run("--no-session", input="!head -c 50000000 /dev/zero\n!grep ^rchar /proc/$PPID/io\n")
    assert done.returncode == 0, done.stderr
    zeros, _, counter = done.stdout.rpartition(b"rchar: ")
    assert len(zeros) == 50_000_000 and not zeros.strip(b"\0")
    assert int(counter) < 10_000_000  # the head, the tail and lime's own files; not the 50 MB


def _running(argv: bytes) -> bool:
    """A process with exactly this NUL-joined command line exists (read from /proc)."""
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as fh:
                    if fh.read() == argv:
                        return True
            except OSError:
                continue
    return False


def test_ctrl_c_stops_a_spliced_stream_and_records_it_cancelled(lime_env: LimeEnv) -> None:
    size = "20000000001"  # 20 GB: seconds of streaming at the least, unless Ctrl-C ends it
    proc = subprocess.Popen(
        [sys.executable, "-m", "lime_repl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=lime_env.cwd,
        env=lime_env.env,
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(f"!head -c {size} /dev/zero\n!echo after\n".encode())
    proc.stdin.close()
    command = b"\0".join([b"head", b"-c", size.encode(), b"/dev/zero", b""])
    started = time.monotonic()
    while not _running(command):
        assert time.monotonic() - started < 60 and proc.poll() is None
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0  # the last line's status: `echo after` ran in the same shell
    assert b"^C interrupted" in proc.stderr.read()
    entry = _stdout_entry(lime_env)
    assert entry["shell"]["interrupted"] is True
    assert entry["shell"]["truncatedBytes"]["stdout"] < int(size)
