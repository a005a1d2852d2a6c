"""The picker and `session list` as a user reads them: the same UPDATED time, aligned columns, sorting, renaming."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pexpect
import pytest
from support.lime_env import LimeEnv
from support.screen import Screen
from wcwidth import wcswidth

CTRL_P, CTRL_R, CTRL_S, DOWN = "\x10", "\x12", "\x13", "\x1b[B"
ZONE = "Asia/Tokyo"


def _made(lime_env: LimeEnv, where: Path, script: str) -> str:
    where.mkdir(parents=True, exist_ok=True)
    before = set(lime_env.home.glob("sessions/*/*.jsonl"))
    made = lime_env.run(input=script, cwd=where)
    assert made.returncode == 0, made.stderr
    [path] = set(lime_env.home.glob("sessions/*/*.jsonl")) - before
    return path.name[:32]


@pytest.fixture
def sessions(lime_env: LimeEnv) -> dict[str, Path]:
    """Five sessions: three here (one untitled), one in a CJK-named directory, one in a very long path."""
    here = lime_env.cwd
    wide = lime_env.cwd.parent / "工作目录"
    deep = lime_env.cwd.parent / ("a-rather-long-directory-name/" * 4 + "leaf")
    _made(lime_env, here, "!echo zzz untitled\n")
    _made(lime_env, here, "!true\n/rename beta\n")
    _made(lime_env, here, "!true\n/rename Alpha\n")
    _made(lime_env, wide, "!true\n/rename 漢字のタイトルです\n")
    _made(lime_env, deep, "!true\n/rename deep one\n")
    lime_env.env["TZ"] = ZONE
    return {"here": here, "wide": wide, "deep": deep}


def _local(updated: str) -> str:
    """An independent rendering of a listing's RFC 3339 UTC time in the test's zone."""
    when = datetime.fromisoformat(updated.replace("Z", "+00:00"))
    return when.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M")


def test_session_list_all_aligns_cwd_and_shows_local_time(lime_env: LimeEnv, sessions: dict[str, Path]) -> None:
    rows = json.loads(lime_env.run("session", "list", "--all", "--format", "json").stdout)
    table = lime_env.run("session", "list", "--all").stdout.decode().splitlines()
    assert len(table) == 1 + len(rows)
    starts = set()
    for line, row in zip(table[1:], rows, strict=True):
        assert line.startswith(row["id"][:8])
        assert line[10:26] == _local(row["updated"]), line
        starts.add(wcswidth(line[: line.index(row["cwd"])]))
    starts.add(wcswidth(table[0][: table[0].index("CWD")]))
    assert len(starts) == 1, f"the CWD column starts at display columns {starts}:\n" + "\n".join(table)
    # /resume without an argument in line mode lists this directory's sessions with the same time
    listed = lime_env.run("-c", input="/resume\n").stdout.decode().splitlines()
    by_id = {row["id"][:8]: row for row in rows}
    shown = [line for line in listed if line[2:10] in by_id]
    assert len(shown) == 3 and all(line[12:28] == _local(by_id[line[2:10]]["updated"]) for line in shown), listed


def _picker(lime_env: LimeEnv) -> Screen:
    child = pexpect.spawn(
        sys.executable, ["-m", "lime_repl", "-r"], cwd=str(lime_env.cwd), env=lime_env.env, dimensions=(30, 120)
    )
    return Screen(child, 30, 120)


def _cells(screen: Screen, y: int) -> list[str]:
    return [screen.screen.buffer[y][x].data for x in range(screen.screen.columns)]


def _path_column(screen: Screen, y: int) -> int:
    """The screen column where the CWD cell of row ``y`` starts (after the fixed cells and the title)."""
    cells = _cells(screen, y)
    return next(x for x in range(40, len(cells)) if cells[x] in ("/", "…") and cells[x - 1] == " ")


@pytest.mark.pty
def test_picker_columns_time_sort_and_rename(lime_env: LimeEnv, sessions: dict[str, Path]) -> None:
    listing = {row["id"][:8]: row for row in json.loads(lime_env.run("session", "list", "--all", "--format", "json").stdout)}
    screen = _picker(lime_env)
    screen.wait_for("of 3")
    screen.send("\t", CTRL_P)
    screen.wait_for("all directories · 5 of 5")
    screen.wait_for("  CWD")
    lines = screen.text.splitlines()
    rows = [y for y, line in enumerate(lines) if line[2:10] in listing]
    assert len(rows) == 5, screen.text
    for y in rows:
        line = lines[y]
        assert line[12:28] == _local(listing[line[2:10]]["updated"]), "the same time as session list"
    assert len({_path_column(screen, y) for y in rows}) == 1, screen.text
    assert "工作目录" in screen.text and "…" in screen.text  # the long path is cut from the left

    # sort by name: titled sessions by title, untitled last
    screen.send(CTRL_S)
    screen.wait_for("sort: name")
    order = [line for line in screen.text.splitlines() if line[2:10] in listing]
    names = ["Alpha", "beta", "deep one", "漢字のタイトルです", "!echo zzz untitled"]
    assert [next(n for n in names if n in line) for line in order] == names, screen.text

    # a rename keeps the renamed row selected, even when the sort moves it
    screen.send(DOWN)
    screen.wait_for("› ")
    assert "beta" in next(line for line in screen.text.splitlines() if line.startswith("› "))
    screen.send(CTRL_R, *"\x7f" * 4, *"Zulu", "\r")  # sorts after "deep one": the row moves down one
    screen.wait_for("renamed")
    order = [line for line in screen.text.splitlines() if line[2:10] in listing]
    assert [line.startswith("› ") for line in order] == [False, False, True, False, False], screen.text
    assert "Zulu" in order[2]
    screen.send("\x1b")
    assert screen.wait_exit() == 0
