"""The store's structural entry guard: every string it writes is valid UTF-8 and every line fits a segment.

Source: DESIGN.md section 3 and the issue "Real input never breaks a session"
(items 1 and 11). :meth:`lime_repl.store.session.Session.append` and
``append_copy`` run, in order, the injected output policy (an
:data:`OutputGuard`, e.g. :func:`lime_repl.outputs.guard.output_guard`, which
redacts and caps) and then :func:`structural_guard`, so no line can outgrow a
segment (``session.max_bytes``) whatever produced it or whichever policy ran.
:func:`repair_text` and :func:`cap_title` are also used by the one serializer
(:func:`lime_repl.store.records.dumps`) and the checkpoint.

This module imports nothing of lime's.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

__all__ = [
    "KEEP_KEYS",
    "MIN_LINE_BYTES",
    "OPAQUE_KEYS",
    "TITLE_CHARS",
    "OutputGuard",
    "PromptGuard",
    "cap_title",
    "cap_title_field",
    "checked_line",
    "encode_checked",
    "fit_line",
    "line_budget",
    "offer_line",
    "offered_line",
    "offered_quiet",
    "repair_text",
    "structural_guard",
]

Redact = Callable[[str], str]

#: An output policy run on every appended entry before :func:`structural_guard`:
#: ``(entry, segment_bytes, redact) -> entry``; ``redact`` is the session's redactor or None.
#: It must not modify its argument (return a new dict where something changed).
OutputGuard = Callable[[dict[str, Any], int, Redact | None], dict[str, Any]]

#: The output policy of a new session's ``systemPrompt``: ``(prompt, segment_bytes, redact) -> prompt``
#: (:func:`lime_repl.outputs.guard.cap_system_prompt` redacts and caps it so the header leaves room).
PromptGuard = Callable[[str | None, int, Redact | None], str | None]

TITLE_CHARS = 200
"""Characters kept of a title or a label; a longer one ends in ``…`` where it was cut."""

MIN_LINE_BYTES = 4096
"""The smallest line budget of :func:`structural_guard`, whatever ``session.max_bytes`` is."""

#: Fields never redacted: structure, and opaque values a provider must get back byte for byte.
OPAQUE_KEYS = frozenset(
    {
        "type",
        "id",
        "parentId",
        "timestamp",
        "targetId",
        "tool_use_id",
        "signature",
        "encrypted_content",
        "data",
    }
)
#: Fields kept when an entry cannot be made to fit any other way.
KEEP_KEYS = ("type", "id", "parentId", "timestamp", "role", "targetId", "exchange")

_SURROGATES = re.compile("[\ud800-\udfff]+")
# lime's serializer (:func:`lime_repl.store.records.dumps`: the same options, the same bytes), built once.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class _Checked(threading.local):
    """The entry last proved to be a line the store may write, per thread (see :func:`encode_checked`)."""

    entry: dict[str, Any] | None = None
    line: bytes = b""
    budget: int = 0
    #: The entry whose serialization a caller offered (:func:`offer_line`), and that line.
    offered: dict[str, Any] | None = None
    offered_line: bytes = b""
    offered_quiet: bool = False


_CHECKED = _Checked()


def repair_text(text: str) -> str:
    """``text`` as valid UTF-8 text: lone surrogates become U+FFFD.

    Source: issue "Real input never breaks a session", item 1. A run of
    ``surrogateescape`` code points (U+DC80..U+DCFF, undecodable bytes read
    from a pipe or a terminal) is turned back into its bytes and decoded with
    ``errors="replace"``, so it reads exactly as if the bytes had been decoded
    that way; a surrogate pair is joined into its character; any other lone
    surrogate (a JSON ``\\udcff`` escape) becomes U+FFFD. Text without
    surrogates is returned as it is (the same object).
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    return _SURROGATES.sub(_repair_run, text)


def _repair_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if all("\udc80" <= ch <= "\udcff" for ch in run):
        return run.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        return run.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        return run.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def cap_title(text: str | None) -> str | None:
    """A title or label of at most :data:`TITLE_CHARS` characters, valid UTF-8, the cut marked with ``…``."""
    if text is None:
        return None
    text = repair_text(text)
    if len(text) <= TITLE_CHARS:
        return text
    return text[: TITLE_CHARS - 1] + "…"


def cap_title_field(entry: Any) -> Any:
    """``entry`` with the ``title`` of a ``title`` entry, or the ``label`` of a ``label`` entry, capped by
    :func:`cap_title` (a new dict when it changed; anything else is returned as it is)."""
    kind = entry.get("type") if isinstance(entry, dict) else None
    if kind in ("title", "label"):
        field = str(kind)
        value = entry.get(field)
        if isinstance(value, str) and cap_title(value) != value:
            return {**entry, field: cap_title(value)}
    return entry


def line_budget(segment_bytes: int) -> int:
    """Bytes one log line may take in a segment of ``segment_bytes``: a quarter, at least :data:`MIN_LINE_BYTES`.

    A quarter leaves room for the segment's header and checkpoint (whose
    carried compaction is itself one such line) and for the line after a
    rollover, so no segment outgrows ``session.max_bytes``.
    """
    return max(segment_bytes // 4, MIN_LINE_BYTES)


def encode_checked(entry: dict[str, Any], budget: int) -> bytes | None:
    """``entry``'s log line (UTF-8, without the newline) if the store may write it as it is, else None.

    True of an entry whose every string (dict keys included) is valid UTF-8, whose
    line takes at most ``budget`` bytes and which is no ``title`` or ``label`` entry
    with a title over :data:`TITLE_CHARS`: one C-level serialization and encoding,
    where a lone surrogate fails the encoding. A line so proved is remembered
    (:func:`checked_line`), so the :func:`structural_guard` that follows an output
    guard, and the writer, do not serialize the same entry again.
    """
    try:
        line = _ENCODE(entry).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError):
        return None
    if len(line) > budget:
        return None
    kind = entry.get("type")
    if kind in ("title", "label"):
        value = entry.get(str(kind))
        if isinstance(value, str) and len(value) > TITLE_CHARS:
            return None
    remember_checked(entry, line, budget)
    return line


def remember_checked(entry: dict[str, Any], line: bytes, budget: int) -> None:
    """Remember that ``entry``, as it is now, is the log line ``line`` and passes :func:`structural_guard`.

    For a policy that proves it by other means (a line offered by an import's serializer, :func:`offer_line`).
    Only the last entry of each thread is remembered, and only until the entry is
    changed: the store runs its guards and its writer on one entry back to back.
    """
    _CHECKED.entry, _CHECKED.line, _CHECKED.budget = entry, line, budget


def offer_line(entry: dict[str, Any], line: bytes, *, quiet: bool = False) -> None:
    """Tell the output guard that ``entry``, as it is now, serializes to ``line`` (UTF-8, no newline).

    ``line`` must be exactly :func:`~lime_repl.store.records.dumps` of ``entry`` without its newline
    (a faster serializer's output, proved equal where it is used: :class:`lime_repl.exchange.codec.LineCodec`),
    so the guard need not serialize it again; only the last entry of each thread is remembered.
    ``quiet``: the session's redactor was asked and no rule can change ``line``
    (:meth:`lime_repl.outputs.redact.Redactor.quiet_lines`).
    """
    _CHECKED.offered, _CHECKED.offered_line, _CHECKED.offered_quiet = entry, line, quiet


def offered_quiet(entry: dict[str, Any]) -> bool:
    """True when the line :func:`offer_line` gave for this very ``entry`` was offered as ``quiet``."""
    return _CHECKED.offered is entry and _CHECKED.offered_quiet


def offered_line(entry: dict[str, Any]) -> bytes | None:
    """The line :func:`offer_line` gave for this very ``entry`` object, or None."""
    return _CHECKED.offered_line if _CHECKED.offered is entry else None


def checked_line(entry: dict[str, Any]) -> bytes | None:
    """The line :func:`encode_checked` (or :func:`remember_checked`) proved for this very ``entry`` object, or None."""
    return _CHECKED.line if _CHECKED.entry is entry else None


def structural_guard(entry: dict[str, Any], *, segment_bytes: int) -> dict[str, Any]:
    """``entry`` as the store may write it: every string valid UTF-8, the line within :func:`line_budget`.

    Lone surrogates are replaced in every string, dict keys included (:func:`repair_text`); a ``title``
    entry's title and a ``label`` entry's label are capped to :data:`TITLE_CHARS` characters; a line
    still over budget is cut by :func:`fit_line`. Returns ``entry`` itself when nothing had to change,
    else a new dict (the argument is never modified). Raises nothing for JSON-shaped input.
    An entry just proved by :func:`encode_checked` against the same budget is returned at once.
    """
    budget = line_budget(segment_bytes)
    if _CHECKED.entry is entry and _CHECKED.budget <= budget:
        return entry
    if encode_checked(entry, budget) is not None:
        return entry
    out = _repair(entry)
    out = cap_title_field(out)
    return fit_line(out, line_budget(segment_bytes))


def fit_line(entry: dict[str, Any], budget: int) -> dict[str, Any]:
    """``entry`` if its JSON line takes at most ``budget`` bytes; else only its :data:`KEEP_KEYS` and a marker."""
    line = json.dumps(entry, ensure_ascii=False)  # the C encoder: far cheaper than a walk of the entry
    if len(line) * 4 <= budget:  # a character takes at most 4 bytes in UTF-8
        return entry
    size = len(line.encode("utf-8"))
    if size <= budget:
        return entry
    kept = {k: entry[k] for k in KEEP_KEYS if k in entry}
    marker = f"[… an entry of {size} bytes was cut: no log line may exceed {budget} bytes …]"
    if "content" in entry:
        kept["content"] = [{"type": "text", "text": marker}]
    else:
        kept["truncated"] = marker
    return kept


def _repair(value: Any) -> Any:
    if isinstance(value, str):
        return repair_text(value)
    if isinstance(value, dict):
        changed = False
        new = {}
        for k, v in value.items():
            nk = repair_text(k) if isinstance(k, str) else k
            nv = _repair(v)
            changed = changed or nk is not k or nv is not v
            new[nk] = nv
        return new if changed else value
    if isinstance(value, list):
        items = [_repair(v) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value
