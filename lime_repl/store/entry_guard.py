"""The entry guard: every string lime stores is valid UTF-8, redacted, capped, and its line fits a segment.

Source: DESIGN.md section 3 (outputs are capped before they are logged) and
the issue "Real input never breaks a session" (items 1, 5 and 11). The guard
is applied at the one choke point where entries are appended
(:meth:`lime_repl.store.session.Session.append` and ``append_copy``), so no
line can outgrow a segment whatever produced it: a command, a model, an
import. :func:`repair_text` and :func:`cap_title` are also used by the one
serializer (:func:`lime_repl.store.records.dumps`) and the checkpoint.

This module imports nothing of lime's but :mod:`.capping`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .capping import DEFAULT_LIMIT, cap_text

__all__ = ["MIN_LINE_BYTES", "TITLE_CHARS", "cap_title", "guard_entry", "line_budget", "repair_text"]

Redact = Callable[[str], str]

TITLE_CHARS = 200
"""Characters kept of a title or a label; a longer one ends in ``…`` where it was cut."""

MIN_LINE_BYTES = 4096
"""The smallest line budget of :func:`guard_entry`, whatever ``session.max_bytes`` is."""

#: Fields never redacted: structure, and opaque values a provider must get back byte for byte.
_OPAQUE_KEYS = frozenset(
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
_KEEP_KEYS = ("type", "id", "parentId", "timestamp", "role", "targetId", "exchange")

_SURROGATES = re.compile("[\ud800-\udfff]+")

#: Bytes a string may exceed twice the cap by before the guard cuts it: room for the cut marker and the
#: ``<bash-stdout>`` tags around an output that was already capped as a stream (it is not cut twice).
_SLACK = 1024


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


def line_budget(segment_bytes: int) -> int:
    """Bytes one log line may take in a segment of ``segment_bytes``: a quarter, at least :data:`MIN_LINE_BYTES`.

    A quarter leaves room for the segment's header and checkpoint (whose
    carried compaction is itself one such line) and for the line after a
    rollover, so no segment outgrows ``session.max_bytes``.
    """
    return max(segment_bytes // 4, MIN_LINE_BYTES)


def guard_entry(entry: dict[str, Any], *, segment_bytes: int, redact: Redact | None = None) -> dict[str, Any]:
    """``entry`` made safe to store: every string valid UTF-8, redacted, capped; the line within budget.

    This is the one entry-level guard, applied where an entry is appended, so
    no log line can outgrow a segment whatever produced it (a command, a
    model, an import). In order, for every string anywhere in the entry
    (dict keys included):

    1. lone surrogates are replaced (:func:`repair_text`);
    2. ``redact`` (a ``str -> str`` function, e.g. a
       :class:`~lime_repl.store.redact.Redactor`) runs on the *whole* string,
       before any cut, except on structural and opaque fields (ids, types,
       timestamps, signatures, encrypted content, binary ``data``);
    3. a string over twice :data:`DEFAULT_LIMIT` bytes (plus 1 KiB of slack,
       so an output capped as a stream and wrapped in its tags is not cut
       again) is capped to its first and last :data:`DEFAULT_LIMIT` bytes
       with the cut marked (:func:`cap_text`); a ``title`` entry's title and a
       ``label`` entry's label to :data:`TITLE_CHARS` characters (:func:`cap_title`).

    If the serialized line is still over :func:`line_budget` of
    ``segment_bytes`` (many large fields, or text that JSON escaping
    inflates), the per-string limit is halved until it fits; an entry that
    cannot fit even so keeps only its structural fields and a marker.

    Returns ``entry`` itself when nothing had to change, else a new dict
    (nested dicts and lists are copied only where they change; the argument is
    never modified). Raises nothing for JSON-shaped input.
    """
    budget = line_budget(segment_bytes)
    limit = DEFAULT_LIMIT
    out = _walk(entry, None, limit, redact)
    kind = out.get("type") if isinstance(out, dict) else None
    if kind in ("title", "label"):
        field = str(kind)
        value = out.get(field)
        if isinstance(value, str) and cap_title(value) != value:
            out = {**out, field: cap_title(value)}
    if _chars(out) * 6 + 1024 <= budget:  # JSON escapes at most 6 bytes per character
        return out
    size = len(json.dumps(out, ensure_ascii=False).encode("utf-8"))
    while size > budget and limit > 64:
        limit //= 2
        out = _walk(out, None, limit, None)
        size = len(json.dumps(out, ensure_ascii=False).encode("utf-8"))
    if size <= budget:
        return out
    kept = {k: out[k] for k in _KEEP_KEYS if k in out}
    marker = f"[… an entry of {size} bytes was cut: no log line may exceed {budget} bytes …]"
    if "content" in out:
        kept["content"] = [{"type": "text", "text": marker}]
    else:
        kept["truncated"] = marker
    return kept


def _walk(value: Any, key: str | None, limit: int, redact: Callable[[str], str] | None) -> Any:
    """``value`` with its strings repaired, redacted (unless under an opaque key) and capped."""
    if isinstance(value, str):
        text = repair_text(value)
        if redact is not None and key not in _OPAQUE_KEYS and text:
            text = redact(text)
        if (
            len(text) * 4 > 2 * limit + _SLACK
            and len(text.encode("utf-8", "surrogatepass")) > 2 * limit + _SLACK
        ):
            text = cap_text(text, limit)[0]
        return text if text != value else value
    if isinstance(value, dict):
        changed = False
        new = {}
        for k, v in value.items():
            nk = repair_text(k) if isinstance(k, str) else k
            nv = _walk(v, nk, limit, redact)
            changed = changed or nk is not k or nv is not v
            new[nk] = nv
        return new if changed else value
    if isinstance(value, list):
        items = [_walk(v, key, limit, redact) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value


def _chars(value: object) -> int:
    """Characters of all strings in ``value`` plus one per container item (a cheap size bound)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(len(k) + _chars(v) + 4 for k, v in value.items() if isinstance(k, str))
    if isinstance(value, list):
        return sum(_chars(v) + 1 for v in value)
    return 24
