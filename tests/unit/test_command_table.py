"""A command's table form: the data, and its two text renderings (line mode, the interactive REPL)."""

from __future__ import annotations

import pytest

from lime_repl.repl.table import plain_lines, terminal_lines
from lime_repl.runtime.commands import CommandResult, Table


def _table() -> Table:
    table = Table(["file", "bytes"])
    table.add("/home/u/project/AGENTS.md", 1234)
    table.add("[bold]LIME.md[/bold]\x1b[31m", 6)
    return table


def test_plain_lines_align_columns_and_numbers_right() -> None:
    assert plain_lines(_table()) == [
        "FILE                       BYTES",
        "/home/u/project/AGENTS.md   1234",
        "[bold]LIME.md[/bold]           6",  # the escape sequence is gone, the markup is text
    ]


def test_plain_lines_of_text_columns_have_no_trailing_spaces() -> None:
    table = Table(["name", "title"])
    table.add("a", "x")
    table.add("longer", "tab\there")
    assert plain_lines(table) == ["NAME    TITLE", "a       x", "longer  tab here"]


def test_terminal_lines_fit_the_width_and_keep_markup_as_text() -> None:
    wide = terminal_lines(_table(), 80)
    assert wide[0].split() == ["file", "bytes"] and set(wide[1]) == {"─"}
    assert wide[2].split() == ["/home/u/project/AGENTS.md", "1,234"]
    assert wide[3].split() == ["[bold]LIME.md[/bold]", "6"]
    narrow = terminal_lines(_table(), 24)
    assert all(len(line) <= 24 for line in narrow) and narrow[2].split()[1] == "1,234"
    assert "".join(line.split()[0] for line in narrow[2:4]) == "/home/u/project/AGENTS.md"  # folded, kept
    assert "\x1b" not in "".join(wide + narrow)


def test_a_row_needs_one_cell_per_column_and_the_bridge_gets_the_data() -> None:
    table = _table()
    with pytest.raises(ValueError, match="3 cells under 2 columns"):
        table.add("a", 1, "extra")
    data = CommandResult(command="memory", table=table).to_json()
    assert data["table"] == {
        "columns": ["file", "bytes"],
        "rows": [["/home/u/project/AGENTS.md", 1234], ["[bold]LIME.md[/bold]\x1b[31m", 6]],
    }
    assert "table" not in CommandResult(command="status").to_json()
