"""Cheap necessary conditions of the redaction rules, so most texts skip the rules' regular expressions.

Source: the issue "Every tool's sessions, nothing lost" (an import of 50 MB
must take at most 3 times ``json.loads`` of its lines); the rules themselves
are those of :mod:`lime_repl.outputs.redact`. Running some 40 regular
expressions over every text costs about half a microsecond per character, most
of it in the keyword rules of ``detect-secrets``, which try an 18-way,
case-insensitive alternation at every position. A :class:`Gate` is a
condition every text a rule matches fulfils, testable with ``str`` methods
that run in C (``in``, ``find``, ``lower``): a rule whose gate fails is not
run, and its result would have been the text unchanged. So gating never
changes what is redacted, only what it costs.

A gate is one of:

* literals: each of ``groups`` (tuples of literals) has a literal in the text
  (compared case-folded for a rule that ignores case);
* a pattern: a short necessary part of the rule that starts with a literal
  character, which ``re`` finds quickly (the Discord and Telegram shapes have
  no literal of their own).

Every literal and gate pattern is made of characters JSON leaves as they are
(no ``"``, ``\\`` or control character), so a gate that fails on an entry's
JSON line (``ensure_ascii=False``) fails on every string of the entry:
:meth:`~lime_repl.outputs.redact.Redactor.gate` tests a whole entry at once.
Neither a literal nor a gate pattern can match across or inside
``[REDACTED]``, so a rule's replacement never makes a later rule's gate true.

Case folding: under ``re.IGNORECASE`` four characters outside ASCII match an
ASCII letter (U+0130 and U+0131 match ``i``, U+017F ``s``, U+212A ``k``;
checked over every code point by ``tests/unit/test_redact_gates.py``);
:func:`fold` maps them, then lowercases, one character for one.

The keyword rules (``password = "..."`` and the like) begin with their
keyword, so :func:`keyword_sub` tries them only where a keyword can start: at
most :data:`KEYWORD_BACK` characters before an occurrence of one of
:data:`KEYWORD_ANCHORS`, which every keyword of the rules contains. A rule
whose pattern is not in :data:`GATES` (a new ``detect-secrets`` release) has
no gate and always runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "GATES",
    "KEYWORD_ANCHORS",
    "KEYWORD_BACK",
    "KEYWORD_LITERALS",
    "Gate",
    "LiteralScan",
    "fold",
    "keyword_starts",
    "keyword_sub",
]

#: Characters outside ASCII that ``re.IGNORECASE`` matches to an ASCII letter, and that letter.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
_SPECIAL = tuple("\u0130\u0131\u017f\u212a")


_NONE: frozenset[str] = frozenset()


def _has_special(data: bytes) -> bool:
    """True when UTF-8 ``data`` holds one of the four characters :func:`fold` maps (U+0130, U+0131, U+017F, U+212A).

    A one-byte search (``memchr``) for a lead byte first: a two-byte needle is searched several times slower,
    and the lead bytes 0xC4 and 0xC5 (Latin Extended-A) are rare in most text.
    """
    return (
        (b"\xc4" in data and (b"\xc4\xb0" in data or b"\xc4\xb1" in data))
        or (b"\xc5" in data and b"\xc5\xbf" in data)
        or b"\xe2\x84\xaa" in data
    )


def fold(text: str) -> str:
    """``text`` lowercased as ``re.IGNORECASE`` compares it with ASCII letters; as long as ``text``."""
    if not text.isascii() and any(c in text for c in _SPECIAL):
        text = text.translate(_FOLD)
    return text.lower()


@dataclass(frozen=True)
class Gate:
    """A condition every match of one rule fulfils (see the module doc)."""

    groups: tuple[tuple[str, ...], ...] = ()
    folded: bool = False  # the literals are lowercase, compared with :func:`fold` of the text
    pattern: re.Pattern[str] | None = None  # escape-safe: also tested on a whole JSON line
    exact: re.Pattern[str] | None = None  # tested on each string only (it may match what JSON escapes)
    keyword: bool = False  # a keyword rule: run by :func:`keyword_sub`
    #: ``groups`` folded, as sets: a rule is tried when each meets the literals a :class:`LiteralScan` found.
    line_groups: tuple[frozenset[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        line = tuple(frozenset(lit if self.folded else lit.lower() for lit in group) for group in self.groups)
        object.__setattr__(self, "line_groups", line)

    def passes(self, text: str, folded: str | None, *, found: bool = False) -> bool:
        """True when the rule may match ``text`` (``folded`` is :func:`fold` of it, needed when ``folded``).

        ``found``: the folded literals are known to be in ``folded`` (a :class:`LiteralScan`
        found them), so only what that does not settle is tested.
        """
        if not (found and self.folded):
            where = folded if self.folded and folded is not None else text
            for group in self.groups:
                if not any(literal in where for literal in group):
                    return False
        if self.pattern is not None and self.pattern.search(text) is None:
            return False
        return self.exact is None or self.exact.search(text) is not None


#: Every keyword of the keyword rules contains one of these (``api_key``, ``db_pass``, ``passwd``, …).
KEYWORD_ANCHORS = ("key", "pass", "pwd", "secret", "contras")
#: The most characters a keyword starts before its anchor (``database_key``: 9).
KEYWORD_BACK = 9

_KEYWORDS = (
    "api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key|"
    "client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd|secret|contraseña|contrasena"
)
_VALUE = r"""([\'"`])((?=[^\v\'\"]*)(?=\w+)[^\v\'\"]*[^\v,\'\"`])"""


def _spellings(alternation: str) -> tuple[str, ...]:
    """Every spelling of the keywords of ``alternation`` (``api_?key``: ``apikey``, ``api_key``), ASCII.

    ``contraseña`` and ``contrasena`` are kept as their ASCII anchor ``contras``, so every literal of the
    gates stays ASCII and the scan can run on a line's UTF-8 bytes (:meth:`LiteralScan.present_utf8`).
    """
    words: list[str] = []
    for word in alternation.split("|"):
        head, _, tail = word.partition("_?")
        spelled = [head + tail, f"{head}_{tail}"] if tail else [head]
        words += ["contras" if w.startswith("contras") else w for w in spelled]
    return tuple(dict.fromkeys(words))


#: A keyword rule's match holds one of its keywords as it is spelled (folded): a line that holds only
#: ``key`` or ``pass`` in other words (``keys``, ``passed``) runs none of them.
KEYWORD_LITERALS = _spellings(_KEYWORDS)
_KEYWORD = Gate((KEYWORD_LITERALS,), folded=True, keyword=True)
#: Where a keyword starts (the rules' own alternation, ignoring case), and the folded letters it can start with.
_KEYWORD_AT = re.compile(_KEYWORDS, re.IGNORECASE).match
_FIRST = frozenset("asdpck")


def _lit(*literals: str, folded: bool = False) -> Gate:
    return Gate((literals,), folded=folded)


#: The gate of each rule, by its pattern's text.
GATES: dict[str, Gate] = {
    # lime's own shapes
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----": _lit(
        "PRIVATE KEY"
    ),
    r"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,}": _lit("github_pat_"),
    r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{16,}": _lit("sk-"),
    r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*": _lit("eyJ"),
    # detect-secrets 1.5 denylists
    r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}": _lit("A3T", "ABIA", "ACCA", "AKIA", "ASIA"),
    r"aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?[\'\"]([0-9a-zA-Z/+]{40})[\'\"]": _lit(
        "aws", folded=True
    ),
    r"AccountKey=[a-zA-Z0-9+\/=]{88}": _lit("AccountKey="),
    r"://[^:/\?\#\[\]@!\$\&'\(\)\*\+,;=\s]+:([^:/\?\#\[\]@!\$\&'\(\)\*\+,;=\s]+)@": Gate((("://",), ("@",))),
    r"[MNO][a-zA-Z\d_-]{23,25}\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}": Gate(
        pattern=re.compile(r"\.[a-zA-Z\d_-]{6}\.")
    ),
    r"(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}": _lit("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    r"(glpat|gldt|glft|glsoat|glrt)-[A-Za-z0-9_\-]{20,50}(?!\w)": _lit(
        "glpat-", "gldt-", "glft-", "glsoat-", "glrt-"
    ),
    r"GR1348941[A-Za-z0-9_\-]{20,50}(?!\w)": _lit("GR1348941"),
    r"glcbt-([0-9a-fA-F]{2}_)?[A-Za-z0-9_\-]{20,50}(?!\w)": _lit("glcbt-"),
    r"glimt-[A-Za-z0-9_\-]{25}(?!\w)": _lit("glimt-"),
    r"glptt-[A-Za-z0-9_\-]{40}(?!\w)": _lit("glptt-"),
    r"glagent-[A-Za-z0-9_\-]{50,1024}(?!\w)": _lit("glagent-"),
    r"gloas-[A-Za-z0-9_\-]{64}(?!\w)": _lit("gloas-"),
    r"eyJ[A-Za-z0-9-_=]+\.[A-Za-z0-9-_=]+\.?[A-Za-z0-9-_.+/=]*?": _lit("eyJ"),
    r"\/\/.+\/:_authToken=\s*((npm_.+)|([A-Fa-f0-9-]{36})).*": _lit("/:_authToken="),
    r"sk-[A-Za-z0-9-_]*[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}": _lit("T3BlbkFJ"),
    "BEGIN DSA PRIVATE KEY": _lit("BEGIN DSA PRIVATE KEY"),
    "BEGIN EC PRIVATE KEY": _lit("BEGIN EC PRIVATE KEY"),
    "BEGIN OPENSSH PRIVATE KEY": _lit("BEGIN OPENSSH PRIVATE KEY"),
    "BEGIN PGP PRIVATE KEY BLOCK": _lit("BEGIN PGP PRIVATE KEY BLOCK"),
    "BEGIN PRIVATE KEY": _lit("BEGIN PRIVATE KEY"),
    "BEGIN RSA PRIVATE KEY": _lit("BEGIN RSA PRIVATE KEY"),
    "BEGIN SSH2 ENCRYPTED PRIVATE KEY": _lit("BEGIN SSH2 ENCRYPTED PRIVATE KEY"),
    "PuTTY-User-Key-File-2": _lit("PuTTY-User-Key-File-2"),
    r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9-_]{70,}": _lit("pypi-AgEIcHlwaS5vcmc"),
    r"pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9-_]{70,}": _lit("pypi-AgENdGVzdC5weXBpLm9yZw"),
    r"SG\.[a-zA-Z0-9_-]{22}\.[a-zA-Z0-9_-]{43}": _lit("SG."),
    r"xox(?:a|b|p|o|s|r)-(?:\d+-)+[a-z0-9]+": _lit("xox", folded=True),
    r"https://hooks\.slack\.com/services/T[a-zA-Z0-9_]+/B[a-zA-Z0-9_]+/[a-zA-Z0-9_]+": _lit(
        "hooks.slack.com/services/", folded=True
    ),
    r"sq0csp-[0-9A-Za-z\\\-_]{43}": _lit("sq0csp-"),
    r"(?:r|s)k_live_[0-9a-zA-Z]{24}": _lit("k_live_"),
    r"\d{8,10}:[0-9A-Za-z_-]{35}": Gate(pattern=re.compile(r":[0-9A-Za-z_-]{35}")),
    # detect-secrets 1.5 keyword rules (quotes required)
    rf"""({_KEYWORDS})\w*([]\'"]{{0,2}})?:(\s*){_VALUE}(\4)""": _KEYWORD,
    rf"""{_VALUE}(\1)\s*[!=]{{2,3}}\s*\w*({_KEYWORDS})\w*""": Gate(
        (KEYWORD_LITERALS, ("==", "!=", "=!", "!!")), exact=re.compile(r"[\'\"`]\s*[!=]{2}")
    ),
    rf"""({_KEYWORDS})\w*([]\'"]{{0,2}})?\s*(={{1,3}}|!==?)\s*{_VALUE}(\4)""": _KEYWORD,
    rf"""({_KEYWORDS})\w*[^\s]{{0,50}}?\s*{_VALUE}(\2);""": _KEYWORD,
    rf"""({_KEYWORDS})\w*([]\'"]{{0,2}})?\s*=>?\s*{_VALUE}(\3)""": _KEYWORD,
}


class LiteralScan:
    """Every literal of ``gates``, found in one pass over a text (Aho-Corasick, the ``ahocorasick_rs`` package).

    Looking for some 60 literals one ``in`` at a time reads the text 60 times;
    the automaton reads it once, with every match reported (overlapping ones too).
    """

    def __init__(self, gates: list[Gate]) -> None:
        import ahocorasick_rs

        literals = {lit if gate.folded else lit.lower() for gate in gates for group in gate.groups for lit in group}
        self.literals = sorted(literals)
        self._automaton = ahocorasick_rs.AhoCorasick(self.literals) if self.literals else None
        ascii_only = all(lit.isascii() for lit in self.literals)
        self._bytes = (
            ahocorasick_rs.BytesAhoCorasick([lit.encode() for lit in self.literals])
            if self.literals and ascii_only
            else None
        )

    @property
    def bytes_automaton(self) -> Any:
        """The automaton of the literals over lowercased UTF-8 (None when a literal is not ASCII, or none)."""
        return self._bytes

    def present(self, folded: str) -> frozenset[str]:
        """The literals found in ``folded`` (:func:`fold` of a text)."""
        if self._automaton is None:
            return frozenset()
        found = self._automaton.find_matches_as_indexes(folded, overlapping=True)
        return frozenset([self.literals[index] for index, _, _ in found])

    def present_utf8(self, data: bytes, text: str) -> frozenset[str]:
        """:meth:`present` of ``fold(text)``, given ``data``, ``text`` encoded in UTF-8.

        ASCII literals are found in the UTF-8 bytes lowercased (``bytes.lower``
        changes ASCII letters only, far cheaper than ``str.lower``) unless one
        of the four characters :func:`fold` maps is there.
        """
        if self._bytes is None or (not data.isascii() and _has_special(data)):
            return self.present(fold(text))
        found = self._bytes.find_matches_as_indexes(data.lower(), overlapping=True)
        return frozenset([self.literals[index] for index, _, _ in found]) if found else _NONE


def keyword_starts(text: str, folded: str) -> list[int]:
    """Where a keyword of the keyword rules starts in ``text`` (``folded`` is :func:`fold` of it), in order.

    Each keyword holds an anchor (:data:`KEYWORD_ANCHORS`) within
    :data:`KEYWORD_BACK` characters of its start; the positions before each
    anchor are checked with the rules' own keyword alternation.
    """
    starts: set[int] = set()
    for anchor in KEYWORD_ANCHORS:
        at = folded.find(anchor)
        while at >= 0:
            starts.update(
                p for p in range(max(at - KEYWORD_BACK, 0), at + 1) if folded[p] in _FIRST and _KEYWORD_AT(text, p)
            )
            at = folded.find(anchor, at + 1)
    return sorted(starts)


def keyword_sub(rx: re.Pattern[str], sub: Callable[[re.Match[str]], str], text: str, starts: list[int]) -> str:
    """``rx.sub(sub, text)`` for a keyword rule, given :func:`keyword_starts` of ``text``.

    Each match of a keyword rule starts with its keyword, so ``rx.match`` at
    those positions, in order, finds the same leftmost, non-overlapping matches
    as ``rx.sub`` (``match`` at a position is the attempt ``search`` makes there).
    """
    parts: list[str] = []
    end = 0
    for start in starts:
        if start < end:
            continue
        match = rx.match(text, start)
        if match is not None:
            parts.append(text[end : match.start()])
            parts.append(sub(match))
            end = match.end()
    if not parts:
        return text
    parts.append(text[end:])
    return "".join(parts)
