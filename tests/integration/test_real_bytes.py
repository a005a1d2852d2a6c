"""Real bytes never break a session: undecodable command bytes and lone JSON surrogates.

Each test drives the real ``lime`` (line mode, ``session list``/``search``,
``import``, ``export`` and the bridge) in a private ``LIME_HOME`` and then
checks that every text file lime wrote decodes as strict UTF-8.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from support.lime_env import LimeEnv

REPLACEMENT = "\ufffd"


def strict_utf8_everywhere(root: Path) -> list[Path]:
    """Every file under ``root`` except the binary catalog; each must decode as strict UTF-8."""
    checked = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.name.startswith("index.sqlite"):
            continue  # the catalog is a binary SQLite cache
        path.read_bytes().decode("utf-8")  # raises on any invalid byte
        checked.append(path)
    return checked


def no_traceback(result: subprocess.CompletedProcess[bytes]) -> None:
    assert b"Traceback" not in result.stderr and b"internal error" not in result.stderr, result.stderr


def log_text(lime_env: LimeEnv) -> str:
    return "".join(p.read_bytes().decode("utf-8") for p in lime_env.session_files())


class Bridge:
    """A ``lime bridge`` process answered one request at a time; every raw output line is kept."""

    def __init__(self, lime_env: LimeEnv) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lime_repl", "bridge"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=lime_env.cwd,
            env=lime_env.env,
        )
        self.raw: list[bytes] = []
        self.next_id = 0

    def call(self, method: str, params_json: str) -> dict[str, Any]:
        """Send a request whose params are given as JSON text (so it can hold ``\\udcff`` escapes)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.next_id += 1
        line = f'{{"jsonrpc":"2.0","id":{self.next_id},"method":"{method}","params":{params_json}}}\n'
        self.proc.stdin.write(line.encode("ascii"))
        self.proc.stdin.flush()
        while True:
            raw = self.proc.stdout.readline()
            assert raw.endswith(b"\n"), f"the bridge ended its output: {raw!r}"
            self.raw.append(raw)
            message = json.loads(raw)
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return dict(message["result"])

    def finish(self) -> bytes:
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0
        return self.proc.stderr.read()


def test_an_undecodable_byte_from_a_command_keeps_every_listing_working(lime_env: LimeEnv) -> None:
    # The exact reproduction: printf '!echo caf\xe9\n' | lime
    ran = lime_env.run(input=b"!echo caf\xe9\n")
    assert ran.returncode == 0, ran.stderr
    no_traceback(ran)
    assert b"caf\xe9\n" in ran.stdout  # the terminal gets the command's raw bytes
    log = log_text(lime_env)
    # The log gets them decoded with replacement: the command line and the output.
    assert f"<bash-input>echo caf{REPLACEMENT}</bash-input>" in log
    assert f"<bash-stdout>caf{REPLACEMENT}\\n</bash-stdout>" in log

    listed = lime_env.run("session", "list")
    assert listed.returncode == 0 and listed.stdout.count(b"\n") == 2, listed
    every = lime_env.run("session", "list", "--all")
    assert every.returncode == 0 and every.stdout.count(b"\n") == 2, every
    found = lime_env.run("session", "search", "caf")
    assert found.returncode == 0 and f"caf{REPLACEMENT}".encode() in found.stdout, found
    for result in (listed, every, found):
        no_traceback(result)

    bridge = Bridge(lime_env)
    sessions = bridge.call("session.list", "{}")
    assert len(sessions["sessions"]) == 1
    assert b"Traceback" not in bridge.finish()
    for raw in bridge.raw:
        raw.decode("utf-8")
    assert strict_utf8_everywhere(lime_env.home)


def test_lone_surrogates_from_bridge_json_are_replaced(lime_env: LimeEnv) -> None:
    bridge = Bridge(lime_env)
    created = bridge.call("session.create", '{"title":"t\\udcffx"}')
    sid = created["sessionId"]
    bridge.call("session.send", f'{{"sessionId":"{sid}","text":"!echo \\udcff \\ud800 end"}}')
    bridge.call("session.rename", f'{{"sessionId":"{sid}","title":"r\\udc80\\ud83dz"}}')
    sessions = bridge.call("session.list", "{}")
    assert [s["title"] for s in sessions["sessions"]] == [f"r{REPLACEMENT}{REPLACEMENT}z"]
    assert b"Traceback" not in bridge.finish()
    for raw in bridge.raw:  # the bridge's output, echoes included, is valid UTF-8
        raw.decode("utf-8")
    log = log_text(lime_env)
    assert f'"title":"t{REPLACEMENT}x"' in log
    assert f"<bash-input>echo {REPLACEMENT} {REPLACEMENT} end</bash-input>" in log
    listed = lime_env.run("session", "list")
    assert listed.returncode == 0, listed
    no_traceback(listed)
    assert strict_utf8_everywhere(lime_env.home)


def test_an_imported_file_with_surrogate_escapes_is_stored_as_valid_utf8(lime_env: LimeEnv) -> None:
    source = lime_env.cwd / "pi.jsonl"
    source.write_text(
        '{"type":"session","id":"s1","timestamp":"2026-04-06T04:00:00.000Z","cwd":"/tmp/x"}\n'
        '{"type":"message","timestamp":"2026-04-06T04:00:00.100Z","message":{"role":"user",'
        '"content":[{"type":"text","text":"bad \\udcff and \\udc80\\ud800 here"}],"timestamp":1775448000100}}\n'
        '{"type":"message","timestamp":"2026-04-06T04:00:00.200Z","message":{"role":"assistant",'
        '"content":[{"type":"text","text":"ok \\ud83d\\ude00"}],"timestamp":1775448000200}}\n'
    )
    imported = lime_env.run("import", str(source))
    assert imported.returncode == 0, imported.stderr
    no_traceback(imported)
    log = log_text(lime_env)
    assert f"bad {REPLACEMENT} and {REPLACEMENT}{REPLACEMENT} here" in log
    assert "ok \U0001f600" in log  # a proper surrogate pair is the character it encodes
    for args in (("session", "list"), ("session", "search", "bad"), ("session", "list", "--all")):
        result = lime_env.run(*args)
        assert result.returncode == 0, (args, result.stderr)
        no_traceback(result)
    sid = json.loads(lime_env.session_files()[0].read_text().splitlines()[0])["sessionId"]
    for fmt in ("md", "html", "json", "jsonl"):
        out = lime_env.cwd / f"out.{fmt}"
        exported = lime_env.run("export", sid[:8], "--format", fmt, "-o", str(out))
        assert exported.returncode == 0, exported.stderr
        out.read_bytes().decode("utf-8")
    assert strict_utf8_everywhere(lime_env.home)


def test_exports_of_a_log_written_before_the_fix_are_valid_utf8(lime_env: LimeEnv) -> None:
    ran = lime_env.run(input="!echo cafe\n")
    assert ran.returncode == 0, ran.stderr
    [log] = lime_env.session_files()
    # An old lime wrote the surrogate of byte E9 as the invalid UTF-8 bytes ED B3 A9.
    log.write_bytes(log.read_bytes().replace(b"cafe", b"caf\xed\xb3\xa9"))
    sid = log.name.split(".")[0]
    for fmt in ("md", "html", "json"):
        out = lime_env.cwd / f"old.{fmt}"
        exported = lime_env.run("export", sid[:8], "--format", fmt, "-o", str(out))
        assert exported.returncode == 0, exported.stderr
        no_traceback(exported)
        assert f"caf{REPLACEMENT}" in out.read_bytes().decode("utf-8")
