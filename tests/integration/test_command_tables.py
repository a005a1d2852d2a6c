"""A table-form command result (``/memory``) in both front ends: the interactive REPL and line mode."""

from __future__ import annotations

import pytest
from support.inprocess import InProcessRepl
from support.lime_env import LimeEnv


def _memory_files(lime_env: LimeEnv) -> list[tuple[str, int]]:
    lime_env.home.mkdir(parents=True, exist_ok=True)
    (lime_env.home / "AGENTS.md").write_text("Profile rule.\n")
    (lime_env.cwd / "AGENTS.md").write_text("A project rule, somewhat longer than the other one.\n" * 30)
    return [
        (str(lime_env.home / "AGENTS.md"), len("Profile rule.\n")),
        (str(lime_env.cwd / "AGENTS.md"), 30 * len("A project rule, somewhat longer than the other one.\n")),
    ]


def test_repl_fits_the_table_to_the_terminal(lime_env: LimeEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _memory_files(lime_env)
    width = 30
    monkeypatch.setenv("COLUMNS", str(width))
    with InProcessRepl(lime_env) as repl:
        repl.line("/memory")
        assert repl.exit() == 0
    lines = repl.stdout.value.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() == ["file", "bytes"])
    table = lines[start:]
    assert set(table[1]) == {"─"} and all(len(line) <= width for line in table), table
    rows = [line.split() for line in table[2:]]  # (a piece of the path, its size) or a piece alone
    sizes = [cells[1] for cells in rows if len(cells) == 2]
    assert sizes == [f"{size:,}" for _, size in files]  # thousands separators, one per file
    cells = "".join(cells[0] for cells in rows)
    assert cells == "".join(path for path, _ in files)  # every path whole, folded onto further lines


def test_line_mode_prints_the_table_as_plain_text(lime_env: LimeEnv) -> None:
    files = _memory_files(lime_env)
    done = lime_env.run(input="/memory\n", extra_env={"COLUMNS": "30"})
    assert done.returncode == 0, done.stderr
    width = max(len(path) for path, _ in files)
    assert done.stdout.decode().splitlines() == [
        f"{'FILE':<{width}}  BYTES",
        *(f"{path:<{width}}  {size:>5}" for path, size in files),
    ]  # never wrapped or cut, whatever the width: a pipe gets every cell whole
