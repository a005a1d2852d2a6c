"""The command line's printers: ``session list/show/search`` and ``logs``.

The ``format_*`` functions return the text (no I/O); the ``print_*``
functions write it to stdout. ``logs`` streams the log's bytes (it may be
large, and ``--follow`` never ends). Table output adapts to a terminal; JSON and raw JSONL output are meant for
pipes and are printed without colour or decoration. Stored text in tables
and in ``session show`` goes through :mod:`lime_repl.textsafe` first, so a
title or output cannot drive the terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError, UsageError
from ..repl.console import wants_color
from ..textsafe import safe_line, safe_text

if TYPE_CHECKING:
    from ..store.catalog import SessionInfo
    from ..store.session import Session
    from ..workspace import Workspace

__all__ = [
    "follow_log",
    "format_search",
    "format_sessions",
    "format_transcript",
    "print_log",
    "print_sessions",
    "print_transcript",
    "search_sessions",
]


def _write(text: str) -> None:
    sys.stdout.write(text)


def print_sessions(sessions: list[SessionInfo], fmt: str, everywhere: bool) -> None:
    """Print ``sessions`` (:func:`format_sessions`): the listing on stdout, "no sessions" on stderr."""
    out, err = format_sessions(sessions, fmt, everywhere)
    _write(out)
    if err:
        sys.stderr.write(err)


def format_sessions(sessions: list[SessionInfo], fmt: str, everywhere: bool) -> tuple[str, str]:
    """``(stdout text, stderr text)`` for ``sessions`` as a JSON array (DESIGN.md section 1 fields) or an
    aligned table; an empty table is a note for stderr instead.

    A table of 10,000 rows is built in one pass with no per-row objects beyond its text: UPDATED from
    each session's ``mtime_ns`` through one :func:`~lime_repl.views.listing.minute_cells` cache, a
    printable ASCII cell taken as it is (what :func:`~lime_repl.textsafe.safe_line` and
    :func:`~lime_repl.views.listing.fit` would give it, done with a slice), each distinct CWD made safe
    once.
    """
    if fmt == "json":
        return _json_array(s.to_json() for s in sessions), ""
    if not sessions:
        return "", "no sessions" + ("" if everywhere else " in this directory; --all lists every directory's") + "\n"
    from ..store.titles import display_title
    from ..views.listing import UPDATED_WIDTH, column_width, fit, minute_cells, updated_cell

    if everywhere:  # a TITLE cell shows at most _TITLE_COLUMN columns: the start of a long prompt is enough
        labels = [_safe_cell(display_title(s.title, s.first_message, least=_TITLE_COLUMN) or "-") for s in sessions]
        width = column_width(labels, least=5, most=_TITLE_COLUMN)
    else:
        labels = [_safe_cell(s.display or "-") for s in sessions]
        width = 0
    lines = [
        f"{'ID':<8}  {'UPDATED':<{UPDATED_WIDTH}}  {'ENTRIES':>7}  {'DROPPED':>7}  {'SIZE':>9}  "
        + (fit("TITLE", width) + "  CWD" if everywhere else "TITLE")
    ]
    append = lines.append
    row_format = f"%-8.8s  %-{UPDATED_WIDTH}s  %7d  %7d  %9s  "  # ID, UPDATED, ENTRIES, DROPPED, SIZE
    minute = minute_cells()
    cwds: dict[str | None, str] = {}
    for s, label in zip(sessions, labels, strict=True):
        ns = s.updated_ns
        row = row_format % (s.id, updated_cell(s.updated) if ns is None else minute(ns), s.entries, s.dropped, _size(s.bytes))
        if not everywhere:
            append(row + label)
            continue
        if label.isascii() and label.isprintable():  # one column a character: fit() as a slice
            used = len(label)
            cell = label + " " * (width - used) if used <= width else label[: width - 1] + "…"
        else:
            cell = fit(label, width)
        cwd = cwds.get(s.cwd)
        if cwd is None:
            cwd = cwds[s.cwd] = safe_line(s.cwd or "-")
        append(f"{row}{cell}  {cwd}")
    return "\n".join(lines) + "\n", ""


def _safe_cell(text: str) -> str:
    """:func:`~lime_repl.textsafe.safe_line` of ``text``; printable ASCII is returned as it is (it holds
    no control, newline or tab)."""
    return text if text.isascii() and text.isprintable() else safe_line(text)


#: Columns of the TITLE cell of ``session list --all`` (longer titles are cut, so the CWD column lines up).
_TITLE_COLUMN = 48


def _json_array(items: Iterable[object]) -> str:
    """A JSON array with one compact element per line (the C encoder: fast for thousands of rows)."""
    encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
    body = ",\n  ".join(encode(item) for item in items)
    return f"[\n  {body}\n]\n" if body else "[]\n"


def _size(n: int) -> str:
    """``n`` bytes as the SIZE cell: ``512 B``, ``10.1 KiB``, ``3.0 MiB``, ``1.2 GiB`` (binary units)."""
    if n < 1024:
        return f"{n} B"
    if n < 1 << 20:
        return f"{n / 1024:.1f} KiB"
    if n < 1 << 30:
        return f"{n / (1 << 20):.1f} MiB"
    return f"{n / (1 << 30):.1f} GiB"


def print_transcript(session: Session) -> None:
    """Print the active branch of ``session`` as readable text (:func:`format_transcript`)."""
    _write(format_transcript(session))


def format_transcript(session: Session) -> str:
    """The active branch of ``session`` as readable text, made safe for a terminal.

    A message is ``role: text``; a ``!`` exchange is ``$ command`` and its
    output; a tool call is ``[tool] NAME: INPUT`` (the input on one line,
    :func:`~lime_repl.views.exchanges.tool_input_line`) and its result
    ``[result NAME] first lines`` (``[result NAME, error]`` when it failed),
    at most :data:`RESULT_LINES` lines then ``(+N lines)``.
    """
    from ..store.records import text_of, tool_names
    from ..views.exchanges import result_lines, tool_input_line, tool_results, tool_uses

    out = [
        f"session {session.session_id}",
        f"title   {session.title or '(untitled)'}",
        f"cwd     {session.cwd}",
    ]
    if session.dropped_entries:
        out.append(f"note    rotation dropped the {session.dropped_entries} earliest entries")
    out.append("")
    branch = session.branch()
    names = tool_names(branch)
    for entry in branch:
        kind = entry.get("type")
        if kind == "message":
            text = text_of(entry)
            shell = entry.get("shell")
            if isinstance(shell, dict):
                for tag in ("bash-input", "bash-stdout", "bash-stderr"):
                    if text.startswith(f"<{tag}>"):
                        body = text[len(tag) + 2 : -(len(tag) + 3)]
                        if tag == "bash-input":
                            out.append(f"$ {body}")
                        elif body:
                            out.append(body.rstrip("\n"))
                        if tag == "bash-stderr" and shell.get("exitCode"):
                            out.append(f"[exit {shell.get('exitCode')}]")
                continue
            calls, results = tool_uses(entry), tool_results(entry)
            if text.strip() or not (calls or results):
                out.append(f"{entry.get('role', '?')}: {text}")
            for call in calls:
                out.append("[tool] " + tool_input_line(str(call.get("name", "tool")), call.get("input")))
            for block in results:
                name = safe_line(names.get(str(block.get("tool_use_id")), "tool"))
                flag = ", error" if block.get("is_error") else ""
                content = block.get("content")
                body = content if isinstance(content, str) else text_of({"content": content})
                first, *more = result_lines(body, RESULT_LINES)
                out.append(f"[result {name}{flag}] {first}")
                out.extend(f"  {line}" for line in more)
        elif kind == "compaction":
            out.append(f"[compaction] {entry.get('summary', '')}")
        elif kind == "branch_summary":
            out.append(f"[branch summary] {entry.get('summary', '')}")
        elif kind == "model_change":
            out.append(f"[model] {entry.get('provider')}/{entry.get('model')}")
    return safe_text("\n".join(out)) + "\n"


#: Lines of a tool result that ``session show`` prints.
RESULT_LINES = 5


def search_sessions(
    workspace: Workspace, pattern: str, *, everywhere: bool, ignore_case: bool, fmt: str = "table"
) -> int:
    """Print the entries whose text matches the regular expression ``pattern`` (:func:`format_search`,
    colour when stdout is a terminal); returns how many."""
    text, count = format_search(
        workspace, pattern, everywhere=everywhere, ignore_case=ignore_case, fmt=fmt,
        color=fmt != "json" and wants_color(sys.stdout, workspace.env),
    )
    _write(text)
    return count


def format_search(
    workspace: Workspace, pattern: str, *, everywhere: bool, ignore_case: bool, fmt: str, color: bool
) -> tuple[str, int]:
    """``(text, number of hits)`` for the entries whose text matches the regular expression ``pattern``.

    Table rows are ``ID8  ENTRY  TIME  KIND  snippet`` with the match
    highlighted when stdout is a terminal and ``NO_COLOR`` is unset; ``json``
    prints an array of :meth:`SearchHit.to_json` objects, newest first. The
    pattern uses the ``regex`` module's syntax (:mod:`lime_repl.store.search`
    narrows the candidates with the FTS5 index first). Raises
    :class:`UsageError` (exit 2) for a bad pattern.
    """
    from ..store.search import search, snippet

    dirs = workspace.all_dirs() if everywhere else workspace.local_dirs()
    bar = _IndexProgress(workspace.env)
    try:
        hits = search(workspace.catalog, dirs, pattern, ignore_case=ignore_case, progress=bar.update)
    except ValueError as exc:
        raise UsageError(f"bad pattern {pattern!r}: {exc}") from None
    finally:
        bar.close()
    if fmt == "json":
        return _json_array(hit.to_json() for hit in hits), len(hits)

    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color and text else text

    lines = []
    for hit in hits:
        before, match, after = (safe_line(part) for part in snippet(hit.text, hit.start, hit.end))
        if hit.kind == "shell":
            before = "$ " + before
        when = hit.timestamp[:16].replace("T", " ") or "-"
        entry = f"{hit.entry_id or '-':<8}"
        lines.append(
            f"{paint(hit.session_id[:8], '35')}  {paint(entry, '33')}  {paint(when, '2')}  "
            f"{safe_line(hit.kind):<9}  {before}{paint(match, '1;31')}{after}"
        )
    return ("\n".join(lines) + "\n" if lines else ""), len(hits)


class _IndexProgress:
    """A progress bar on stderr while the catalog indexes full text, shown only on a terminal and only
    once indexing has taken more than ``delay`` seconds (click's progress bar; plain, without colour,
    when ``NO_COLOR`` is set)."""

    def __init__(self, env: Mapping[str, str] | None = None, delay: float = 1.0) -> None:
        import time

        self._clock = time.monotonic
        self._start = self._clock()
        self._delay = delay
        self._env = env
        self._bar: Any = None
        self._shown = 0

    def update(self, done: int, total: int) -> None:
        """``done`` of ``total`` bytes of log indexed."""
        if self._bar is None:
            if done >= total or self._clock() - self._start < self._delay or not sys.stderr.isatty():
                return
            import click

            from ..repl.console import wants_color

            color = wants_color(sys.stderr, self._env)
            self._bar = click.progressbar(
                length=total,
                label="lime: indexing sessions for search",
                file=sys.stderr,
                color=color,
                fill_char=click.style("#", fg="cyan") if color else "#",
                show_eta=False,
            )
            self._bar.__enter__()
        self._bar.update(done - self._shown)
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


class _LogWriter:
    """Writes log lines to stdout: raw bytes to a pipe or file; on a terminal, indented JSON, coloured
    with pygments' JSON lexer unless ``NO_COLOR`` is set."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.out = sys.stdout.buffer
        self.pretty = sys.stdout.isatty()
        self._format: Callable[[str], str] | None = None
        if self.pretty:
            if wants_color(sys.stdout, env):
                from pygments import highlight
                from pygments.formatters import TerminalFormatter
                from pygments.lexers import JsonLexer

                lexer, formatter = JsonLexer(), TerminalFormatter()
                self._format = lambda text: highlight(text, lexer, formatter)

    def write(self, line: bytes) -> None:
        if not self.pretty:
            self.out.write(line)
            return
        try:
            text = json.dumps(json.loads(line), ensure_ascii=False, indent=2) + "\n"
        except ValueError:
            text = line.decode("utf-8", "replace")
        text = safe_text(text)  # JSON escapes C0 controls, but not C1 controls or bidi overrides
        if self._format is not None:
            text = self._format(text)
        self.out.write(text.encode("utf-8", "replace"))

    def flush(self) -> None:
        self.out.flush()


def print_log(path: Path, env: Mapping[str, str] | None = None) -> None:
    """Print every surviving segment, oldest first (whole lines only).

    To a pipe or file the bytes are copied unchanged; on a terminal each
    line is shown as indented, coloured JSON (see :class:`_LogWriter`).
    """
    from ..store.files import UnsafeFile
    from ..store.tail import follow_lines, log_bytes

    writer = _LogWriter(env)
    try:
        if writer.pretty:
            for line in follow_lines(path, follow=False):
                writer.write(line)
            return
        for data in log_bytes(path):
            writer.out.write(data)
    except UnsafeFile as exc:
        raise StoreError(str(exc.strerror)) from None
    finally:
        writer.flush()


def follow_log(path: Path, poll: float = 0.1, env: Mapping[str, str] | None = None) -> None:
    """Print the whole log, then every line appended to it, across rotations, until interrupted.

    Each line is printed once, whole, in order (:func:`lime_repl.store.tail.follow_lines`
    keeps the open file across a rotation, so lines written just before it
    are read from the renamed file). Output is flushed whenever no more is to be read.
    """
    from ..store.files import UnsafeFile
    from ..store.tail import follow_lines

    writer = _LogWriter(env)
    try:
        for line in follow_lines(path, follow=True, poll=poll, on_idle=writer.flush):
            writer.write(line)
    except KeyboardInterrupt:
        return
    except UnsafeFile as exc:
        raise StoreError(str(exc.strerror)) from None
    finally:
        writer.flush()
