"""Literal runs that every match of a regular expression must contain, and the FTS5 query they give.

Used by :mod:`lime_repl.store.search` to narrow candidates before the
``regex`` module confirms them. For ``fix(ed)? the \\w+ bug`` the runs are
``fix``, `` the `` and `` bug``; the query asks for rows holding all their
trigrams (the index uses FTS5's trigram tokenizer).

The reading of the pattern is conservative: whatever it does not understand
(groups, classes, escapes of letters, quantifiers) ends a run, so it may admit
more candidates than needed but never drops a match. The FTS5 table folds
case, so a case-sensitive pattern gets a superset as well; in case-insensitive
mode only ASCII letters other than ``i``/``I`` are used (the ``regex`` module
also matches ``i`` with ``İ`` and ``I`` with ``ı``, which the tokenizer does
not fold together).
"""

from __future__ import annotations

import re

__all__ = ["fts_query", "required_literals"]

_MAX_TRIGRAMS = 24
_FLAGS = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?[):]")
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


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
