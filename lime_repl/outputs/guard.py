"""The output policy of every stored entry: redaction, then capping (DESIGN.md sections 2 and 3).

Source: the issue "Real input never breaks a session" (items 5 and 11) and the
issue "One session runtime under every front end" (capping and redaction are
output policies, outside ``store``). :func:`output_guard` has the shape of
:data:`lime_repl.store.entry_guard.OutputGuard`; the store receives it
(``StoreOptions.guard``, ``Session.ephemeral(guard=...)``) and runs its own
:func:`~lime_repl.store.entry_guard.structural_guard` after it.
"""

from __future__ import annotations

import json
from typing import Any

from ..store.entry_guard import (
    MIN_LINE_BYTES,
    OPAQUE_KEYS,
    TITLE_CHARS,
    Redact,
    cap_title_field,
    fit_line,
    line_budget,
    offered_line,
    offered_quiet,
    remember_checked,
    repair_text,
)
from .capping import DEFAULT_LIMIT, cap_text

__all__ = ["cap_system_prompt", "guard_entry", "output_guard"]

# lime's serializer (:func:`lime_repl.store.records.dumps`: the same options, the same bytes), built once.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

#: Bytes a string may exceed twice the cap by before the guard cuts it: room for the cut marker and the
#: ``<bash-stdout>`` tags around an output that was already capped as a stream (it is not cut twice).
_SLACK = 1024


def output_guard(entry: dict[str, Any], segment_bytes: int, redact: Redact | None) -> dict[str, Any]:
    """:func:`guard_entry` in the :data:`~lime_repl.store.entry_guard.OutputGuard` shape the store calls."""
    return guard_entry(entry, segment_bytes=segment_bytes, redact=redact)


#: The longest offered line, found quiet by the redactor, that :func:`guard_entry` leaves as it is (bytes),
#: but in a ``title`` or ``label`` entry: its first branch (:data:`~lime_repl.store.entry_guard.QUIET_BYTES`).
output_guard.quiet_bytes = 2 * DEFAULT_LIMIT + _SLACK  # type: ignore[attr-defined]


def guard_entry(entry: dict[str, Any], *, segment_bytes: int, redact: Redact | None = None) -> dict[str, Any]:
    """``entry`` made safe to store: every string valid UTF-8, redacted, capped; the line within budget.

    In order, for every string anywhere in the entry (dict keys included):

    1. lone surrogates are replaced (:func:`~lime_repl.store.entry_guard.repair_text`);
    2. ``redact`` (a ``str -> str`` function, e.g. a
       :class:`~lime_repl.outputs.redact.Redactor`) runs on the *whole* string,
       before any cut, except on structural and opaque fields (ids, types,
       timestamps, signatures, encrypted content, binary ``data``);
    3. a string over twice :data:`~lime_repl.outputs.capping.DEFAULT_LIMIT` bytes (plus 1 KiB of
       slack, so an output capped as a stream and wrapped in its tags is not cut
       again) is capped to its first and last ``DEFAULT_LIMIT`` bytes with the cut
       marked (:func:`~lime_repl.outputs.capping.cap_text`); a ``title`` entry's title and a
       ``label`` entry's label to 200 characters (:func:`~lime_repl.store.entry_guard.cap_title`).

    If the serialized line is still over :func:`~lime_repl.store.entry_guard.line_budget` of
    ``segment_bytes`` (many large fields, or text that JSON escaping inflates), the
    per-string limit is halved until it fits; an entry that cannot fit even so keeps
    only its structural fields and a marker (:func:`~lime_repl.store.entry_guard.fit_line`).

    Returns ``entry`` itself when nothing had to change, else a new dict
    (nested dicts and lists are copied only where they change; the argument is
    never modified). Raises nothing for JSON-shaped input.

    The common case costs one C-level serialization and no walk: a line that
    encodes as UTF-8 (no lone surrogate anywhere), is too short to hold a string
    over the cap and fits the budget, and in which no redaction rule's gate is
    found (:meth:`~lime_repl.outputs.redact.Redactor.for_json`), is the entry
    unchanged. Where some gate is found, only those rules run on each string.
    """
    budget = line_budget(segment_bytes)
    limit = DEFAULT_LIMIT
    offered = offered_line(entry)
    if offered is not None and offered_quiet(entry):  # the caller's redactor cleared its line: no text needed
        if len(offered) <= min(budget, 2 * limit + _SLACK) and not _long_title(entry):
            remember_checked(entry, offered, budget)
            return entry
    line = _line(entry)
    if line is not None:
        redact = None if offered_quiet(entry) else _narrowed(redact, line)
        if redact is None and len(line[1]) <= min(budget, 2 * limit + _SLACK) and not _long_title(entry):
            remember_checked(entry, line[1], budget)
            return entry
    out = _walk(entry, None, limit, redact, line is None)
    out = cap_title_field(out)
    if out is entry and line is not None and len(line[1]) <= budget:
        remember_checked(entry, line[1], budget)
        return entry
    if fit_line(out, budget) is out:
        return out
    size = len(json.dumps(out, ensure_ascii=False).encode("utf-8"))
    while size > budget and limit > 64:
        limit //= 2
        out = _walk(out, None, limit, None)
        size = len(json.dumps(out, ensure_ascii=False).encode("utf-8"))
    return fit_line(out, budget)


def _line(entry: dict[str, Any]) -> tuple[str, bytes] | None:
    """``entry``'s log line as text and as UTF-8, or None when a string in it is not valid UTF-8.

    The line a caller offered for it (:func:`~lime_repl.store.entry_guard.offer_line`) is taken as it is.
    """
    data = offered_line(entry)
    if data is not None:
        return data.decode("utf-8"), data
    try:
        text = _ENCODE(entry)
        return text, text.encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError):
        return None


def _long_title(entry: dict[str, Any]) -> bool:
    kind = entry.get("type")
    if kind not in ("title", "label"):
        return False
    value = entry.get(str(kind))
    return isinstance(value, str) and len(value) > TITLE_CHARS


def _narrowed(redact: Redact | None, line: tuple[str, bytes]) -> Redact | None:
    """The redaction the strings of an entry whose JSON line (text, UTF-8) is ``line`` need (None: none can change)."""
    if redact is None:
        return None
    for_json = getattr(redact, "for_json", None)
    if for_json is None:
        return redact  # a plain ``str -> str`` function: run on every string
    narrowed: Redact | None = for_json(*line)
    return narrowed


def _walk(value: Any, key: str | None, limit: int, redact: Redact | None, repair: bool = True) -> Any:
    """``value`` with its strings repaired (unless ``repair`` is false: known valid), redacted (unless under
    an opaque key) and capped."""
    if isinstance(value, str):
        text = repair_text(value) if repair else value
        if redact is not None and key not in OPAQUE_KEYS and text:
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
            nk = repair_text(k) if repair and isinstance(k, str) else k
            nv = _walk(v, nk, limit, redact, repair)
            changed = changed or nk is not k or nv is not v
            new[nk] = nv
        return new if changed else value
    if isinstance(value, list):
        items = [_walk(v, key, limit, redact, repair) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value


#: Bytes of a ``session`` header left for its fields other than ``systemPrompt`` (ids, cwd, importedFrom …).
_HEADER_ROOM = 2048


def cap_system_prompt(text: str | None, segment_bytes: int, redact: Redact | None = None) -> str | None:
    """The ``systemPrompt`` a ``session`` header stores: valid UTF-8, redacted, then capped.

    The header is written again at the top of every segment, with the
    checkpoint after it, so its line must leave room for a whole entry: the
    prompt's JSON string is kept within :func:`~lime_repl.store.entry_guard.line_budget` of
    ``segment_bytes`` (a quarter) less 2 KiB for the header's other fields.
    A longer prompt keeps its head and its tail, the cut marked with the bytes
    left out (:func:`~lime_repl.outputs.capping.cap_text`); ``redact`` (a
    ``str -> str`` function, None for ``redact = false``) runs before the
    cut. Idempotent, so a resumed or forked session keeps its prompt byte for
    byte. Has the shape of :data:`lime_repl.store.entry_guard.PromptGuard` (``StoreOptions.prompt_guard``).
    Source: issue "Real input never breaks a session", items 5 and 11.
    """
    if text is None:
        return None
    text = repair_text(text)
    if redact is not None and text:
        text = redact(text)
    budget = max(line_budget(segment_bytes) - _HEADER_ROOM, MIN_LINE_BYTES // 2)
    if len(text) * 6 + 2 <= budget:  # JSON escapes at most 6 bytes per character
        return text
    size = len(json.dumps(text, ensure_ascii=False).encode("utf-8"))
    limit = budget // 2
    capped = text
    while size > budget and limit > 64:
        capped = cap_text(text, limit)[0]
        size = len(json.dumps(capped, ensure_ascii=False).encode("utf-8"))
        limit = limit * 3 // 4
    return capped
