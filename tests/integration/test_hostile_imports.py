"""Hostile imports (DESIGN.md section 7): zip bombs, slow servers, records of the wrong shape.

Each refusal is one line on stderr with exit 1 and writes no session; memory
stays bounded (the peak RSS of the ``lime`` child is measured from a fresh
parent, so earlier children do not count); a record of the wrong shape is
kept as a ``custom`` entry and every exporter still works.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.lime_env import LimeEnv

MiB = 1024 * 1024


def _one_line_refusal(result: subprocess.CompletedProcess[bytes], lime_env: LimeEnv, words: str) -> None:
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert len(err.strip().splitlines()) == 1, err
    assert words in err and "Traceback" not in err, err
    assert lime_env.session_files() == []


def _bomb(path: Path, inflated: int, *, lines: bool) -> None:
    """A zip whose one member inflates to ``inflated`` bytes, written in streaming mode (the test stays small)."""
    piece = (b'{"type":"x"}\n' * 80_000)[:MiB] if lines else b"\0" * MiB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("manifest.json", b"{}")
        with archive.open("session/a.jsonl", "w", force_zip64=True) as member:
            for _ in range(inflated // MiB):
                member.write(piece)


def _measured(lime_env: LimeEnv, *args: str) -> tuple[subprocess.CompletedProcess[bytes], float, int]:
    """Run lime from a fresh parent; returns the result, wall seconds and the child's peak RSS in KiB."""
    probe = (
        "import json, resource, subprocess, sys, time\n"
        "t = time.monotonic()\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "print(json.dumps([r.returncode, r.stderr.decode(), time.monotonic() - t,"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "lime_repl", *args],
        cwd=lime_env.cwd, env=lime_env.env, capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    code, err, seconds, rss = json.loads(out.stdout)
    return subprocess.CompletedProcess(args, code, b"", err.encode()), seconds, rss


@pytest.mark.parametrize("lines", [False, True], ids=["zeros", "short-lines"])
def test_zip_bomb_is_refused_fast_in_bounded_memory(lime_env: LimeEnv, tmp_path: Path, lines: bool) -> None:
    bomb = tmp_path / "bomb.zip"
    _bomb(bomb, 1000 * MiB, lines=lines)
    assert bomb.stat().st_size < 2 * MiB
    result, seconds, rss_kib = _measured(lime_env, "import", str(bomb))
    _one_line_refusal(result, lime_env, "refusing")
    assert seconds < 10, seconds
    assert rss_kib < 100 * 1024, f"peak RSS {rss_kib} KiB"


def test_zip_bomb_under_the_cap_is_refused_by_its_ratio(lime_env: LimeEnv, tmp_path: Path) -> None:
    """60 MiB of short lines from a few hundred KB: under the cap, but a bomb by its compression ratio."""
    bomb = tmp_path / "ratio.zip"
    _bomb(bomb, 60 * MiB, lines=True)
    result, seconds, rss_kib = _measured(lime_env, "import", str(bomb))
    _one_line_refusal(result, lime_env, "zip bomb")
    assert rss_kib < 100 * 1024, f"peak RSS {rss_kib} KiB"


def test_zip_member_with_a_huge_line_is_refused_while_inflating(lime_env: LimeEnv, tmp_path: Path) -> None:
    """Declared sizes within every limit, one 20 MiB line: refused at 16 MiB, not after inflating it all."""
    archive_path = tmp_path / "line.zip"
    import os

    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("manifest.json", b"{}")
        with archive.open("session/a.jsonl", "w", force_zip64=True) as member:
            for _ in range(20):
                member.write(os.urandom(MiB // 2).hex().encode()[:MiB])
    result, _seconds, rss_kib = _measured(lime_env, "import", str(archive_path))
    _one_line_refusal(result, lime_env, "line limit")
    assert rss_kib < 100 * 1024


class _Trickle(http.server.BaseHTTPRequestHandler):
    """Sends a large Content-Length, then one byte every second (bounded: 60 bytes at most)."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        for _ in range(60):
            try:
                self.wfile.write(b"{")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(1)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def trickle_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/session.jsonl"
    finally:
        server.shutdown()
        server.server_close()


def test_url_download_has_a_total_deadline(lime_env: LimeEnv, trickle_url: str) -> None:
    started = time.monotonic()
    result = lime_env.run("import", trickle_url, extra_env={"LIME_IMPORT_TIMEOUT": "3"}, timeout=60)
    elapsed = time.monotonic() - started
    _one_line_refusal(result, lime_env, "timed out after 3 s")
    assert elapsed < 8, f"the download ran {elapsed:.1f} s past a 3 s deadline"


# -- records of the wrong shape ------------------------------------------------------------
_ODD_CONTENT: list[object] = [
    5,
    None,
    {"a": 1},
    [5],
    ["text"],
    [None, {"type": 5}],
    [{"type": "text", "text": 7}],
    [{"type": "tool_use", "id": 3, "name": None, "input": "s"}],
    [{"type": "tool_use", "id": "t1", "name": "bash", "input": 5}],
    [{"type": "tool_result", "content": 9}],
    [{"type": "tool_result", "tool_use_id": "t1", "content": [1, {"type": "text", "text": None}]}],
    [{"type": "tool_result", "tool_use_id": "t1", "content": {"x": 1}}],
]


def _odd_session(session_id: str) -> bytes:
    header = {
        "type": "session", "id": "00000000", "parentId": None, "timestamp": "2026-01-01T00:00:00.000Z",
        "version": 1, "sessionId": session_id, "cwd": "/tmp", "created": "2026-01-01T00:00:00.000Z",
        "systemPrompt": None, "segment": 0,
    }  # fmt: skip
    entries: list[dict[str, object]] = [header]
    parent = None
    n = 0

    def add(**fields: object) -> None:
        nonlocal parent, n
        n += 1
        entry_id = f"{n:08x}"
        entries.append(
            {"id": entry_id, "parentId": parent, "timestamp": f"2026-01-01T00:00:{n % 60:02d}.000Z", **fields}
        )
        parent = entry_id

    add(type="message", role="user", content=[{"type": "text", "text": "a good first message"}])
    for content in _ODD_CONTENT:
        for role in ("user", "assistant"):
            add(type="message", role=role, content=content)
    add(type="message", role=7, content="a numeric role")
    add(type="message", role="user", content="<bash-input>ls</bash-input>", shell=5)
    add(type="compaction", summary=5, files=3, firstKeptEntryId=9)
    add(type="branch_summary", summary=None)
    add(type="model_change", provider=5, model=[1])
    add(type="title", title=5)
    add(type="label", targetId=5, label=5)
    add(type="message", role="assistant", content=[{"type": "text", "text": "a good last answer"}])
    return b"".join(json.dumps(e).encode() + b"\n" for e in entries)


def _exports_work(lime_env: LimeEnv, ref: str) -> None:
    for fmt in ("md", "html", "json", "jsonl"):
        result = lime_env.run("export", ref, "--format", fmt, "-o", "-")
        assert result.returncode == 0, (fmt, result.stderr.decode())
        assert b"Traceback" not in result.stderr and result.stdout, fmt
        if fmt in ("md", "html"):
            assert b"a good last answer" in result.stdout, fmt
    shown = lime_env.run("session", "show", ref)
    assert shown.returncode == 0, shown.stderr.decode()
    out = lime_env.cwd / f"odd-{ref}.html"
    request = {
        "jsonrpc": "2.0", "id": 1, "method": "session.export",
        "params": {"sessionId": ref, "format": "html", "path": str(out)},
    }  # fmt: skip
    bridged = lime_env.run("bridge", input=json.dumps(request) + "\n")
    reply = json.loads(bridged.stdout.decode().splitlines()[0])
    assert "result" in reply, reply
    assert b"a good last answer" in out.read_bytes()


def test_wrong_shapes_are_kept_as_custom_entries_at_import(lime_env: LimeEnv, tmp_path: Path) -> None:
    source = tmp_path / "odd.jsonl"
    source.write_bytes(_odd_session("0123456789abcdef0123456789abcdef"))
    result = lime_env.run("import", str(source))
    err = result.stderr.decode()
    assert result.returncode == 0, err
    assert "Traceback" not in err and "wrong shape" in err
    session_id = result.stdout.decode().strip()
    (log,) = lime_env.session_files()
    entries = [json.loads(line) for line in log.read_bytes().splitlines()[1:]]
    source_entries = source.read_bytes().splitlines()[1:]
    assert len(entries) == len(source_entries), "every record is kept"
    custom = [e for e in entries if e["type"] == "custom"]
    assert len(custom) == len(entries) - 2  # all but the two good messages
    assert all(e["customType"] == "lime:malformed" and isinstance(e["data"], dict) for e in custom)
    assert [e["id"] for e in entries] == [json.loads(line)["id"] for line in source_entries]
    _exports_work(lime_env, session_id[:8])


def test_exporters_survive_wrong_shapes_written_in_a_log(lime_env: LimeEnv) -> None:
    """A log holding odd shapes directly (an older writer, a hand edit): every exporter still works."""
    made = lime_env.run(input="!true\n")
    assert made.returncode == 0
    (first,) = lime_env.session_files()
    odd = first.parent / "0123456789abcdef0123456789abcdef.jsonl"
    odd.write_bytes(_odd_session(odd.name[:32]))
    odd.chmod(0o600)
    _exports_work(lime_env, "01234567")
