"""A large Claude Code import read by two processes writes what one process writes, and fails as cleanly.

A log of :data:`~lime_repl.exchange.stream_fork.MIN_FORK_BYTES` or more is read
in a forked child while the parent writes (``exchange/stream_fork.py``), where
the process may run on two cores. Each test drives the real ``lime import`` on
a Claude Code 2.1 log of about 9 MiB with every record shape the reader maps
(chained ``progress`` and ``system`` records, thinking, tool calls, a result
holding an image, ``!`` exchanges, compactions, sidechains, a small float, a
lone surrogate and an integer over 64 bits, which make the child send whole
entries), and compares it with the same import made with the CPU affinity of
one core, where lime reads in one process. The failures (a bad line past the
first records, a reading process killed, Ctrl-C, a source id used twice) are
driven with real signals; the parent is stopped (SIGSTOP) while they are sent,
so the child cannot have finished, and no process may be left behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.lime_env import LimeEnv

from lime_repl.exchange.stream_fork import MIN_FORK_BYTES
from lime_repl.store.segments import segment_paths

pytestmark = pytest.mark.skipif(
    not hasattr(os, "fork") or len(os.sched_getaffinity(0)) < 2, reason="needs fork and two cores"
)

_ID = re.compile(rb'"([0-9a-f]{8})"')
_NOW_KEYS = ("timestamp", "created", "sessionId", "id")  # the fields of lime's own lines that name the run


def _uuid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def _repetition(i: int, parent: str | None, total: int) -> tuple[list[dict[str, Any]], str]:
    """One turn of a 2.1 session (about 3 KB), chained under ``parent``; its records and its last uuid."""
    base = i * 16
    stamp = f"2026-03-{1 + i // 2000:02d}T{(i // 60) % 24:02d}:{i % 60:02d}:00.{i % 1000:03d}Z"
    u = [_uuid(base + k) for k in range(12)]
    common = {"sessionId": "fork-test", "cwd": "/project", "version": "2.1.3", "timestamp": stamp}
    records: list[dict[str, Any]] = [
        {**common, "type": "user", "uuid": u[0], "parentUuid": parent,
         "message": {"role": "user", "content": f"question {i}: " + "why " * 40}},
        {**common, "type": "assistant", "uuid": u[1], "parentUuid": u[0], "requestId": f"req_{i}",
         "message": {"id": f"msg_{i}", "type": "message", "role": "assistant", "model": "claude-x",
                     "stop_reason": "tool_use",
                     "usage": {"input_tokens": 10 + i, "output_tokens": 5, "cache_read_input_tokens": 3},
                     "content": [
                         {"type": "thinking", "thinking": "let me see " * 20, "signature": "sig" + "A" * 40},
                         {"type": "text", "text": "I will look. " * 30},
                         {"type": "tool_use", "id": f"toolu_{i}", "name": "Bash",
                          "input": {"command": f"ls -la /project/{i}", "description": "list"}}]}},
        {**common, "type": "progress", "uuid": u[2], "parentUuid": u[1], "data": {"type": "hook", "n": i, "note": "naïve ✓"}},
        {**common, "type": "user", "uuid": u[3], "parentUuid": u[2],
         "toolUseResult": {"stdout": "a\nb", "durationMs": 12, "ratio": 1.5e-07 if i % 97 == 5 else 0.5},
         "message": {"role": "user", "content": [
             {"type": "tool_result", "tool_use_id": f"toolu_{i}", "is_error": i % 7 == 0,
              "content": [{"type": "text", "text": "total 8\n" + "-rw-r--r-- f\n" * 20},
                          {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                       "data": "iVBORw0KGgo" * 4}}]}]}},
        {**common, "type": "user", "uuid": u[4], "parentUuid": u[3],
         "message": {"role": "user", "content": f"<bash-input>echo {i}</bash-input>"}},
        {**common, "type": "user", "uuid": u[5], "parentUuid": u[4],
         "message": {"role": "user",
                     "content": f"<bash-stdout>{i}</bash-stdout><bash-stderr></bash-stderr>"}},
        {**common, "type": "system", "subtype": "informational", "uuid": u[6], "parentUuid": u[5],
         "content": "note " * 10},
        {"type": "file-history-snapshot", "messageId": u[6], "snapshot": {"files": [f"f{i}.py"]}},
    ]
    last = u[6]
    if i % 50 == 49:  # a compaction: the boundary hangs from the record before it, its summary after it
        records += [
            {**common, "type": "system", "subtype": "compact_boundary", "uuid": u[7], "parentUuid": None,
             "logicalParentUuid": last, "compactMetadata": {"trigger": "auto", "preTokens": 1000 + i}},
            {**common, "type": "user", "uuid": u[8], "parentUuid": u[7], "isCompactSummary": True,
             "message": {"role": "user", "content": f"summary of {i} turns"}},
        ]
        last = u[8]
    if i % 100 == 10:  # a subagent's sidechain: off the main chain
        records += [
            {**common, "type": "user", "uuid": u[9], "parentUuid": None, "isSidechain": True,
             "agentId": f"agent{i}", "message": {"role": "user", "content": f"sub task {i}"}},
            {**common, "type": "assistant", "uuid": u[10], "parentUuid": u[9], "isSidechain": True,
             "message": {"role": "assistant", "content": [{"type": "text", "text": "sub done"}]}},
        ]
    if i == total * 9 // 10:  # a lone surrogate: orjson refuses the line, json reads it
        records.append({**common, "type": "user", "uuid": u[11], "parentUuid": last,
                        "message": {"role": "user", "content": "byte \udcff kept"}})
        last = u[11]
    return records, last


def _log(path: Path, *, tweak: Callable[[int, list[str]], None] | None = None) -> Path:
    """A Claude Code log just over the fork threshold; ``tweak(i, lines)`` may change repetition ``i``'s lines."""
    sample = "\n".join(json.dumps(r, separators=(",", ":")) for r in _repetition(1, None, 10)[0])
    total = (MIN_FORK_BYTES + (1 << 20)) // len(sample) + 1
    chunks: list[bytes] = []
    parent: str | None = None
    for i in range(total):
        records, parent = _repetition(i, parent, total)
        lines = [json.dumps(r, separators=(",", ":")) for r in records]  # ASCII: a lone surrogate as \udcff
        if i == total * 19 // 20:  # an integer over 64 bits: orjson cannot read it exactly
            lines.append('{"type":"queue-operation","operation":"enqueue","n":123456789012345678901234}')
        if tweak is not None:
            tweak(i, lines)
        chunks.append(("\n".join(lines) + "\n").encode())
    chunks.append(b'{"type":"custom-title","customTitle":"the forked session","sessionId":"fork-test"}\n')
    path.write_bytes(b"".join(chunks))
    assert path.stat().st_size >= MIN_FORK_BYTES
    return path


def _as_from_a_terminal() -> None:
    """SIGINT as a terminal's foreground job has it: a test run in the background inherits it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _one_core() -> None:
    _as_from_a_terminal()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def _start(lime_env: LimeEnv, home: Path, source: Path, *, one_core: bool = False) -> subprocess.Popen[bytes]:
    env = dict(lime_env.env, LIME_HOME=str(home))
    return subprocess.Popen(
        [sys.executable, "-m", "lime_repl", "--debug", "import", str(source)],
        cwd=lime_env.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_one_core if one_core else _as_from_a_terminal,
        start_new_session=True,
    )


def _run(lime_env: LimeEnv, home: Path, source: Path, *, one_core: bool = False) -> tuple[int, str, str]:
    proc = _start(lime_env, home, source, one_core=one_core)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out.decode(), err.decode()


def _normalized(home: Path) -> list[bytes]:
    """Every line of the one session under ``home``, oldest segment first, its entry ids numbered in
    order and the fields that name this run (the header's id and times, lime's own entries' times) dropped."""
    (log,) = sorted(home.glob("sessions/*/*.jsonl"))
    lines = [line for seg in segment_paths(log) for line in seg.read_bytes().splitlines()]
    numbers: dict[bytes, bytes] = {}
    for line in lines:
        value = json.loads(line)
        if value.get("type") not in ("session", "checkpoint") and isinstance(value.get("id"), str):
            numbers.setdefault(value["id"].encode(), b"#%d" % len(numbers))
    result = []
    for line in lines:
        value = json.loads(line)
        if value.get("type") in ("session", "checkpoint", "title", "leaf", "label"):
            for key in _NOW_KEYS:
                value.pop(key, None)
            line = json.dumps(value, sort_keys=True).encode()
        result.append(_ID.sub(lambda m: b'"' + numbers.get(m.group(1), m.group(1)) + b'"', line))
    return result


def _forked(home: Path) -> bool:
    log = home / "logs" / "lime.log"
    return log.exists() and b"while this one writes" in log.read_bytes()


def _forks(pid: int) -> list[int]:
    """The children of ``pid`` that it forked without running another program (its own command line)."""
    found = []
    try:
        own = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return found
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid and Path(f"/proc/{entry}/cmdline").read_bytes() == own:
                    found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


def _wait_child(proc: subprocess.Popen[bytes]) -> int:
    """The pid of the import's reading process, as soon as it exists (the parent is then stopped)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = _forks(proc.pid)
        if children:
            os.kill(proc.pid, signal.SIGSTOP)
            return children[0]
        assert proc.poll() is None, proc.communicate()
    raise AssertionError("no reading process appeared")


def _left_behind(source: Path) -> list[int]:
    """Processes still running whose command line names ``source`` (a forked child keeps its parent's)."""
    left = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if str(source).encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    left.append(int(entry))
            except OSError:
                continue
    return left


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield _log(tmp_path_factory.mktemp("fork") / "session.jsonl")


def test_two_processes_write_what_one_process_writes(lime_env: LimeEnv, big_log: Path, tmp_path: Path) -> None:
    two, one = tmp_path / "two", tmp_path / "one"
    code, out, err = _run(lime_env, two, big_log)
    assert code == 0, err
    assert _forked(two), "a log over the threshold is read by a second process"
    code1, out1, err1 = _run(lime_env, one, big_log, one_core=True)
    assert code1 == 0, err1
    assert not _forked(one), "with one core, one process reads and writes"
    ids = re.compile(r"\b[0-9a-f]{8}(?:[0-9a-f]{24})?\b")  # the new session's id, whole and short
    assert ids.sub("ID", out) == ids.sub("ID", out1) and ids.sub("ID", err) == ids.sub("ID", err1)
    forked, alone = _normalized(two), _normalized(one)
    assert len(forked) == len(alone) > 20_000
    assert forked == alone
    text = b"\n".join(forked)
    for kind in (b'"compaction"', b'"reasoning"', b"<bash-input>echo 7</bash-input>", b'"image"', b'claude-code:progress',
                 b"byte \xef\xbf\xbd kept", b"123456789012345678901234", b"1.5e-07", b"the forked session"):
        assert kind in text, kind
    assert len(segment_paths(sorted(two.glob("sessions/*/*.jsonl"))[0])) > 10


def test_a_bad_line_past_the_first_records_is_refused_alike(lime_env: LimeEnv, tmp_path: Path) -> None:
    def bad(i: int, lines: list[str]) -> None:
        if i == 2000:
            lines.append("BAD-LINE")

    source = _log(tmp_path / "bad.jsonl", tweak=bad)
    raw = source.read_bytes()
    assert raw.count(b"\nBAD-LINE\n") == 1
    source.write_bytes(raw.replace(b"\nBAD-LINE\n", b"\n\xff\xfe\n"))  # bytes of no UTF-8 character
    code, _, err = _run(lime_env, tmp_path / "two", source)
    code1, _, err1 = _run(lime_env, tmp_path / "one", source, one_core=True)
    assert code == code1 == 1, (err, err1)
    assert err == err1 and "invalid UTF-8 on line" in err and len(err.strip().splitlines()) == 1, err
    assert not list((tmp_path / "two").glob("sessions/*/*.jsonl*"))
    assert _left_behind(source) == []


def test_a_killed_reading_process_ends_the_import_with_one_line(lime_env: LimeEnv, big_log: Path, tmp_path: Path) -> None:
    proc = _start(lime_env, tmp_path / "home", big_log)
    child = _wait_child(proc)
    os.kill(child, signal.SIGKILL)
    os.kill(proc.pid, signal.SIGCONT)
    _, err = proc.communicate(timeout=60)
    text = err.decode()
    assert proc.returncode == 1, text
    assert text.strip().splitlines() == [
        "lime: cannot import: its reading process stopped before the end of the file (killed by signal 9)"
    ]
    assert not list((tmp_path / "home").glob("sessions/*/*.jsonl*")), "the session begun is removed"
    assert _left_behind(big_log) == []


def test_ctrl_c_stops_both_processes_and_keeps_nothing(lime_env: LimeEnv, big_log: Path, tmp_path: Path) -> None:
    proc = _start(lime_env, tmp_path / "home", big_log)
    _wait_child(proc)
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal sends to its foreground group
    os.kill(proc.pid, signal.SIGCONT)
    _, err = proc.communicate(timeout=60)
    # 130 is lime's status for an interrupt; now and then the interrupt ends it during the interpreter's
    # exit, after its clean-up, when Python has put SIGINT back to its default: ended by the signal itself.
    assert proc.returncode in (130, -signal.SIGINT), err.decode()
    assert "Traceback" not in err.decode()
    assert not list((tmp_path / "home").glob("sessions/*/*.jsonl*"))
    assert _left_behind(big_log) == []


def test_a_source_id_used_twice_falls_back_to_the_whole_file_reader(lime_env: LimeEnv, tmp_path: Path) -> None:
    def twice(i: int, lines: list[str]) -> None:
        if i == 1500:  # the uuid of this turn's first record again, after its children took it
            first = json.loads(lines[0])
            lines.append(json.dumps({**first, "parentUuid": None, "message": {"role": "user", "content": "again"}}))

    source = _log(tmp_path / "twice.jsonl", tweak=twice)
    code, out, err = _run(lime_env, tmp_path / "two", source)
    assert code == 0, err
    assert _forked(tmp_path / "two")
    code1, out1, err1 = _run(lime_env, tmp_path / "one", source, one_core=True)
    assert code1 == 0, err1
    assert _normalized(tmp_path / "two") == _normalized(tmp_path / "one")
    assert b'"again"' in b"\n".join(_normalized(tmp_path / "two"))
