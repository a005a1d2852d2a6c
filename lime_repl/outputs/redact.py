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

The shape rules, their cache and their cheap pre-check are
:mod:`lime_repl.outputs.redact_rules`: ``detect-secrets`` is imported on the
first redaction, never at start-up, and with the rules cache
(:func:`use_rules_cache`) only when its plugin files changed.
Redaction runs on the full text before it is capped (see
:mod:`lime_repl.outputs.capping` and :mod:`lime_repl.outputs.guard`), so a
key that straddles a cut is still seen whole. Only the log is redacted: the terminal shows the real output.
``redact = false`` in ``config.toml`` turns it off (the caller checks the
setting). This module imports nothing from lime but its rules module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .redact_rules import load_rules, use_rules_cache

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
    The credential rules come from the cache named by :func:`use_rules_cache`, if any.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._known: set[str] = set()
        self._values: re.Pattern[str] | None = None
        if env:
            self.learn(env)

    def learn(self, env: Mapping[str, str]) -> None:
        """Remember the secret values of ``env`` (names as :func:`is_secret_name`), in addition to earlier ones."""
        new = set(secret_values(env)) - self._known
        if not new:
            return
        self._known |= new
        # One alternation, longest first, so a value that contains another is replaced whole.
        ordered = sorted(self._known, key=lambda v: (-len(v), v))
        self._values = re.compile("|".join(re.escape(v) for v in ordered))

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by ``[REDACTED]``.

        A text shorter than :data:`MIN_SECRET_CHARS` is returned as it is, without loading the
        credential rules: no secret value or credential shape is that short (a one-word prompt
        such as ``hi`` costs nothing).
        """
        if len(text) < MIN_SECRET_CHARS:
            return text
        if self._values is not None:
            text = self._values.sub(REDACTED, text)
        for rule in load_rules():
            if rule.may_match(text) and rule.pattern.search(text) is not None:
                text = rule.pattern.sub(_replace(rule.group), text)
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
