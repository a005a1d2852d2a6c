"""Full-text search of sessions: FTS5 narrows the candidates, the ``regex`` module confirms each match.

The index (:mod:`lime_repl.store.index`) keeps the text of every message and
``!`` command in an FTS5 table with the trigram tokenizer. A regular
expression is searched in two steps:

1. :func:`fts_query` derives literal runs that every match must contain
   (for ``fix(ed)? the \\w+ bug`` those are ``fix`` and `` the `` and `` bug``)
   and asks FTS5 for the rows holding all their trigrams. Where no literal of
   three or more characters can be derived, every row is a candidate.
2. Each candidate's text is searched with the compiled pattern; the first
   match in an entry makes one :class:`SearchHit`.

The derivation is conservative: whatever it does not understand ends a run,
so it may admit more candidates than needed but never drops a match. The FTS5
table folds case, so a case-sensitive pattern gets a superset as well; in
case-insensitive mode only ASCII letters other than ``i``/``I`` are used (the
``regex`` module also matches ``i`` with ``İ`` and ``I`` with ``ı``, which the
tokenizer does not fold together).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .catalog import Catalog
    from .index import Index

__all__ = ["SearchHit", "compile_pattern", "fts_query", "required_literals", "search", "snippet"]

_MAX_TRIGRAMS = 24
_FLAGS = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?[):]")
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


@dataclass(slots=True)
class SearchHit:
    """One entry whose text matches: where it is and the match's span in ``text`` (character offsets)."""

    session_id: str
    entry_id: str
    timestamp: str
    kind: str
    text: str
    start: int
    end: int
    path: str
    title: str | None = None
    cwd: str | None = None

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


def compile_pattern(pattern: str, ignore_case: bool) -> Any:
    """``pattern`` compiled with the ``regex`` module. Raises ``ValueError`` with the reason."""
    import regex

    try:
        return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise ValueError(str(exc)) from None


# -- literals -----------------------------------------------------------------
def _skip_escape(text: str, i: int) -> int:
    """Index after the escape starting at ``text[i] == '\\\\'`` whose letter or digit is ``text[i + 1]``."""
    letter = text[i + 1]
    j = i + 2
    if j < len(text) and text[j] in "{<":
        close = text.find("}" if text[j] == "{" else ">", j)
        return len(text) if close < 0 else close + 1
    if letter in _HEX_ESCAPES:
        return min(len(text), j + _HEX_ESCAPES[letter])
    if letter.isdigit():
        while j < len(text) and j < i + 4 and text[j].isdigit():
            j += 1
    return j


def _skip_class(text: str, i: int) -> int:
    """Index after the character class opening at ``text[i] == '['`` (nested sets included)."""
    depth, j = 0, i
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "[":
            depth += 1
            j += 1
            if j < len(text) and text[j] == "^":
                j += 1
            if j < len(text) and text[j] == "]":
                j += 1
            continue
        if c == "]":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(text)


def _skip_group(text: str, i: int) -> int:
    """Index after the group opening at ``text[i] == '('``."""
    depth, j = 0, i
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == "[":
            j = _skip_class(text, j)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(text)


def _branches(pattern: str) -> list[str]:
    """``pattern`` split at its top-level ``|``."""
    parts, start, j = [], 0, 0
    while j < len(pattern):
        c = pattern[j]
        if c == "\\":
            j += 2
        elif c == "[":
            j = _skip_class(pattern, j)
        elif c == "(":
            j = _skip_group(pattern, j)
        elif c == "|":
            parts.append(pattern[start:j])
            start = j = j + 1
        else:
            j += 1
    parts.append(pattern[start:])
    return parts


def _runs(branch: str, ignore_case: bool) -> list[str]:
    """The literal runs every match of ``branch`` (no top-level ``|``) must contain."""
    runs: list[str] = []
    run: list[str] = []
    last_in_run = False  # the previous atom is the last character of ``run``

    def flush() -> None:
        if run:
            runs.append("".join(run))
            run.clear()

    i, n = 0, len(branch)
    while i < n:
        c = branch[i]
        if c in "*?+{":
            if last_in_run and c != "+":
                run.pop()  # the character may be absent (or, after a fuzzy {…}, changed)
            flush()
            if c == "{":
                close = branch.find("}", i)
                i = n if close < 0 else close + 1
            else:
                i += 1
            if i < n and branch[i] in "?+":
                i += 1
            last_in_run = False
            continue
        literal: str | None = None
        if c == "\\":
            if i + 1 >= n:
                break
            nxt = branch[i + 1]
            if nxt.isalnum() or nxt == "_":
                flush()
                i = _skip_escape(branch, i)
                last_in_run = False
                continue
            literal, i = nxt, i + 2
        elif c == "[":
            flush()
            i = _skip_class(branch, i)
        elif c == "(":
            flush()
            i = _skip_group(branch, i)
        elif c in ".^$":
            flush()
            i += 1
        else:
            literal, i = c, i + 1
        if literal is None or (ignore_case and (not literal.isascii() or literal in "iI")):
            flush()
            last_in_run = False
            continue
        run.append(literal)
        last_in_run = True
    flush()
    return runs


def required_literals(pattern: str, ignore_case: bool) -> list[list[str]] | None:
    """Alternatives (OR) of literal runs (AND) of three or more characters that every match contains.

    None when some alternative has no such literal, or the pattern uses
    verbose mode, full case folding or version-1 set syntax (``x``, ``f``,
    ``V1``), which this reading does not follow.
    """
    for on, _off in _FLAGS.findall(pattern):
        if set(on) & set("xfV"):
            return None
        if "i" in on:
            ignore_case = True
    result = []
    for branch in _branches(pattern):
        runs = [run for run in _runs(branch, ignore_case) if len(run) >= 3]
        if not runs:
            return None
        result.append(runs)
    return result


def fts_query(pattern: str, ignore_case: bool) -> str | None:
    """An FTS5 query (trigrams ANDed per alternative, alternatives ORed) narrowing ``pattern``'s candidates.

    None when no literal can be derived: every row is then a candidate.
    """
    alternatives = required_literals(pattern, ignore_case)
    if alternatives is None:
        return None
    clauses = []
    for runs in alternatives:
        grams: dict[str, None] = {}
        for run in sorted(runs, key=len, reverse=True):
            for k in range(len(run) - 2):
                grams.setdefault(run[k : k + 3])
        chosen = list(grams)[:_MAX_TRIGRAMS]
        clauses.append("(" + " AND ".join('"' + g.replace('"', '""') + '"' for g in chosen) + ")")
    return " OR ".join(clauses)


# -- searching ----------------------------------------------------------------
def snippet(text: str, start: int, end: int, before: int = 40, after: int = 60) -> tuple[str, str, str]:
    """``(context before, match, context after)`` of a match, on one line, cut with ``…``.

    Newlines, carriage returns and tabs become spaces; a match longer than
    200 characters is cut too.
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
    if end + after < len(text):
        tail += "…"
    return flat(head), flat(match), flat(tail)


def search(
    catalog: Catalog, dirs: Iterable[tuple[Path, str]], pattern: str, *, ignore_case: bool = False
) -> list[SearchHit]:
    """Every entry of the sessions in ``dirs`` whose text matches ``pattern``, newest first.

    The index is brought up to date first (:meth:`Catalog.sync`). Raises
    ``ValueError`` for a pattern the ``regex`` module rejects.
    """
    compiled = compile_pattern(pattern, ignore_case)
    query = fts_query(pattern, ignore_case)
    return catalog.guarded(_search, catalog, list(dirs), compiled, query)


def _candidates(index: Index, bases: list[str], query: str | None) -> Iterator[tuple[Any, ...]]:
    """The rows ``query`` selects; every row when FTS5 refuses the query (it fails before the first row)."""
    started = False
    try:
        for row in index.texts(bases, query):
            started = True
            yield row
    except sqlite3.OperationalError as exc:
        if started or query is None or "fts5" not in str(exc):
            raise
        yield from index.texts(bases, None)


def _search(
    catalog: Catalog, dirs: list[tuple[Path, str]], compiled: Any, query: str | None
) -> list[SearchHit]:
    index = catalog.index
    bases = []
    for directory, _scope in dirs:
        base = str(directory)
        index.refresh(base)
        bases.append(base)
    hits: list[SearchHit] = []
    facts: dict[str, tuple[str | None, str | None]] = {}
    for base, name, entry_id, stamp, kind, text, title, title_set, cwd in _candidates(index, bases, query):
        match = compiled.search(text)
        if match is None:
            continue
        stem = name[: name.index(".jsonl")]
        path = f"{base}/{stem}.jsonl"
        hits.append(SearchHit(stem, entry_id, stamp, kind, text, match.start(), match.end(), path))
        if path not in facts and name.endswith(".jsonl"):
            # The active file is the newest segment: its title is the session's (a segment after the
            # first opens with a checkpoint that carries the title, so title_set is false only for a
            # session that never rotated and never got one).
            facts[path] = (title if title_set else None, cwd)
    for hit in hits:
        if hit.path not in facts:
            facts[hit.path] = index.session_facts(hit.path[: hit.path.rfind("/")], hit.session_id)
        hit.title, hit.cwd = facts[hit.path]
    hits.sort(key=lambda h: h.timestamp, reverse=True)
    return hits
