"""Secret redaction of what is logged from ``!`` and tool output (issue 7, "Security").

A pure module: :func:`redact` maps a text and an environment to the text with
secrets replaced by ``[REDACTED]``. Two kinds of secret are recognised:

* the *value* of every environment variable whose name ends in ``_KEY``,
  ``_TOKEN`` or ``_SECRET`` (case-insensitive), when the value is at least
  :data:`MIN_SECRET_CHARS` (8) characters long, so that short values such as
  ``1`` or ``true`` do not blank out ordinary output;
* strings shaped like API keys of the ``sk-`` family (OpenAI ``sk-…``,
  ``sk-proj-…``, Anthropic ``sk-ant-…``): ``sk-`` followed by at least 16
  characters of ``[A-Za-z0-9_-]``, not preceded by such a character.

Only the log is redacted: the terminal shows the real output. Redaction is on
by default; ``redact = false`` in ``config.toml`` turns it off (the caller
checks the setting). This module imports nothing from lime.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["MIN_SECRET_CHARS", "REDACTED", "SECRET_SUFFIXES", "Redactor", "redact", "secret_values"]

REDACTED = "[REDACTED]"
MIN_SECRET_CHARS = 8
SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET")

_SK = re.compile(r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{16,}")


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The values of ``env`` that are secrets by name, longest first, without duplicates."""
    found = {
        value
        for name, value in env.items()
        if isinstance(value, str)
        and len(value) >= MIN_SECRET_CHARS
        and name.upper().endswith(SECRET_SUFFIXES)
    }
    return sorted(found, key=lambda v: (-len(v), v))


class Redactor:
    """A redaction function prepared once for ``env`` (reuse it for many texts)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        values = secret_values(env)
        # One alternation, longest first, so a value that contains another is replaced whole.
        self._values = re.compile("|".join(re.escape(v) for v in values)) if values else None

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by ``[REDACTED]``."""
        if not text:
            return text
        if self._values is not None:
            text = self._values.sub(REDACTED, text)
        if "sk-" in text:
            text = _SK.sub(REDACTED, text)
        return text


def redact(text: str, env: Mapping[str, str]) -> str:
    """``text`` with the secrets of ``env`` and ``sk-…`` key-shaped strings replaced by ``[REDACTED]``.

    Example: ``redact("key=abcdefgh12", {"MY_API_KEY": "abcdefgh12"})`` is
    ``"key=[REDACTED]"``. Never raises for string input.
    """
    return Redactor(env)(text)
