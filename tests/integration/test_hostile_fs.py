"""A hostile file system: symlinks, directories and foreign files where lime's session files belong.

Each test drives the real ``lime`` in a private ``LIME_HOME`` and checks that
the file a symlink points to keeps its bytes, that lime says what is wrong in
one line naming the path, and that it exits with the right code.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "faults"))

from fault_support import bash_inputs, send, session_entries, spawn  # noqa: E402
from support.lime_env import LimeEnv  # noqa: E402

from lime_repl.paths import global_sessions_dir  # noqa: E402
from lime_repl.store.records import dumps, session_header  # noqa: E402

VICTIM = b"precious line one\nprecious torn tail"


def _session(lime_env: LimeEnv, lines: str = "!echo one\n") -> Path:
    result = lime_env.run(input=lines)
    assert result.returncode == 0, result.stderr
    [path] = lime_env.session_files()
    return path


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(VICTIM)
    return victim


def _wait_recorded(path: Path, count: int) -> None:
    """Wait until ``count`` bash triples are in ``path`` (the output is shown before it is recorded)."""
    deadline = time.monotonic() + 30
    while len(bash_inputs(session_entries(path))) < count:
        assert time.monotonic() < deadline, "the command was never recorded"
        time.sleep(0.01)


def _lines(err: bytes) -> list[str]:
    text = err.decode()
    assert "Traceback" not in text and "internal error" not in text, text
    return text.splitlines()


def test_resume_refuses_a_symlinked_log_and_leaves_its_target_alone(
    lime_env: LimeEnv, tmp_path: Path
) -> None:
    path = _session(lime_env)
    victim = tmp_path / "elsewhere.jsonl"  # a real lime log, header and all: only O_NOFOLLOW protects it
    path.rename(victim)
    original = victim.read_bytes()
    path.symlink_to(victim)
    result = lime_env.run("-r", path.name[:8], input="!echo two\n")
    assert result.returncode == 1
    assert _lines(result.stderr) == [
        f"lime: {path}: is a symbolic link, not a session log; lime does not follow it; "
        "the session was not opened"
    ]
    assert victim.read_bytes() == original
    assert not Path(f"{path}.torn").exists()


def test_resume_and_repair_leave_a_file_without_a_session_header_alone(lime_env: LimeEnv) -> None:
    path = _session(lime_env)
    path.write_bytes(VICTIM)
    result = lime_env.run("-r", path.name[:8], input="!echo two\n")
    assert result.returncode == 1
    [line] = _lines(result.stderr)
    assert line.startswith(f"lime: {path}: does not start with a lime session header")
    doctor = lime_env.run("doctor", "--repair")
    assert doctor.returncode == 1
    assert (
        "not repaired" in doctor.stdout.decode()
        and "does not start with a lime session header" in doctor.stdout.decode()
    )
    assert path.read_bytes() == VICTIM
    assert not Path(f"{path}.torn").exists()


def test_doctor_repair_never_truncates_through_a_symlink(lime_env: LimeEnv, tmp_path: Path) -> None:
    path = _session(lime_env)
    victim = _victim(tmp_path)
    path.unlink()
    path.symlink_to(victim)
    result = lime_env.run("doctor", "--repair")
    _lines(result.stderr)
    assert result.returncode == 1
    assert (
        f"{path}: is a symbolic link, not a session log; lime does not follow it (left alone)"
        in result.stdout.decode()
    )
    assert victim.read_bytes() == VICTIM
    assert not Path(f"{path}.torn").exists()


def test_a_symlink_swapped_in_under_a_running_session_is_never_written(
    lime_env: LimeEnv, tmp_path: Path
) -> None:
    victim = _victim(tmp_path)
    proc = spawn(lime_env)
    assert proc.stdout is not None
    send(proc, "!echo one")
    assert proc.stdout.readline() == b"one\n"
    [path] = lime_env.session_files()
    _wait_recorded(path, 1)
    before = path.read_bytes()
    victim.write_bytes(before)  # a lime log with its header: the writer must notice the swap itself
    path.unlink()
    path.symlink_to(victim)
    send(proc, "!echo two")
    assert proc.stdout.readline() == b"two\n"
    _, err = proc.communicate(timeout=30)
    lines = _lines(err)
    assert lines[0] == (
        f"lime: {path}: was replaced by a symbolic link; lime does not follow it; the command ran but was not recorded"
    )
    assert len(lines) == 2 and lines[1].startswith("session ")  # the closing notice
    assert proc.returncode == 1
    assert victim.read_bytes() == before
    path.unlink()
    path.write_bytes(before)
    assert bash_inputs(session_entries(path)) == ["echo one"]


def test_active_log_replaced_by_a_directory_one_line_per_command_and_the_session_goes_on(
    lime_env: LimeEnv,
) -> None:
    proc = spawn(lime_env)
    assert proc.stdout is not None
    send(proc, "!echo one")
    assert proc.stdout.readline() == b"one\n"
    [path] = lime_env.session_files()
    _wait_recorded(path, 1)
    path.unlink()
    path.mkdir()
    send(proc, "!echo two")
    assert proc.stdout.readline() == b"two\n"  # line mode keeps going
    assert proc.stderr is not None
    error = proc.stderr.readline().decode()
    path.rmdir()
    send(proc, "!echo three")
    assert proc.stdout.readline() == b"three\n"
    _, err = proc.communicate(timeout=30)
    lines = _lines(error.encode() + err)
    assert lines[0] == (
        f"lime: {path}: was replaced by a directory; nothing was written there; the command ran but was not recorded"
    )
    assert len(lines) == 2  # + the closing notice
    assert proc.returncode == 0  # the last line was recorded, in a new segment
    entries = session_entries(path)
    assert entries[0]["type"] == "session" and entries[0]["segment"] == 1
    assert bash_inputs(entries) == ["echo three"]


def test_lime_home_that_is_a_file(lime_env: LimeEnv) -> None:
    lime_env.home.write_text("not a directory\n")
    for args in ([], ["session", "list"]):
        result = lime_env.run(*args, input="!echo x\n")
        assert result.returncode == 1
        assert _lines(result.stderr) == [
            f"lime: LIME_HOME {lime_env.home} is not a directory; point it at a directory (or unset it)"
        ]
    assert lime_env.home.read_text() == "not a directory\n"


def test_a_torn_or_lock_path_that_is_a_directory_is_named(lime_env: LimeEnv) -> None:
    path = _session(lime_env)
    lock = Path(f"{path}.lock")
    lock.unlink()
    lock.mkdir()
    result = lime_env.run("-r", path.name[:8], input="!echo two\n")
    assert result.returncode == 1
    assert _lines(result.stderr) == [
        f"lime: {lock}: is a directory, not a lock file; the session was not opened"
    ]
    lock.rmdir()
    torn = Path(f"{path}.torn")
    torn.mkdir()
    whole = path.read_bytes()
    with open(path, "ab") as fh:
        fh.write(b'{"type":"mess')
    result = lime_env.run("-r", path.name[:8], input="!echo two\n")
    assert result.returncode == 1
    assert _lines(result.stderr) == [
        f"lime: {torn}: is a directory, not a torn-line file; the session was not opened"
    ]
    assert path.read_bytes() == whole + b'{"type":"mess'  # nothing cut while the torn line has nowhere to go
    doctor = lime_env.run("doctor")
    assert f"{torn}: is a directory, not a torn-line file" in doctor.stdout.decode()


def test_symlinked_project_or_global_sessions_dir_is_refused(lime_env: LimeEnv, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sessions = global_sessions_dir(lime_env.cwd, lime_env.env)
    sessions.parent.mkdir(parents=True)
    sessions.symlink_to(elsewhere, target_is_directory=True)
    result = lime_env.run(input="!echo x\n")
    assert result.returncode == 1
    assert _lines(result.stderr) == [
        f"lime: {sessions} is a symbolic link; lime keeps sessions only in a real directory"
    ]
    sessions.unlink()
    project = lime_env.cwd / ".lime"
    project.symlink_to(elsewhere, target_is_directory=True)
    result = lime_env.run(input="!echo x\n")
    assert result.returncode == 1
    assert _lines(result.stderr) == [
        f"lime: {project} is a symbolic link; lime keeps sessions only in a real directory"
    ]
    project.unlink()
    project.mkdir()
    (project / "sessions").symlink_to(elsewhere, target_is_directory=True)
    result = lime_env.run(input="!echo x\n")
    assert result.returncode == 1
    assert "is a symbolic link; lime keeps sessions only in a real directory" in result.stderr.decode()
    assert list(elsewhere.iterdir()) == []


def _handmade(lime_env: LimeEnv, entries: list[dict], *, checkpoint: dict | None = None) -> Path:
    directory = global_sessions_dir(lime_env.cwd, lime_env.env)
    directory.mkdir(parents=True)
    sid = "ab" * 16
    path = directory / f"{sid}.jsonl"
    header = session_header("00000000", sid, str(lime_env.cwd), created="2026-01-01T00:00:00.000Z")
    lines = [dumps(header)]
    if checkpoint is not None:
        header["segment"] = 1
        lines = [dumps(header), dumps(checkpoint)]
    path.write_bytes(b"".join(lines) + b"".join(dumps(e) for e in entries))
    return path


def _msg(entry_id: str, parent: str | None, text: str = "hi") -> dict:
    return {
        "type": "message",
        "id": entry_id,
        "parentId": parent,
        "timestamp": "2026-01-01T00:00:00.000Z",
        "role": "user",
        "content": [{"type": "text", "text": text}],
    }


def _last_parent(path: Path) -> str:
    entries = session_entries(path)
    first_new = next(e for e in entries if e.get("type") == "message" and e.get("shell"))
    return first_new["parentId"]


def test_negative_dropped_entries_is_never_printed(lime_env: LimeEnv) -> None:
    cp = {
        "type": "checkpoint",
        "id": "cccccccc",
        "parentId": None,
        "leafId": "a1a1a1a1",
        "droppedEntries": -5,
    }
    path = _handmade(lime_env, [_msg("a1a1a1a1", None)], checkpoint=cp)
    result = lime_env.run("-r", path.name[:8], input="!echo x\n")
    assert result.returncode == 0, result.stderr
    text = result.stderr.decode()
    assert "-5 earliest" not in text and "dropped the" not in text
    assert f"{path}: the checkpoint's droppedEntries -5 is not a count of entries; ignored" in text
    doctor = lime_env.run("doctor")
    assert doctor.returncode == 1
    assert f"{path}:2: droppedEntries -5 is not a count of entries" in doctor.stdout.decode()


def test_dangling_leaf_resumes_from_the_newest_reachable_entry(lime_env: LimeEnv) -> None:
    leaf = {"type": "leaf", "id": "1eaf1eaf", "parentId": None, "targetId": "deadbeef"}
    path = _handmade(lime_env, [_msg("a1a1a1a1", None), _msg("b2b2b2b2", "a1a1a1a1"), leaf])
    doctor = lime_env.run("doctor")
    assert doctor.returncode == 1 and "the leaf deadbeef names no entry" in doctor.stdout.decode()
    result = lime_env.run("-r", path.name[:8], input="!echo x\n")
    assert result.returncode == 0, result.stderr
    assert (
        f"{path}: the leaf deadbeef names no entry; continuing from the newest reachable entry b2b2b2b2"
        in result.stderr.decode()
    )
    assert _last_parent(path) == "b2b2b2b2"  # the model's context is the branch a1 -> b2, not empty


def test_parent_cycle_resumes_from_the_newest_reachable_entry(lime_env: LimeEnv) -> None:
    entries = [_msg("a1a1a1a1", None), _msg("c1c1c1c1", "c2c2c2c2"), _msg("c2c2c2c2", "c1c1c1c1")]
    path = _handmade(lime_env, entries)
    doctor = lime_env.run("doctor")
    assert doctor.returncode == 1 and "is in a parentId cycle" in doctor.stdout.decode()
    result = lime_env.run("-r", path.name[:8], input="!echo x\n")
    assert result.returncode == 0, result.stderr
    assert (
        f"{path}: the branch of the leaf c2c2c2c2 runs into a parentId cycle; "
        "continuing from the newest reachable entry a1a1a1a1" in result.stderr.decode()
    )
    assert _last_parent(path) == "a1a1a1a1"


def test_doctor_finds_and_repairs_a_log_that_is_not_utf8(lime_env: LimeEnv) -> None:
    path = _session(lime_env, "!echo one\n!echo two\n")
    data = path.read_bytes()
    lines = data.split(b"\n")
    # an old lime wrote the byte E9 of "caf\xe9" as the surrogate U+DCE9, encoded ED B3 A9; and a raw FF byte
    lines[2] = lines[2].replace(b"one", b"caf\xed\xb3\xa9")
    lines[5] = lines[5].replace(b"two", b"tw\xffo")
    path.write_bytes(b"\n".join(lines))
    doctor = lime_env.run("doctor")
    assert doctor.returncode == 1
    assert f"{path}:3: not valid UTF-8 (2 lines in this file)" in doctor.stdout.decode()
    repaired = lime_env.run("doctor", "--repair")
    assert repaired.returncode == 0, repaired.stdout.decode().replace(str(path.parent), "D")
    assert "re-encoded 2 lines with U+FFFD" in repaired.stdout.decode()
    fixed = path.read_bytes()
    fixed.decode("utf-8")  # strict: valid now
    assert "caf\ufffd".encode() in fixed and "tw\ufffdo".encode() in fixed
    assert fixed.count(b"\n") == data.count(b"\n")
    assert os.stat(path).st_mode & 0o777 == 0o600
    for raw in fixed.splitlines():
        json.loads(raw)
    assert lime_env.run("doctor").returncode == 0
    resumed = lime_env.run("-r", path.name[:8], input="!echo three\n")
    assert resumed.returncode == 0
    assert len(bash_inputs(session_entries(path))) == 3  # every line reads as a whole entry again


def test_session_files_are_left_for_a_symlinked_rotated_segment(lime_env: LimeEnv, tmp_path: Path) -> None:
    path = _session(lime_env)
    victim = _victim(tmp_path)
    rotated = Path(f"{path}.1")
    rotated.symlink_to(victim)
    result = lime_env.run("session", "show", path.name[:8])
    assert result.returncode == 1
    assert _lines(result.stderr) == [
        f"lime: {rotated}: is a symbolic link, not a session log; lime does not follow it"
    ]
    shutil.copy(victim, tmp_path / "copy")
    assert victim.read_bytes() == VICTIM


def test_a_symlinked_lock_or_torn_file_is_never_written(lime_env: LimeEnv, tmp_path: Path) -> None:
    path = _session(lime_env)
    victim = _victim(tmp_path)
    lock = Path(f"{path}.lock")
    lock.unlink()
    lock.symlink_to(victim)
    for args in (["-r", path.name[:8]], ["session", "rm", path.name[:8], "--yes"]):
        result = lime_env.run(*args, input="!echo two\n")
        assert result.returncode == 1
        [line] = _lines(result.stderr)
        assert line.startswith(f"lime: {lock}: is a symbolic link, not a lock file; lime does not follow it")
    assert victim.read_bytes() == VICTIM
    lock.unlink()
    torn = Path(f"{path}.torn")
    torn.symlink_to(victim)
    with open(path, "ab") as fh:
        fh.write(b'{"type":"mess')
    whole = path.read_bytes()
    result = lime_env.run("-r", path.name[:8], input="!echo two\n")
    assert result.returncode == 1
    assert _lines(result.stderr) == [
        f"lime: {torn}: is a symbolic link, not a torn-line file; lime does not follow it; the session was not opened"
    ]
    doctor = lime_env.run("doctor", "--repair")
    assert doctor.returncode == 1
    assert victim.read_bytes() == VICTIM
    assert path.read_bytes() == whole
