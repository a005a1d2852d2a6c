"""Reading a large Claude Code or Codex log line by line, so an import never holds the whole file.

:func:`read_streamed` opens the file with the checks of
:func:`~lime_repl.exchange.guard.read_file` (no symlink, a regular file, at
most the import cap), reads it one line at a time with the checks of
:func:`~lime_repl.exchange.guard.split_jsonl` (lines of at most 16 MiB, UTF-8,
nesting depth; a line that is not JSON is skipped with a warning), and feeds
the records to the Claude Code reader as they are read. Each record can be
freed once its entry is built, so the peak memory is the entries, not the
file, its decoded text and every parsed record besides. The Codex reader makes
two passes over its records, so it gets them as a list (still without the
file's bytes and text).

Only those two formats are streamed, the ones whose logs grow to tens of
megabytes; anything else (a zip, a JSON document, lime's or pi's logs, Kimi)
returns None and is read whole by :func:`~lime_repl.exchange.import_.read_bytes`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import IO, Any

from .foreign.common import Imported
from .guard import MAX_LINE_BYTES, ImportRefused, loads
from .lime_reader import is_lime_header

__all__ = ["read_streamed"]

_PEEK = 50


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


def _records(fh: IO[bytes], name: str, cap: int, warnings: list[str]) -> Iterator[tuple[int, Any]]:
    lineno = total = 0
    while True:
        raw = fh.readline(MAX_LINE_BYTES + 2)
        if not raw:
            return
        lineno += 1
        total += len(raw)
        if total > cap or len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:
            raise _WholeFile
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportRefused(
                f"refusing {name}: invalid UTF-8 on line {lineno} (byte {exc.start})"
            ) from None
        try:
            yield lineno, loads(text, f"{name}:{lineno}")
        except ValueError:
            warnings.append(f"{name}:{lineno}: skipped a line that is not JSON")


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
    if codex.looks_like(peek):  # the Codex reader makes two passes: a list, still without the raw file
        return codex.read(list(chain(peek, records)), name, warnings, fallback)
    if claude.looks_like(peek):
        subagents = claude.subagent_records(name, cap)
        return claude.read(chain(peek, records), name, warnings, fallback, subagents)  # type: ignore[arg-type]
    return None
