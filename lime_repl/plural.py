"""Counts in words: ``1 problem``, ``2 problems``, ``1 ! command``, and the ``(+N lines)`` of a capped output."""

from __future__ import annotations

__all__ = ["more_lines", "plural"]


def plural(count: int, word: str, many: str | None = None, *, zero: str | None = None) -> str:
    """``"<count> <word>"`` with ``word`` in the plural unless ``count`` is 1 (``-1`` too).

    ``many`` is the plural form (default ``word + "s"``; ``"entries"`` for
    ``"entry"`` must be given); ``zero`` replaces the figure 0 (``"no problems"``).
    """
    figure = zero if count == 0 and zero is not None else str(count)
    return f"{figure} {word if abs(count) == 1 else (many or word + 's')}"


def more_lines(text: str) -> str:
    """`` (+N lines)`` for the lines of ``text`` after its first (a final newline ends a line, it does not
    start one), or ``""`` when there is one line or none: 50 lines of output show as ``line1 (+49 lines)``."""
    rest = len(text.strip("\n").splitlines()) - 1
    return f" (+{plural(rest, 'line')})" if rest > 0 else ""
