"""Secret redaction of every text lime stores (DESIGN.md section 2, "Security").

A pure module: a :class:`Redactor` maps a text to the same text with secrets
replaced by ``[REDACTED]``. Two kinds of secret are recognised:

* the *value* of every environment variable whose name looks secret (it
  contains ``TOKEN``, ``KEY``, ``SECRET``, ``PASSWORD`` or ``CREDENTIAL``,
  case-insensitive) and that is at least :data:`MIN_SECRET_CHARS` (8)
  characters long, so that short values such as ``1`` or ``true`` do not
  blank out ordinary output. :meth:`Redactor.learn` adds the values of an
  environment seen later (the persistent shell reports its environment after
  every command, so ``export MY_TOKEN=…`` is known from that command on), and
  a value once learnt is never forgotten;
* strings shaped like a known kind of credential. The shapes are the rules of
  the ``detect-secrets`` package (Yelp): its keyword detector (a quoted value
  after ``password``, ``secret``, ``api_key`` … ) and its high-signal token
  detectors (AWS ``AKIA…``, GitHub ``ghp_…``, GitLab, Slack, Stripe, OpenAI,
  JWT, Discord, Telegram, PyPI, npm, SendGrid, Square, Azure storage keys, the
  password of a ``scheme://user:password@`` URL, private key headers). Three
  shapes that package does not match whole are added here: GitHub's
  fine-grained ``github_pat_…``, the ``sk-…`` key family (OpenAI, Anthropic
  ``sk-ant-…``), whole PEM private key blocks and whole three-part JWTs.

``detect-secrets`` is imported on the first redaction, never at start-up, and
not at all when the rules cache of :mod:`lime_repl.outputs.redact_rules`
(:func:`use_rules_cache`) holds its rules already; each rule is compiled at
its first use, and runs only on a text that passes its gate
(:mod:`lime_repl.outputs.redact_gates`).
Redaction runs on the full text before it is capped (see
:mod:`lime_repl.outputs.capping` and :mod:`lime_repl.outputs.guard`), so a
key that straddles a cut is still seen whole. Only the log is redacted: the terminal shows the real output.
``redact = false`` in ``config.toml`` turns it off (the caller checks the
setting). This module imports nothing from lime.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .redact_batch import batchable, quiet_lines
from .redact_gates import GATES, Gate, LiteralScan, fold, keyword_starts, keyword_sub
from .redact_rules import Rule, load_rules, use_rules_cache

__all__ = [
    "MIN_SECRET_CHARS",
    "REDACTED",
    "SECRET_NAME",
    "Redactor",
    "is_secret_name",
    "redact",
    "secret_values",
    "use_rules_cache",
]

REDACTED = "[REDACTED]"
MIN_SECRET_CHARS = 8

#: A variable whose name contains one of these words (any case) holds a secret.
SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)

#: A rule with its replacement function and its gate (None: no gate is known; the rule's own literals decide).
_Gated = tuple[Rule, Callable[["re.Match[str]"], str], Gate | None]
_GATED: list[_Gated] | None = None


def _gated_rules() -> list[_Gated]:
    """The shape rules (:func:`~lime_repl.outputs.redact_rules.load_rules`: lime's extra shapes, the plugins'
    denylists, the keyword rules, from the rules cache when one is set), each with its replacement and its
    gate, built once."""
    global _GATED
    if _GATED is None:
        _GATED = [(rule, _replace(rule.group), GATES.get(rule.source)) for rule in load_rules()]
    return _GATED


_SCAN: LiteralScan | None = None


def _literal_scan() -> LiteralScan:
    """One automaton of every gate's literals (:class:`~lime_repl.outputs.redact_gates.LiteralScan`), built once."""
    global _SCAN
    if _SCAN is None:
        _SCAN = LiteralScan([gate for _, _, gate in _gated_rules() if gate is not None])
    return _SCAN


_SELECTED: dict[frozenset[str], tuple[_Gated, ...]] = {}
#: Texts of at most this many characters have their result remembered, up to ``_SHORT_ENTRIES`` of them.
_SHORT = 256
_SHORT_ENTRIES = 8192


def _selected(present: frozenset[str]) -> tuple[_Gated, ...]:
    """The rules whose literal groups are all among ``present`` (the folded literals found), in order."""
    chosen = _SELECTED.get(present)
    if chosen is None:
        chosen = tuple(
            rule
            for rule in _gated_rules()
            if rule[2] is None or all(not group.isdisjoint(present) for group in rule[2].line_groups)
        )
        if len(_SELECTED) < 4096:
            _SELECTED[present] = chosen
    return chosen


_Split = tuple[tuple[_Gated, ...], tuple[tuple[_Gated, "re.Pattern[str]"], ...]]
_SPLIT: dict[frozenset[str], _Split] = {}


def _split(present: frozenset[str]) -> _Split:
    """:func:`_selected` of ``present`` in two: the rules it settles, and each rule whose gate pattern a
    line must match, with that pattern (:meth:`Redactor.for_json` needs which, not their order)."""
    parts = _SPLIT.get(present)
    if parts is None:
        settled: list[_Gated] = []
        patterned: list[tuple[_Gated, re.Pattern[str]]] = []
        for rule in _selected(present):
            gate = rule[2]
            if gate is not None and gate.pattern is not None:
                patterned.append((rule, gate.pattern))
            else:
                settled.append(rule)
        parts = (tuple(settled), tuple(patterned))
        if len(_SPLIT) < 4096:
            _SPLIT[present] = parts
    return parts


def is_secret_name(name: str) -> bool:
    """True when an environment variable called ``name`` holds a secret (see :data:`SECRET_NAME`)."""
    return SECRET_NAME.search(name) is not None


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The values of ``env`` that are secrets by name, longest first, without duplicates."""
    found = {
        value
        for name, value in env.items()
        if isinstance(name, str)
        and isinstance(value, str)
        and len(value) >= MIN_SECRET_CHARS
        and is_secret_name(name)
    }
    return sorted(found, key=lambda v: (-len(v), v))


def _replace(group: int) -> Callable[[re.Match[str]], str]:
    """The replacement of a rule whose ``group`` is the secret (0: the whole match)."""

    def sub(match: re.Match[str]) -> str:
        if not group or match.group(group) is None:
            return REDACTED
        whole, start, end = (
            match.group(0),
            match.start(group) - match.start(),
            match.end(group) - match.start(),
        )
        return whole[:start] + REDACTED + whole[end:]

    return sub


class Redactor:
    """A redaction function for the secrets of ``env`` and the known credential shapes.

    Call it on any text (``redactor(text) -> str``; never raises for a
    ``str``). :meth:`learn` adds the secret values of another environment.
    Each rule runs only on a text that passes its gate
    (:mod:`lime_repl.outputs.redact_gates`), which never changes the result;
    :meth:`for_json` narrows the rules to those a whole entry's JSON line can need.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._known: set[str] = set()
        self._escaped: tuple[str, ...] = ()
        self._values: re.Pattern[str] | None = None
        self._short: dict[str, str] = {}
        if env:
            self.learn(env)

    def learn(self, env: Mapping[str, str]) -> None:
        """Remember the secret values of ``env`` (names as :func:`is_secret_name`), in addition to earlier ones."""
        new = set(secret_values(env)) - self._known
        if not new:
            return
        self._known |= new
        self._short.clear()
        # One alternation, longest first, so a value that contains another is replaced whole.
        ordered = sorted(self._known, key=lambda v: (-len(v), v))
        self._values = re.compile("|".join(re.escape(v) for v in ordered))
        # Each value as it reads inside a JSON string (escaping is character by character), for for_json.
        self._escaped = tuple(json.dumps(v, ensure_ascii=False)[1:-1] for v in ordered)

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by ``[REDACTED]``.

        A text shorter than :data:`MIN_SECRET_CHARS` is returned as it is, without loading the
        credential rules: no secret value or credential shape is that short (a one-word prompt
        such as ``hi`` costs nothing).
        """
        if len(text) < MIN_SECRET_CHARS:
            return text
        return self._redact(text, None)

    def for_json(self, line: str, data: bytes | None = None) -> Callable[[str], str] | None:
        """A redaction for the strings of one JSON value, given that value's JSON text ``line``.

        ``line`` is the value serialized by Python's ``json`` with
        ``ensure_ascii=False`` (an entry's log line), which escapes character by
        character. Returns None when no secret value and no rule's gate
        (:mod:`~lime_repl.outputs.redact_gates`) is in ``line``, so no string
        inside the value would change; else a ``str -> str`` function with the
        redactor's result that tries only the rules whose gates are in ``line``.
        ``data``: ``line`` encoded in UTF-8, when the caller has it (searched instead, faster).
        """
        values = bool(self._escaped) and any(v in line for v in self._escaped)
        scan = _literal_scan()
        present = scan.present(fold(line)) if data is None else scan.present_utf8(data, line)
        settled, patterned = _split(present)
        rules = settled + tuple([rule for rule, pattern in patterned if pattern.search(line) is not None])
        if not rules and not values:
            return None
        literals = tuple(frozenset().union(*(group for _, _, gate in rules if gate for group in gate.line_groups)))

        def narrowed(text: str) -> str:
            return text if len(text) < MIN_SECRET_CHARS else self._redact(text, literals, values)

        return narrowed

    def quiet_lines(self, lines: Sequence[bytes | None]) -> list[bool]:
        """For each JSON line of ``lines`` (UTF-8; None: unknown), True when :meth:`for_json` would give None.

        Decided for the whole batch at once (:func:`~lime_repl.outputs.redact_batch.quiet_lines`);
        every line is False when the gates cannot be searched that way (then ``for_json`` decides).
        """
        settled, patterned = _split(frozenset())
        patterns = [pattern for _, pattern in patterned]
        if settled or not all(batchable(pattern) for pattern in patterns):
            return [False] * len(lines)
        return quiet_lines(lines, _literal_scan(), patterns, self._escaped)

    def _redact(self, text: str, literals: tuple[str, ...] | None, values: bool = True) -> str:
        """``text`` through the secret values (when ``values``) and the rules its literals select.

        ``literals``: the only (folded) literals to look for (those of the rules a
        :meth:`for_json` line selected); None: all of them, in one pass. A short
        text's result is remembered (:data:`_SHORT`): the same ids, paths and
        versions come back in every record of a log.
        """
        short = len(text) <= _SHORT
        if short:
            done = self._short.get(text)
            if done is not None:
                return done
        result = self._redact_text(text, literals, values)
        if short:  # narrowing is exact, so this is the text's one result
            if len(self._short) >= _SHORT_ENTRIES:
                self._short.clear()
            self._short[text] = result
        return result

    def _redact_text(self, text: str, literals: tuple[str, ...] | None, values: bool) -> str:
        if values and self._values is not None and any(v in text for v in self._known):
            text = self._values.sub(REDACTED, text)
        folded = fold(text)
        if literals is None:
            present = _literal_scan().present(folded)
        else:
            present = frozenset([literal for literal in literals if literal in folded])
        # A replacement never makes a literal appear (none overlaps "[REDACTED]"), so ``present``
        # stays a superset: each rule still checks its own gate on the text as it is then.
        folded_of = text
        starts: list[int] = []
        starts_of = None
        for rule, sub, gate in _selected(present):
            if gate is None and not rule.may_match(text):  # no gate known: the rule's own literals
                continue
            rx = rule.pattern
            if gate is not None:
                if gate.folded and folded_of is not text:  # a rule before replaced something
                    folded, folded_of = fold(text), text
                if not gate.passes(text, folded, found=True):
                    continue
                if gate.keyword:
                    if starts_of is not text:
                        starts, starts_of = keyword_starts(text, folded), text
                    text = keyword_sub(rx, sub, text, starts)
                    continue
            if rx.search(text) is not None:
                text = rx.sub(sub, text)
        return text

    def apply(self, value: Any) -> Any:
        """``value`` with every string inside it redacted (dicts and lists walked; others unchanged)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.apply(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.apply(v) for v in value]
        return value


def redact(text: str, env: Mapping[str, str]) -> str:
    """``text`` with the secrets of ``env`` and credential-shaped strings replaced by ``[REDACTED]``.

    Example: ``redact("key=abcdefgh12", {"MY_API_KEY": "abcdefgh12"})`` is
    ``"key=[REDACTED]"``. Never raises for string input.
    """
    return Redactor(env)(text)
