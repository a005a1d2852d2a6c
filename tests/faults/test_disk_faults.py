"""Disk full, two writers racing for one session, and the log deleted or renamed under a writer.

Disk full is a real small file system: a 1 MiB tmpfs mounted by the test
(it needs root; the test is skipped, saying so, otherwise) holding
``LIME_HOME``, the sessions, the catalog and the program log. The test fills
it with a file until ``ENOSPC``, runs lime, frees the space and runs again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_support import bash_inputs, send, session_entries, spawn, whole_lines
from support.lime_env import LimeEnv

from lime_repl.store.segments import segment_paths


@pytest.fixture
def small_fs(tmp_path: Path, lime_env: LimeEnv) -> Iterator[Path]:
    """A 1 MiB tmpfs with ``LIME_HOME`` on it; unmounted at teardown."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    mount = tmp_path / "small-fs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"needs a tmpfs mount, which failed: {done.stderr.decode().strip()}")
    try:
        lime_env.home = mount / "home"
        lime_env.env["LIME_HOME"] = str(lime_env.home)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def _fill(mount: Path) -> Path:
    """Write a file on ``mount`` until the file system refuses a single byte more."""
    fill = mount / "fill"
    fd = os.open(fill, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == 28, exc  # ENOSPC
    finally:
        os.close(fd)
    return fill


def _wait_recorded(active: Path, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(bash_inputs(session_entries(active))) < count:
        assert time.monotonic() < deadline, "the command was never recorded"
        time.sleep(0.01)


def _headers_everywhere(active: Path) -> None:
    """Every segment file opens with a session header; every one after the first has a checkpoint."""
    for path in segment_paths(active):
        entries, torn = whole_lines(path)
        assert torn == b"", path
        assert entries and entries[0]["type"] == "session", (path, entries[:1])
        if entries[0]["segment"] > 0:
            assert entries[1]["type"] == "checkpoint", path


def _whole_triples(entries: list[dict]) -> None:
    """No command without its outputs: each bash-input is followed by its stdout and stderr."""
    texts = [
        e["content"][0]["text"][:14]
        for e in entries
        if e.get("type") == "message" and isinstance(e.get("shell"), dict)
    ]
    assert len(texts) % 3 == 0, texts
    for i in range(0, len(texts), 3):
        assert [t[:12] for t in texts[i : i + 3]] == ["<bash-input>", "<bash-stdout", "<bash-stderr"], texts


def test_full_disk_rollover_header_first_then_recovery(lime_env: LimeEnv, small_fs: Path) -> None:
    small = {"LIME_SESSION_MAX_BYTES": "24000", "LIME_SESSION_BACKUPS": "3"}
    proc = spawn(lime_env, extra=small)
    assert proc.stdout is not None and proc.stderr is not None
    send(proc, "!echo first")
    assert proc.stdout.readline() == b"first\n"
    [active] = lime_env.session_files()
    # Fill the first segment close to its 24,000 bytes with exchanges small enough for one line each
    # (an entry is capped to a quarter of a segment).
    for _ in range(3):
        send(proc, "!head -c 5000 /dev/zero | tr '\\0' x; echo")
        assert len(proc.stdout.readline()) == 5001
    _wait_recorded(active, 4)
    assert active.stat().st_size > 24000 - 5000
    fill = _fill(small_fs)
    # This one needs a rollover: the rename works, the new segment's header does not fit.
    send(proc, "!head -c 5000 /dev/zero | tr '\\0' x; echo")
    assert len(proc.stdout.readline()) == 5001
    error = proc.stderr.readline().decode()
    assert (
        error
        == f"lime: cannot write {active}: No space left on device; the command ran but was not recorded\n"
    )
    assert active.stat().st_size == 0 and Path(f"{active}.1").exists()
    # While the disk is full, a small command: reported once, nothing half written.
    send(proc, "!echo while-full")
    assert proc.stdout.readline() == b"while-full\n"
    assert proc.stderr.readline().decode() == error
    assert active.stat().st_size == 0
    fill.unlink()
    send(proc, "!echo after")
    assert proc.stdout.readline() == b"after\n"
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert [line for line in err.decode().splitlines() if not line.startswith("session ")] == []
    _headers_everywhere(active)
    entries, _ = whole_lines(active)
    assert entries[0]["segment"] == 1 and entries[1]["type"] == "checkpoint"
    assert bash_inputs(entries) == ["echo after"]  # written after its header and checkpoint
    everything = session_entries(active)
    filler = "head -c 5000 /dev/zero | tr '\\0' x; echo"
    assert bash_inputs(everything) == ["echo first", filler, filler, filler, "echo after"]
    _whole_triples(everything)
    again = lime_env.run("-r", active.name[:8], input="!echo resumed\n", extra_env=small)
    assert again.returncode == 0, again.stderr
    assert bash_inputs(session_entries(active))[-1] == "echo resumed"


def test_full_disk_bang_is_all_or_nothing_and_a_new_session_leaves_no_file(
    lime_env: LimeEnv, small_fs: Path
) -> None:
    made = lime_env.run(input="!echo start\n")
    assert made.returncode == 0, made.stderr
    [active] = lime_env.session_files()
    before = active.read_bytes()
    fill = _fill(small_fs)
    # Bigger than the room left in the file's last page: the first bytes fit, the rest do not.
    lines = "!echo big && head -c 9000 /dev/zero | tr '\\0' y\n!echo small\n"
    result = lime_env.run("-r", active.name[:8], input=lines)
    text = result.stderr.decode()
    assert "Traceback" not in text
    failures = [line for line in text.splitlines() if "not recorded" in line]
    refused = f"lime: cannot write {active}: No space left on device; the command ran but was not recorded"
    assert failures[:1] == [refused] and set(failures) == {refused}, text  # once per command it refused
    assert result.stdout.count(b"y") == 9000
    entries, torn = whole_lines(active)
    assert torn == b""
    assert "echo big && head -c 9000 /dev/zero | tr '\\0' y" not in bash_inputs(entries)
    assert active.read_bytes().startswith(before)
    _whole_triples(entries)
    # A new session on the full disk: one line, exit 1, and no empty log (or lock) left behind.
    directory = active.parent
    names = sorted(p.name for p in directory.iterdir())
    fresh = lime_env.run(input="!echo new\n")
    assert fresh.returncode == 1
    [line] = fresh.stderr.decode().splitlines()
    assert (
        line.startswith(f"lime: cannot create a session in {directory}: ")
        and "No space left on device" in line
    )
    assert sorted(p.name for p in directory.iterdir()) == names
    fill.unlink()
    fresh = lime_env.run(input="!echo new\n")
    assert fresh.returncode == 0, fresh.stderr
    assert len(lime_env.session_files()) == 2
    resumed = lime_env.run("-r", active.name[:8], input="!echo after\n")
    assert resumed.returncode == 0, resumed.stderr
    assert bash_inputs(session_entries(active))[-1] == "echo after"
    _headers_everywhere(active)


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
    # Line two waits for the file `go`, so it is recorded only after the log is gone, however slow the machine.
    second = "echo two; until [ -e go ]; do sleep 0.01; done"
    send(proc, "!echo one", f"!{second}")
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"one\n"
    assert proc.stdout.readline() == b"two\n"  # line one is recorded; line two waits
    [active] = lime_env.session_files()
    old = json.loads(active.read_bytes().splitlines()[-1])
    if how == "delete":
        active.unlink()
    else:
        active.rename(active.with_name("moved-away.bak"))
    (lime_env.cwd / "go").touch()  # line two ends and is recorded, into a new file
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
    assert bash_inputs(entries) == [second, "echo three"]
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
