"""`lime session search` as a real subprocess over sessions written by real line-mode `lime` runs."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pexpect
import pytest
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv, private_env

ROW = re.compile(r"^([0-9a-f]{8})  ([0-9a-f]{8})  (\d{4}-\d\d-\d\d \d\d:\d\d)  (\w+)\s+(.*)$")


def _made(result) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 0, result.stderr
    match = re.search(rb"session ([0-9a-f]{8}) saved", result.stderr)
    assert match, result.stderr
    return match.group(1).decode()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> LimeEnv:
    """One private profile for the read-only tests of this module (the sessions are made once)."""
    root = tmp_path_factory.mktemp("search")
    (root / "work").mkdir()
    env = private_env(root, root / "home")
    return LimeEnv(root / "home", root / "work", env)


@pytest.fixture(scope="module")
def made(shared: LimeEnv) -> dict[str, str]:
    """Three sessions: two in the working directory (one with a model turn), one in another directory."""
    other = shared.cwd.parent / "elsewhere"
    other.mkdir()
    with FakeProviderServer() as server:
        server.reply_text("Giraffes have seven neck vertebrae, like most mammals.")
        chat = _made(
            shared.run(
                input="!echo Zebra crossing ahead\ntell me about giraffe necks\n",
                extra_env=server.env("openai", "gpt-5.4"),
            )
        )
    shell = _made(shared.run(input="!printf 'zebra stripes\\n' >&2\n!echo the okapi is a relative\n"))
    away = _made(shared.run(input="!echo zebra far away\n", cwd=other))
    return {"chat": chat, "shell": shell, "away": away}


def _rows(stdout: bytes) -> list[tuple[str, ...]]:
    rows = []
    for line in stdout.decode().splitlines():
        match = ROW.match(line)
        assert match, line
        rows.append(match.groups())
    return rows


def test_table_lists_each_matching_entry_of_this_directory(shared: LimeEnv, made: dict[str, str]) -> None:
    result = shared.run("session", "search", "zebra")
    assert result.returncode == 0, result.stderr
    rows = _rows(result.stdout)
    assert {(r[0], r[3]) for r in rows} == {(made["shell"], "shell"), (made["shell"], "stderr")}
    assert all("zebra" in r[4] for r in rows) and b"\x1b[" not in result.stdout  # NO_COLOR, and a pipe
    shell_row = next(r for r in rows if r[3] == "shell")
    assert shell_row[4].startswith("$ printf 'zebra stripes")


def test_case_insensitive_and_model_messages(shared: LimeEnv, made: dict[str, str]) -> None:
    rows = _rows(shared.run("session", "search", "-i", "zebra").stdout)
    assert {(r[0], r[3]) for r in rows} == {
        (made["chat"], "shell"),
        (made["chat"], "stdout"),
        (made["shell"], "shell"),
        (made["shell"], "stderr"),
    }
    rows = _rows(shared.run("session", "search", r"[Gg]iraffes? (have|neck)").stdout)
    assert sorted(r[3] for r in rows) == ["assistant", "user"] and {r[0] for r in rows} == {made["chat"]}


def test_all_and_json(shared: LimeEnv, made: dict[str, str]) -> None:
    result = shared.run("session", "search", "--all", "--format", "json", r"zebra \w+")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert {(h["sessionId"][:8], h["kind"]) for h in hits} == {
        (made["shell"], "shell"),
        (made["shell"], "stderr"),
        (made["away"], "shell"),
        (made["away"], "stdout"),
    }
    for hit in hits:
        assert re.fullmatch(r"[0-9a-f]{32}", hit["sessionId"]) and re.fullmatch(
            r"[0-9a-f]{8}", hit["entryId"]
        )
        assert hit["match"] in {"zebra stripes", "zebra far"} and hit["match"] in hit["snippet"]
        assert Path(hit["path"]).name == hit["sessionId"] + ".jsonl" and Path(hit["path"]).exists()
        assert hit["timestamp"].endswith("Z") and hit["title"] is None
    assert [h["timestamp"] for h in hits] == sorted((h["timestamp"] for h in hits), reverse=True)
    away = next(h for h in hits if h["sessionId"].startswith(made["away"]))
    assert away["cwd"] == str(shared.cwd.parent / "elsewhere")


def test_no_match_exits_1_and_a_bad_pattern_exits_2(shared: LimeEnv, made: dict[str, str]) -> None:
    result = shared.run("session", "search", "no such words anywhere")
    assert (result.returncode, result.stdout, result.stderr) == (1, b"", b"")
    result = shared.run("session", "search", "--format", "json", "ZEBRA")
    assert result.returncode == 1 and json.loads(result.stdout) == []
    result = shared.run("session", "search", "zebra(")
    assert result.returncode == 2 and result.stdout == b""
    assert result.stderr.count(b"\n") == 1 and result.stderr.startswith(b"lime: bad pattern")
    assert b"Traceback" not in result.stderr


def test_search_sees_new_entries_and_a_rebuilt_index(lime_env: LimeEnv) -> None:
    made = _made(lime_env.run(input="!echo the okapi is a relative\n"))
    assert lime_env.run("session", "search", "wildebeest").returncode == 1
    resumed = lime_env.run("-r", made, input="!echo a wildebeest appears\n")
    assert resumed.returncode == 0, resumed.stderr
    kinds = sorted(r[3] for r in _rows(lime_env.run("session", "search", "wildebeest").stdout))
    assert kinds == ["shell", "stdout"]
    [index] = lime_env.home.glob("cache/index.sqlite")
    index.write_bytes(b"\0garbage" * 1000)
    again = lime_env.run("session", "search", "wildebeest")
    assert again.returncode == 0 and sorted(r[3] for r in _rows(again.stdout)) == kinds


@pytest.mark.pty
def test_on_a_terminal_the_match_is_highlighted(shared: LimeEnv, made: dict[str, str]) -> None:
    env = {k: v for k, v in shared.env.items() if k != "NO_COLOR"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "lime_repl", "session", "search", "zebra"],
        cwd=str(shared.cwd),
        env=env,
        timeout=30,
        dimensions=(40, 250),
    )
    child.expect(pexpect.EOF)
    child.close()
    out = child.before.decode()
    assert child.exitstatus == 0, out
    assert "\x1b[1;31mzebra\x1b[0m" in out and f"\x1b[35m{made['shell']}\x1b[0m" in out
