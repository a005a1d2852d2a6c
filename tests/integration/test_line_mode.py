"""Line mode and the command line, through the real `lime` process with piped stdin."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from support.lime_env import LimeEnv


def _entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_seq_and_exit_status(lime_env: LimeEnv) -> None:
    result = lime_env.run(input="!seq 3\n!exit 7\n")
    assert result.stdout == b"1\n2\n3\n"
    assert result.returncode == 7
    assert b"Traceback" not in result.stderr
    assert b"saved \xe2\x80\x94 resume with: lime -r " in result.stderr


def test_no_session_pipes_cleanly(lime_env: LimeEnv) -> None:
    result = lime_env.run("--no-session", input="!seq 3\n")
    assert result.stdout.count(b"\n") == 3 and result.returncode == 0
    assert lime_env.session_files() == []
    assert b"saved" not in result.stderr


def test_bytes_pass_through_and_stderr_separate(lime_env: LimeEnv) -> None:
    result = lime_env.run(input="!printf '\\x00\\xff\\xfe raw'\n!echo oops >&2\n")
    assert result.stdout == b"\x00\xff\xfe raw"
    assert b"oops\n" in result.stderr
    assert result.returncode == 0


def test_triples_recorded_with_cwd_and_persistence(lime_env: LimeEnv) -> None:
    script = "!cd /tmp\n!pwd\n!export FOO=bar\n!echo $FOO\n!false\n"
    result = lime_env.run(input=script)
    assert result.stdout == b"/tmp\nbar\n"
    assert result.returncode == 1
    [path] = lime_env.session_files()
    entries = _entries(path)
    assert entries[0]["type"] == "session" and entries[0]["cwd"] == str(lime_env.cwd)
    texts = [e["content"][0]["text"] for e in entries[1:]]
    assert texts[3:6] == [
        "<bash-input>pwd</bash-input>",
        "<bash-stdout>/tmp\n</bash-stdout>",
        "<bash-stderr></bash-stderr>",
    ]
    assert entries[4]["shell"]["cwd"] == "/tmp"
    assert entries[-1]["shell"]["exitCode"] == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_text_without_provider_explains_and_records_nothing(lime_env: LimeEnv) -> None:
    result = lime_env.run(input="hello model\n")
    assert b"no model provider is configured" in result.stderr
    assert result.returncode == 1
    assert lime_env.session_files() == []  # nothing recorded: the empty session is removed at exit


def test_resume_by_prefix_appends_to_same_file(lime_env: LimeEnv) -> None:
    lime_env.run(input="!echo one\n")
    [path] = lime_env.session_files()
    sid = path.name[:8]
    result = lime_env.run("-r", sid, input="!echo two\n")
    assert result.returncode == 0, result.stderr
    assert lime_env.session_files() == [path]
    texts = [e.get("content", [{}])[0].get("text") for e in _entries(path)]
    assert "<bash-input>echo two</bash-input>" in texts and "<bash-input>echo one</bash-input>" in texts
    assert lime_env.run("-c", input="!echo three\n").returncode == 0
    assert "<bash-input>echo three</bash-input>" in path.read_text()


def test_unknown_and_ambiguous_prefix_exit_2(lime_env: LimeEnv) -> None:
    lime_env.run(input="!true\n")
    lime_env.run(input="!true\n")
    # Give the two sessions ids that share the prefix 'abc' (the catalog resolves by file name).
    for path, sid in zip(lime_env.session_files(), ("abc1" + "0" * 28, "abc2" + "0" * 28), strict=True):
        for p in sorted(path.parent.glob(path.name + "*")):
            p.rename(path.parent / p.name.replace(path.name[:32], sid))
    unknown = lime_env.run("-r", "0123456")
    assert unknown.returncode == 2 and unknown.stderr.count(b"\n") == 1
    assert b"no session matches '0123456'" in unknown.stderr
    ambiguous = lime_env.run("-r", "abc")
    assert ambiguous.returncode == 2 and b"ambiguous" in ambiguous.stderr
    assert b"abc100000000" in ambiguous.stderr and b"abc200000000" in ambiguous.stderr
    assert b"Traceback" not in unknown.stderr + ambiguous.stderr
    show = lime_env.run("session", "show", "zzz")
    assert show.returncode == 2 and b"Traceback" not in show.stderr


def test_second_writer_exits_3_naming_pid(lime_env: LimeEnv) -> None:
    lime_env.run(input="!true\n")
    [path] = lime_env.session_files()
    holder = subprocess.Popen(
        [sys.executable, "-m", "lime_repl", "-r", path.name[:8]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=lime_env.cwd,
        env=lime_env.env,
    )
    try:
        lock = Path(f"{path}.lock")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and lock.read_text().strip() != str(holder.pid):
            time.sleep(0.05)
        second = lime_env.run("-r", path.name[:8], input="!true\n")
        assert second.returncode == 3
        assert f"pid {holder.pid}".encode() in second.stderr and b"--fork" in second.stderr
        assert b"Traceback" not in second.stderr
        forked = lime_env.run("-r", path.name[:8], "--fork", input="!echo forked\n")
        assert forked.returncode == 0, forked.stderr
    finally:
        holder.communicate(b"", timeout=20)
    assert len(lime_env.session_files()) == 2


def test_rotation_through_line_mode(lime_env: LimeEnv) -> None:
    # ~1.5 MB of output in 30 KiB pieces (under the 32 KiB cap, so every byte is logged).
    script = "".join(f"!head -c 30000 /dev/zero | tr '\\0' '{i % 10}'\n" for i in range(52))
    result = lime_env.run(input=script, timeout=120)
    assert result.returncode == 0, result.stderr
    files = sorted(lime_env.home.glob("sessions/*/*.jsonl*"))
    names = sorted(p.name.split(".jsonl", 1)[1] for p in files if not p.name.endswith(".lock"))
    assert names == ["", ".1", ".2", ".3"]
    for path in files:
        if path.name.endswith(".lock"):
            continue
        assert path.stat().st_size <= 262_144
        lines = _entries(path)
        assert lines[0]["type"] == "session"
        assert lines[1]["type"] == "checkpoint"
    [active] = lime_env.session_files()
    resumed = lime_env.run("-r", active.name[:8], input="!echo after\n")
    assert resumed.returncode == 0
    assert b"rotation dropped the" in resumed.stderr
    assert resumed.stdout == b"after\n"


def test_kill_9_then_torn_line_is_repaired(lime_env: LimeEnv) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "lime_repl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=lime_env.cwd,
        env=lime_env.env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    for i in range(20):
        proc.stdin.write(f"!echo line{i}\n".encode())
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    seen = b""
    while b"line19" not in seen and time.monotonic() < deadline:
        seen += os.read(proc.stdout.fileno(), 4096)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    [path] = lime_env.session_files()
    before = path.read_bytes()
    with open(path, "ab") as fh:
        fh.write(b'{"type":"message","id":"torn00')
    result = lime_env.run("-c", input="!echo again\n")
    assert result.returncode == 0 and b"Traceback" not in result.stderr
    assert b".torn" in result.stderr
    after = path.read_bytes()
    assert after.startswith(before[: before.rfind(b"\n") + 1])
    assert Path(f"{path}.torn").read_bytes() == b'{"type":"message","id":"torn00\n'
    for line in after.splitlines():
        json.loads(line)
    assert b"<bash-input>echo again</bash-input>" in after


def test_session_list_json_and_rm(lime_env: LimeEnv) -> None:
    lime_env.run(input="!echo hi\n/rename Demo\n")
    result = lime_env.run("session", "list", "--format", "json")
    assert result.returncode == 0
    [item] = json.loads(result.stdout)
    assert item["title"] == "Demo" and item["entries"] == 4 and item["scope"] == "global"
    assert set(item) == {
        "id",
        "title",
        "display",
        "cwd",
        "created",
        "updated",
        "entries",
        "bytes",
        "dropped",
        "segments",
        "path",
        "scope",
    }
    assert len(item["id"]) == 32 and item["segments"] == [item["path"]] and item["dropped"] == 0
    other = lime_env.run("session", "list", "--format", "json", cwd=lime_env.home.parent)
    assert json.loads(other.stdout) == []
    everywhere = lime_env.run("session", "list", "--all", "--format", "json", cwd=lime_env.home.parent)
    assert [s["id"] for s in json.loads(everywhere.stdout)] == [item["id"]]
    refused = lime_env.run("session", "rm", item["id"][:8])
    assert refused.returncode == 2
    removed = lime_env.run("session", "rm", item["id"][:8], "--yes")
    assert removed.returncode == 0 and lime_env.session_files() == []


def test_project_scope(lime_env: LimeEnv) -> None:
    (lime_env.cwd / ".lime").mkdir()
    sub = lime_env.cwd / "src"
    sub.mkdir()
    lime_env.run(input="!true\n", cwd=sub)
    assert list((lime_env.cwd / ".lime" / "sessions").glob("*.jsonl"))
    listed = json.loads(lime_env.run("session", "list", "--format", "json", cwd=sub).stdout)
    assert listed[0]["scope"] == "project"


def test_logs_and_version(lime_env: LimeEnv) -> None:
    lime_env.run(input="!echo hi\n")
    [path] = lime_env.session_files()
    assert lime_env.run("logs", "--path").stdout.decode().strip() == str(path)
    assert lime_env.run("logs").stdout == path.read_bytes()
    version = lime_env.run("--version")
    assert version.returncode == 0 and version.stdout.startswith(b"lime ")


def test_shell_completion_of_session_ids(lime_env: LimeEnv) -> None:
    lime_env.run(input="!true\n")
    [path] = lime_env.session_files()
    for words, cword in (("lime session show ", "3"), ("lime -r ", "2"), ("lime logs ", "2")):
        result = lime_env.run(extra_env={"COMP_WORDS": words, "COMP_CWORD": cword, "_LIME_COMPLETE": "bash_complete"})
        assert result.returncode == 0
        assert result.stdout.decode().split() == ["plain,latest", f"plain,{path.name[:8]}"]


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)


def test_commands_do_not_inherit_interrupts_ignored_when_lime_started(lime_env: LimeEnv) -> None:
    """A background job of a script starts with SIGINT and SIGQUIT ignored (POSIX 2.11); bash cannot reset
    what it inherits ignored, so lime resets both for its shell. SIGHUP (nohup) is left ignored."""

    def ignored(out: bytes) -> set[int]:
        mask = int(out.split()[1], 16)
        return {sig for sig in (signal.SIGINT, signal.SIGQUIT) if mask & (1 << (sig - 1))}

    line = "grep -E '^SigIgn' /proc/self/status"
    started = {"cwd": lime_env.cwd, "env": lime_env.env, "capture_output": True, "timeout": 60}
    result = subprocess.run(
        [sys.executable, "-m", "lime_repl"], input=f"!{line}\n".encode(), preexec_fn=_ignore_interrupts, **started
    )
    assert result.returncode == 0, result.stderr
    assert ignored(result.stdout) == set()
    plain = subprocess.run(["bash", "-c", line], preexec_fn=_ignore_interrupts, **started)  # the control
    assert ignored(plain.stdout) == {signal.SIGINT, signal.SIGQUIT}


def test_a_session_left_by_new_or_resume_closes_its_segment_files(lime_env: LimeEnv) -> None:
    """A resumed session reads its lines back from its segment files, mapped read-only; once lime moves to
    another session (``/new``), those mappings go -- also for the session resumed at start-up."""
    small = {"LIME_SESSION_MAX_BYTES": "2048", "LIME_SESSION_BACKUPS": "0"}
    made = lime_env.run(input="".join(f"!echo line {i} && seq 20\n" for i in range(12)), extra_env=small)
    assert made.returncode == 0, made.stderr
    [active] = lime_env.session_files()
    segments = {str(p) for p in active.parent.glob(active.name + "*") if not p.name.endswith(".lock")}
    assert len(segments) > 3, "the workload must rotate"
    # bash's $PPID is lime: list the files lime holds open or mapped, before and after /new
    listing = "!for fd in /proc/$PPID/fd/*; do readlink $fd; done; awk '{print $6}' /proc/$PPID/maps; echo ---\n"
    again = f"/resume {active.name[:8]}\n"
    script = listing + "/new\n" + listing + again + listing + "/new\n" + listing
    done = lime_env.run("-r", active.name[:8], input=script, extra_env=small)
    assert done.returncode == 0, done.stderr
    held = [set(part.split()) & segments for part in done.stdout.decode().split("---\n")[:4]]
    assert held[0] and held[2], "a resumed session holds its segment files"
    assert held[1] == held[3] == set(), held
