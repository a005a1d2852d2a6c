"""Text renderings of a command's :class:`~lime_repl.runtime.commands.registry.Table`.

Line mode (:func:`plain_lines`) prints the table the way ``lime session
list`` does: upper-case headers, columns two spaces apart, integers aligned
right, nothing wrapped or cut (a pipe gets every cell whole), no trailing
spaces. The interactive REPL (:func:`terminal_lines`) lays it out with rich
(``rich.table``) to the terminal's width: a rule under the header, integers
with thousands separators, long cells folded onto further lines. Every cell
goes through :func:`lime_repl.textsafe.safe_line` first (it may hold a
stored path or title), and rich markup in a cell is shown as text.
"""

from __future__ import annotations

import io

from ..runtime.commands.registry import Cell, Table
from ..textsafe import safe_line

__all__ = ["plain_lines", "terminal_lines"]


def _text(cell: Cell) -> str:
    return str(cell) if isinstance(cell, int) else safe_line(cell)


def plain_lines(table: Table) -> list[str]:
    """The header line and one line per row, columns padded to their widest cell plus two spaces."""
    header = [name.upper() for name in table.columns]
    rows = [[_text(cell) for cell in row] for row in table.rows]
    right = [bool(table.rows) and all(isinstance(row[i], int) for row in table.rows) for i in range(len(header))]
    widths = [max(len(cells[i]) for cells in [header, *rows]) for i in range(len(header))]
    lines = []
    for cells in [header, *rows]:
        padded = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)]
        lines.append("  ".join(padded).rstrip())
    return lines


def terminal_lines(table: Table, width: int) -> list[str]:
    """The table laid out by rich for a terminal ``width`` columns wide (at least 20), without colour."""
    # rich is imported here, when a table is shown: lime's start-up never pays for it.
    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    view = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="")
    for index, name in enumerate(table.columns):
        numeric = bool(table.rows) and all(isinstance(row[index], int) for row in table.rows)
        view.add_column(name, justify="right" if numeric else "left", overflow="fold", no_wrap=numeric)
    for row in table.rows:
        view.add_row(*(Text(f"{cell:,}" if isinstance(cell, int) else safe_line(cell)) for cell in row))
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=max(width, 20),
        color_system=None,
        force_terminal=False,
        no_color=True,
        markup=False,
        highlight=False,
        emoji=False,
    )
    console.print(view)
    return [line.rstrip() for line in buffer.getvalue().splitlines()]
