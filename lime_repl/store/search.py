"""Full-text search of sessions: FTS5 narrows the candidates, the ``regex`` module confirms each match.

The index (:mod:`lime_repl.store.index`) keeps the text of every message and
``!`` command in an FTS5 table with the trigram tokenizer. A regular
expression is searched in two steps:

1. :func:`~lime_repl.store.literals.fts_query` derives literal runs that
   every match must contain and asks FTS5 for the rows holding all their
   trigrams. Where no literal of three or more characters can be derived,
   every row is a candidate.
2. Each candidate's text is searched with the compiled pattern (a plain
   substring search when the pattern has no metacharacter); the first match
   in an entry makes one :class:`SearchHit`.

The FTS5 step only ever admits more candidates than needed, never fewer,
so the result is exactly what the pattern matches in the indexed texts.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .literals import fts_query, required_literals
from .slotted import SlotValue

if TYPE_CHECKING:
    from .catalog import Catalog
    from .index import Index

__all__ = ["SearchHit", "compile_pattern", "fts_query", "required_literals", "search", "snippet"]

_META = re.compile(r"[\\.^$*+?{}\[\]|()]")


class SearchHit(SlotValue):
    """One entry whose text matches: where it is and the match's span in ``text`` (character offsets).

    (A plain class, not a dataclass: :mod:`dataclasses` imports :mod:`inspect`, which a search does not
    otherwise load.)
    """

    __slots__ = ("session_id", "entry_id", "timestamp", "kind", "text", "start", "end", "path", "title", "cwd")

    def __init__(
        self,
        session_id: str,
        entry_id: str,
        timestamp: str,
        kind: str,
        text: str,
        start: int,
        end: int,
        path: str,
        title: str | None = None,
        cwd: str | None = None,
    ) -> None:
        self.session_id = session_id
        self.entry_id = entry_id
        self.timestamp = timestamp
        self.kind = kind
        self.text = text
        self.start = start
        self.end = end
        self.path = path
        self.title = title
        self.cwd = cwd

    def to_json(self) -> dict[str, Any]:
        before, match, after = snippet(self.text, self.start, self.end)
        return {
            "sessionId": self.session_id,
            "entryId": self.entry_id,
            "timestamp": self.timestamp,
            "kind": self.kind,
            "title": self.title,
            "cwd": self.cwd,
            "path": self.path,
            "match": self.text[self.start : self.end],
            "snippet": before + match + after,
        }


def compile_pattern(pattern: str, ignore_case: bool) -> Callable[[str], tuple[int, int] | None]:
    """A function giving the span of the first match of ``pattern`` in a text, or None.

    The pattern is compiled with the ``regex`` module. A case-sensitive pattern
    without any metacharacter is a plain substring, searched with
    :meth:`str.find` (same result, and no ``regex`` import on that path).
    Raises ``ValueError`` with the reason for a pattern ``regex`` rejects.
    """
    if not ignore_case and not _META.search(pattern):
        size = len(pattern)

        def find(text: str) -> tuple[int, int] | None:
            at = text.find(pattern)
            return None if at < 0 else (at, at + size)

        return find
    import regex

    try:
        compiled = regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise ValueError(str(exc)) from None

    def search(text: str) -> tuple[int, int] | None:
        match = compiled.search(text)
        return None if match is None else match.span()

    return search


# -- searching ----------------------------------------------------------------
def snippet(text: str, start: int, end: int, before: int = 40, after: int = 60) -> tuple[str, str, str]:
    """``(context before, match, context after)`` of a match, on one line, cut with ``…``.

    Newlines, carriage returns and tabs become spaces; a match longer than
    200 characters is cut too, and trailing space at the end of the text dropped.
    """

    def flat(s: str) -> str:
        return s.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")

    head = text[max(0, start - before) : start]
    if start > before:
        head = "…" + head
    match = text[start:end]
    if len(match) > 200:
        match = match[:200] + "…"
    tail = text[end : end + after]
    tail = tail + "…" if end + after < len(text) else tail.rstrip()
    return flat(head), flat(match), flat(tail)


def search(
    catalog: Catalog,
    dirs: Iterable[tuple[Path, str]],
    pattern: str,
    *,
    ignore_case: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[SearchHit]:
    """Every entry of the sessions in ``dirs`` whose text matches ``pattern``, newest first.

    The index of each directory is brought up to date first
    (:meth:`~lime_repl.store.index.Index.refresh_all`), then the full text of
    every segment not yet indexed is added
    (:meth:`~lime_repl.store.index.Index.fill_texts`, which calls
    ``progress(done, total)`` in bytes of log). Raises ``ValueError`` for a
    pattern the ``regex`` module rejects.
    """
    find = compile_pattern(pattern, ignore_case)
    query = fts_query(pattern, ignore_case)
    return catalog.guarded(_search, catalog, list(dirs), find, query, progress)


def _texts(db: sqlite3.Connection, dirs: list[str], fts_query: str | None) -> Iterator[tuple[Any, ...]]:
    """``(dir, stem, number, entry id, timestamp, kind, text, title, title_set, cwd)`` of the texts in ``dirs``.

    ``stem`` is the session id, ``number`` the segment's (-1: the active
    file); ``title``, ``title_set`` and ``cwd`` are those of that segment file.
    With ``fts_query`` (an FTS5 expression over trigrams) only the rows it
    matches, a superset of the rows a regular expression with those literals
    can match; without it, every row. Call ``Index.refresh`` first.
    """
    columns = "f.dir, f.stem, f.number, t.entry, t.ts, t.kind, t.text, f.title, f.title_set, f.cwd"
    if fts_query is None:
        for directory in dirs:
            yield from db.execute(
                f"SELECT {columns} FROM files AS f JOIN texts AS t ON t.file = f.id WHERE f.dir = ?"
                " ORDER BY t.id",
                (directory,),
            )
        return
    wanted = set(dirs)
    cursor = db.execute(
        f"SELECT {columns} FROM texts_fts JOIN texts AS t ON t.id = texts_fts.rowid"
        " JOIN files AS f ON f.id = t.file WHERE texts_fts MATCH ? ORDER BY t.id",
        (fts_query,),
    )
    for row in cursor:
        if row[0] in wanted:
            yield row


def _session_facts(db: sqlite3.Connection, directory: str, stem: str) -> tuple[str | None, str | None]:
    """``(title, cwd)`` of one session from its rows: the title of the newest segment that sets one."""
    title = cwd = None
    title_found = False
    for row_title, title_set, row_cwd in db.execute(
        "SELECT title, title_set, cwd FROM files WHERE dir = ? AND stem = ? ORDER BY number",
        (directory, stem),
    ):
        if not title_found and title_set:
            title, title_found = row_title, True
        cwd = cwd or row_cwd
    return title, cwd


def _candidates(index: Index, bases: list[str], query: str | None) -> Iterator[tuple[Any, ...]]:
    """The rows ``query`` selects; every row when FTS5 refuses the query (it fails before the first row)."""
    started = False
    try:
        for row in _texts(index.db, bases, query):
            started = True
            yield row
    except sqlite3.OperationalError as exc:
        if started or query is None or "fts5" not in str(exc):
            raise
        yield from _texts(index.db, bases, None)


def _search(
    catalog: Catalog,
    dirs: list[tuple[Path, str]],
    find: Callable[[str], tuple[int, int] | None],
    query: str | None,
    progress: Callable[[int, int], None] | None = None,
) -> list[SearchHit]:
    index = catalog.index
    bases = [str(directory) for directory, _scope in dirs]
    index.refresh_all(bases)
    index.fill_texts(bases, progress)
    hits: list[SearchHit] = []
    facts: dict[str, tuple[str | None, str | None]] = {}
    for base, stem, number, entry_id, stamp, kind, text, title, title_set, cwd in _candidates(
        index, bases, query
    ):
        span = find(text)
        if span is None:
            continue
        path = f"{base}/{stem}.jsonl"
        hits.append(SearchHit(stem, entry_id, stamp, kind, text, span[0], span[1], path))
        if number == -1 and path not in facts:
            # The active file is the newest segment: its title is the session's (a segment after the
            # first opens with a checkpoint that carries the title, so title_set is false only for a
            # session that never rotated and never got one).
            facts[path] = (title if title_set else None, cwd)

    for hit in hits:
        if hit.path not in facts:
            facts[hit.path] = _session_facts(index.db, hit.path[: hit.path.rfind("/")], hit.session_id)
        hit.title, hit.cwd = facts[hit.path]
    hits.sort(key=lambda h: h.timestamp, reverse=True)
    return hits
