"""Format versions: a log written by a newer lime is refused whole; older formats go through the migrations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.lime_env import LimeEnv

from lime_repl.store.formats import MIGRATIONS, header_version, migrate
from lime_repl.store.records import FORMAT_VERSION

REFUSAL = f"written by a newer lime (format 99, this one reads up to {FORMAT_VERSION})"


def _newer_session(lime_env: LimeEnv) -> tuple[Path, str, bytes, list[str]]:
    made = lime_env.run(input="!echo kept-output\n")
    assert made.returncode == 0, made.stderr.decode()
    [active] = lime_env.session_files()
    lines = active.read_bytes().splitlines(keepends=True)
    header = json.loads(lines[0])
    assert header["type"] == "session" and header["version"] == FORMAT_VERSION
    header["version"] = 99
    header["futureField"] = {"only": "a newer lime knows this"}
    # a torn last line too: a reader that half-opened the log would repair it
    data = json.dumps(header).encode() + b"\n" + b"".join(lines[1:]) + b'{"type":"mess'
    active.write_bytes(data)
    return active, header["sessionId"], data, _files(active)


def _files(active: Path) -> list[str]:
    return sorted(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in active.parent.iterdir())


def _assert_untouched(active: Path, data: bytes, before: list[str]) -> None:
    assert active.read_bytes() == data
    assert _files(active) == before  # no .torn written, no lock taken, no fork created
    assert not list(active.parent.glob("*.torn"))


@pytest.mark.parametrize(
    "args",
    [
        ["-r", "{sid}"],
        ["-r", "{sid}", "--fork"],
        ["-c"],
        ["export", "{sid}", "--format", "jsonl", "-o", "-"],
        ["export", "{sid}", "--format", "md", "-o", "-"],
        ["session", "show", "{sid}"],
    ],
    ids=["resume", "fork", "continue", "export-jsonl", "export-md", "show"],
)
def test_newer_format_is_refused_in_one_line(lime_env: LimeEnv, args: list[str]) -> None:
    active, sid, data, before = _newer_session(lime_env)
    proc = lime_env.run(*(a.format(sid=sid[:8]) for a in args), input="!echo must-not-run\n")
    err = proc.stderr.decode()
    assert proc.returncode == 1, (proc.stdout, err)
    assert err.count("\n") == 1 and REFUSAL in err and "Traceback" not in err
    assert b"must-not-run" not in proc.stdout
    _assert_untouched(active, data, before)


def test_newer_format_is_listed_and_not_reported_broken(lime_env: LimeEnv) -> None:
    active, sid, data, before = _newer_session(lime_env)
    listed = lime_env.run("session", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr.decode()
    assert sid in listed.stdout.decode()
    doctor = lime_env.run("doctor", "--repair")
    assert sid not in doctor.stdout.decode() + doctor.stderr.decode()
    _assert_untouched(active, data, before)


def test_migrations_apply_in_order_as_pure_functions() -> None:
    calls: list[int] = []

    def step(n: int):  # each step marks the entries it saw and returns new ones
        def run(entries: list[dict]) -> list[dict]:
            calls.append(n)
            return [dict(e, seen=[*e.get("seen", []), n]) for e in entries]

        return run

    original = [{"type": "session", "version": 1}, {"type": "message", "id": "a"}]
    out = migrate(original, 1, current=4, migrations={1: step(1), 2: step(2), 3: step(3)})
    assert calls == [1, 2, 3]
    assert [e["seen"] for e in out] == [[1, 2, 3], [1, 2, 3]]
    assert "seen" not in original[1]  # the input is not changed
    assert migrate(original, 3, current=4, migrations={1: step(1), 3: step(3)})[1]["seen"] == [3]
    with pytest.raises(ValueError):
        migrate(original, 5, current=4)
    assert header_version({"type": "session"}) == 1 and header_version({"version": True}) == 1
    assert all(version < FORMAT_VERSION for version in MIGRATIONS)
