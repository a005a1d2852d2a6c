"""The slash-command registry (DESIGN.md section 5): commands registered once, results returned as data.

Each command is registered with its name, aliases, argument hint, help text
(the handler's docstring, as in aider's commands), an argument completer and
``needs_terminal`` (the shape of litecli's ``@special_command``). ``/help``
and tab completion are generated from the registry, and dispatch is a
dictionary look-up. A handler takes the
:class:`~lime_repl.runtime.session.SessionRuntime`, the argument string and
``can_prefill`` (whether the front end can put text in the next prompt) and
returns a :class:`CommandResult`: lines, a :class:`Table` (columns and
rows), notices, a status, a prefill; the front end renders it (the REPL and
line mode as text, the bridge as data). A command with
``needs_terminal`` has a full-screen form (``/tree``, ``/resume`` and
``/fork`` without an argument) that the interactive REPL runs itself; its
other forms, and the whole command elsewhere, go through the handler here.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...errors import UsageError

if TYPE_CHECKING:
    from ..session import SessionRuntime

__all__ = ["REGISTRY", "Cell", "Command", "CommandResult", "Registry", "Table"]


Cell = str | int


@dataclass
class Table:
    """Tabular output: ``columns`` (header names) and ``rows``, each a list of one cell per column.

    A cell is a ``str`` or an ``int`` (a count or a size in bytes, which the
    text renderers align right). The front ends render it; the data is the
    same everywhere (litecli's special commands return ``(title, rows,
    headers, status)`` the same way).
    """

    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)

    def add(self, *cells: Cell) -> None:
        """Append one row. Raises ``ValueError`` unless it has one cell per column."""
        if len(cells) != len(self.columns):
            raise ValueError(f"a row of {len(cells)} cells under {len(self.columns)} columns")
        self.rows.append(list(cells))

    def to_json(self) -> dict[str, Any]:
        """``{"columns": [str, ...], "rows": [[str | int, ...], ...]}`` (docs/bridge.md)."""
        return {"columns": list(self.columns), "rows": [list(row) for row in self.rows]}


@dataclass
class CommandResult:
    """What a slash command did, for the front end to render.

    ``lines``: output (stdout in line mode); ``table``: tabular output,
    shown after ``lines``; ``notices``: lime's own lines about it (stderr in
    line mode); ``status``: 0 ok, 1 failure, 2 usage, 130 cancelled;
    ``prefill``: text for the next prompt (only when the caller said it can
    prefill); ``quit``: leave lime (``/quit``).
    """

    command: str = ""
    status: int = 0
    lines: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    prefill: str | None = None
    quit: bool = False
    table: Table | None = None

    def out(self, text: str = "") -> None:
        self.lines.append(text)

    def notice(self, text: str) -> None:
        self.notices.append(text)

    def to_json(self) -> dict[str, Any]:
        """``{"command", "status", "lines", "notices"}`` plus ``table`` / ``prefill`` / ``quit`` when set (docs/bridge.md)."""
        data: dict[str, Any] = {
            "command": self.command,
            "status": self.status,
            "lines": list(self.lines),
            "notices": list(self.notices),
        }
        if self.table is not None:
            data["table"] = self.table.to_json()
        if self.prefill is not None:
            data["prefill"] = self.prefill
        if self.quit:
            data["quit"] = True
        return data


Handler = Callable[["SessionRuntime", str, bool], CommandResult]
ArgCompleter = Callable[["SessionRuntime", str], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class Command:
    """One slash command: ``name`` without the slash, ``aliases``, ``args`` hint, ``help`` line."""

    name: str
    handler: Handler
    aliases: tuple[str, ...] = ()
    args: str = ""
    help: str = ""
    complete: ArgCompleter | None = None
    needs_terminal: bool = False


@dataclass
class Registry:
    """Commands by name and alias."""

    commands: dict[str, Command] = field(default_factory=dict)
    by_name: dict[str, Command] = field(default_factory=dict)

    def register(
        self,
        name: str,
        *,
        aliases: tuple[str, ...] = (),
        args: str = "",
        complete: ArgCompleter | None = None,
        needs_terminal: bool = False,
    ) -> Callable[[Handler], Handler]:
        def wrap(handler: Handler) -> Handler:
            doc = inspect.getdoc(handler) or ""
            first = doc.splitlines()[0] if doc else ""
            command = Command(name, handler, aliases, args, first, complete, needs_terminal)
            self.commands[name] = command
            for key in (name, *aliases):
                self.by_name[key] = command
            return handler

        return wrap

    def lookup(self, word: str) -> Command | None:
        return self.by_name.get(word.lstrip("/"))

    def split(self, line: str) -> tuple[Command, str]:
        """``(command, argument string)`` for ``/name args``. Raises :class:`UsageError` (2) when unknown."""
        word, _, rest = line.strip().partition(" ")
        command = self.lookup(word)
        if command is None:
            close = difflib.get_close_matches(word.lstrip("/"), list(self.by_name), n=1, cutoff=0.6)
            hint = f"did you mean /{close[0]}?" if close else "/help lists the commands"
            raise UsageError(f"unknown command {word}; {hint}")
        return command, rest.strip()

    def dispatch(self, runtime: SessionRuntime, line: str, *, can_prefill: bool = False) -> CommandResult:
        """Run the command on ``line`` and return its result (``command`` set to its name)."""
        command, args = self.split(line)
        result = command.handler(runtime, args, can_prefill)
        result.command = command.name
        return result


REGISTRY = Registry()
