"""Reading a large Claude Code or Codex log line by line, so an import never holds the whole file.

:func:`read_streamed` opens the file with the checks of
:func:`~lime_repl.exchange.guard.read_file` (no symlink, a regular file, at
most the import cap), reads it one line at a time with the checks of
:func:`~lime_repl.exchange.guard.split_jsonl` (lines of at most 16 MiB, UTF-8,
nesting depth; a line that is not JSON is skipped with a warning), and feeds
the records to the Claude Code reader as they are read. Each record can be
freed once its entry is built, so the peak memory is the entries, not the
file, its decoded text and every parsed record besides. The Codex reader makes
two passes over its records (end events and echoed prompts may come after the
lines they concern), so it reads the file twice, holding no record of the first pass.

Only those two formats are streamed, the ones whose logs grow to tens of
megabytes; anything else (a zip, a JSON document, lime's or pi's logs, Kimi)
returns None and is read whole by :func:`~lime_repl.exchange.import_.read_bytes`.

:func:`import_streamed` goes further for a first import of a Claude Code log
(and of a Codex rollout, on its second pass, :func:`~.foreign.codex.mapped`):
it writes the entries while it reads (the reader's :class:`~.foreign.builder.Builder`
hands them over as soon as each is complete, its parents resolved through a
source-uuid -> entry-id map), so neither the records nor the entries are held,
and each entry is written as the line the entry guard proved for it, not
serialized again. A re-import reads the log line by line too, matching its entries with the
session's one at a time (:func:`~lime_repl.exchange.reimport.import_or_update`);
a log whose session id, cwd and first time are not among its first records
takes the read-then-write path. The batches, lines and the two-process import
of a large log (read in a forked child while this process writes, where two
cores are free: :func:`~.stream_fork.can_fork`) are :mod:`.stream_write`'s.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Callable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from ..store.records import Entry
from .codec import SLOW, LineCodec
from .foreign.builder import NotStreamable
from .foreign.common import Imported
from .guard import MAX_JSON_DEPTH, MAX_LINE_BYTES, ImportRefused, loads, value_depth
from .lime_reader import is_lime_header
from .stream_write import batched, write_streamed

if TYPE_CHECKING:
    from ..workspace import Workspace
    from .import_write import ImportResult

__all__ = ["import_streamed", "read_streamed"]

_PEEK = 50
_BLANK = frozenset(b" \t")
T = TypeVar("T")


class _WholeFile(Exception):
    """Leave the file to the whole-file reader, whose refusal names sizes exactly (over the cap, a long line)."""


def _open(path: Path, cap: int) -> IO[bytes]:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _WholeFile
        if st.st_size > cap:
            raise _WholeFile
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=1 << 20)
    except BaseException:
        os.close(fd)
        raise


def _records(
    fh: IO[bytes],
    name: str,
    cap: int,
    warnings: list[str],
    codec: LineCodec | None = None,
) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` of each JSON line.

    With a ``codec``, a line it can parse exactly is parsed by it (:class:`~.codec.LineCodec`), the others
    as before (decoded, then :func:`~.guard.loads`); the nesting limit holds for both.
    """
    parse = codec.parse if codec is not None else None
    lineno = total = 0
    while True:
        raw = fh.readline(MAX_LINE_BYTES + 2)
        if not raw:
            return
        lineno += 1
        total += len(raw)
        if total > cap or (len(raw) > MAX_LINE_BYTES and len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES):
            raise _WholeFile
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        raw = raw.rstrip(b" \t\r\n")  # JSON's own white space: the line as a kept record's data
        if not raw or (raw[0] in _BLANK and not raw.lstrip(b" \t")):  # lstrip copies: only where it may matter
            continue
        if parse is not None and (value := parse(raw)) is not SLOW:
            if (
                len(raw) > 2 * MAX_JSON_DEPTH  # each level opens and closes: shorter lines are not deep
                and raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH
                and value_depth(value) > MAX_JSON_DEPTH
            ):
                raise ImportRefused(f"refusing {name}:{lineno}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
            yield lineno, value
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportRefused(
                f"refusing {name}: invalid UTF-8 on line {lineno} (byte {exc.start})"
            ) from None
        try:
            value = loads(text, f"{name}:{lineno}")
        except ValueError:
            warnings.append(f"{name}:{lineno}: skipped a line that is not JSON")
            continue
        yield lineno, value


class _Reread:
    """The records of an open file, read from its start again at each iteration.

    Line warnings are kept from the first pass only. A file that grew in
    between is read as it is then (a Codex log being written); one that grew
    past the cap raises ``_WholeFile``.
    """

    def __init__(self, fh: IO[bytes], name: str, cap: int, warnings: list[str]) -> None:
        self.fh, self.name, self.cap, self.warnings = fh, name, cap, warnings
        self.passes = 0

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        self.fh.seek(0)
        warnings = self.warnings if self.passes == 0 else []
        self.passes += 1
        return _records(self.fh, self.name, self.cap, warnings)


def read_streamed(path: Path, cap: int, *, fallback: str) -> Imported | None:
    """The Claude Code or Codex log at ``path`` read line by line, or None for any other content."""
    name = str(path)
    try:
        fh = _open(path, cap)
    except (OSError, _WholeFile):
        return None  # the whole-file reader reports it
    try:
        with fh:
            return _dispatch(fh, name, cap, fallback)
    except _WholeFile:
        return None


def _dispatch(fh: IO[bytes], name: str, cap: int, fallback: str) -> Imported | None:
    from .foreign import claude, codex, pi

    head = fh.read(1)
    fh.seek(0)
    if head != b"{":
        return None
    warnings: list[str] = []
    records = _records(fh, name, cap, warnings)
    peek: list[tuple[int, Any]] = []
    for record in records:
        peek.append(record)
        if len(peek) >= _PEEK:
            break
    if not peek or peek[0][0] != 1 or is_lime_header(peek[0][1]) or pi.looks_like(peek):
        return None
    if codex.looks_like(peek):  # the Codex reader makes two passes: the file is read twice
        warnings.clear()
        return codex.read(_Reread(fh, name, cap, warnings), name, warnings, fallback)
    if claude.looks_like(peek):
        subagents = claude.subagent_records(name, cap)
        return claude.read(chain(peek, records), name, warnings, fallback, subagents)  # type: ignore[arg-type]
    return None


def import_streamed(
    workspace: Workspace,
    path: Path,
    cap: int,
    previous: Callable[[Imported], Path | None],
    update: Callable[[Path, Imported, Iterator[Entry]], T] | None = None,
) -> ImportResult | T | None:
    """Import the Claude Code log or Codex rollout at ``path`` by writing its entries as they are read.

    See the module doc; a Codex rollout is read twice (:func:`~.foreign.codex.mapped`).

    When ``previous`` finds a session imported from the same source, ``update``
    gets that session's path, the source's header and its entries as they are
    read (filling in the title and leaf at their end), and its result is returned.
    Returns None, having written nothing, when the file is not such a log,
    when ``previous`` finds a session and there is no ``update`` (the caller
    then updates it), or when the session id, cwd or first time is not
    among the first records; the caller then reads the file whole. Raises
    :class:`ImportRefused` (the new session removed) for a bad line found
    past the first records, and what :func:`~.import_.write_imported` raises.
    """
    from .foreign import claude
    from .foreign.claude_blocks import TOOL
    from .foreign.claude_chain import ClaudeReader
    from .import_write import _mtime

    name = str(path)
    try:
        fh = _open(path, cap)
    except (OSError, _WholeFile):
        return None
    with fh:
        try:
            if fh.read(1) != b"{":
                return None
            fh.seek(0)
            warnings: list[str] = []
            codec = LineCodec()
            records = _records(fh, name, cap, warnings, codec)
            numbered = list(islice(records, _PEEK))
            peek = [record for _, record in numbered]
            if not peek or numbered[0][0] != 1 or is_lime_header(peek[0]):
                return None
            from .foreign import codex, pi

            if pi.looks_like(numbered):
                return None
            if codex.looks_like(numbered):
                warnings.clear()  # the Codex reader reads the file again, from its first line
                log = _Reread(fh, name, cap, warnings)
                return _codex_streamed(workspace, log, _mtime(path), previous, update)
            if not claude.looks_like(numbered):
                return None
            out: deque[Entry] = deque()
            reader = ClaudeReader(name, warnings, _mtime(path), sink=out.append)
            for record in peek:
                reader.feed(record)
            if reader.session_id is None or reader.cwd is None or reader.b.first_time is None:
                return None
            imported = Imported(TOOL, reader.session_id, name, cwd=reader.cwd, warnings=warnings)
            imported.created = reader.b.first_time
            before = previous(imported)
            if before is not None:  # an update: its entries are compared with the session's, not copied
                return (
                    None
                    if update is None
                    else update(before, imported, chain.from_iterable(batched(reader, out, records, imported, cap, codec)))
                )
            size = os.fstat(fh.fileno()).st_size
            return write_streamed(workspace, imported, reader, out, records, cap, codec, size, (_WholeFile,))
        except _WholeFile:
            return None  # the whole-file reader refuses it, naming the sizes
        except NotStreamable:
            return None  # the session begun is removed; the read-then-write path gives the exact tree


def _codex_streamed(
    workspace: Workspace,
    log: _Reread,
    fallback: str,
    previous: Callable[[Imported], Path | None],
    update: Callable[[Path, Imported, Iterator[Entry]], T] | None,
) -> ImportResult | T | None:
    """A Codex rollout written as it is read (its second pass; :func:`~.foreign.codex.mapped`)."""
    from .foreign import codex
    from .foreign.builder import Builder
    from .import_write import write_imported

    out: deque[Entry] = deque()
    builder = Builder(codex.TOOL, fallback, sink=out.append)
    imported = Imported(codex.TOOL, None, log.name, warnings=log.warnings)
    steps = codex.mapped(log, builder, imported)
    for _ in islice(steps, _PEEK):  # the first step reads the whole file once (end events, echoed prompts)
        if imported.source_id is not None and imported.cwd is not None and builder.first_time is not None:
            break
    else:
        return None
    imported.created = builder.first_time
    entries = _drained(steps, out)
    before = previous(imported)
    if before is not None:
        return None if update is None else update(before, imported, entries)
    return write_imported(workspace, imported, entries=entries)


def _drained(steps: Iterator[None], out: deque[Entry]) -> Iterator[Entry]:
    """The entries a reader hands over, as each of its ``steps`` (one record) is taken."""
    while out:
        yield out.popleft()
    for _ in steps:
        while out:
            yield out.popleft()
    while out:
        yield out.popleft()


