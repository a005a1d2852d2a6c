"""The batches of :meth:`~lime_repl.store.appending.SessionLog.append_copies` (an import's many entries).

Split from :mod:`.appending`, whose method writes them: the entries cut into
batches of :data:`SCAN_BATCH`, each batch's lines and the redactor's word on
which of them no rule can change (:func:`serialized`), and the longest such
line both guards leave as it is (:func:`quiet_bytes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

from .entry_guard import OutputGuard, line_budget
from .records import Entry

__all__ = ["SCAN_BATCH", "chunks", "quiet_bytes", "serialized"]

#: Entries serialized together by :meth:`~lime_repl.store.appending.SessionLog.append_copies` for the redactor's batch scan.
SCAN_BATCH = 256


def serialized(
    batches: Iterable[Sequence[Entry]],
    serialize: Callable[[Sequence[Entry]], list[bytes | None]] | None,
    redact: Callable[[str], str] | None,
) -> Iterator[Iterable[tuple[Entry, bytes | None, bool]]]:
    """``(entry, its line or None, quiet)`` for each entry of ``batches``, in order, a batch at a time
    (see :meth:`~lime_repl.store.appending.SessionLog.append_copies`)."""
    if serialize is None:
        for batch in batches:
            yield ((entry, None, False) for entry in batch)
        return
    scan = getattr(redact, "quiet_lines", None)
    for batch in batches:
        if batch:
            lines = serialize(batch)
            quiet = scan(lines) if scan is not None else [False] * len(batch)
            yield zip(batch, lines, quiet, strict=True)


def chunks(entries: Iterable[Entry], size: int) -> Iterator[list[Entry]]:
    """``entries`` in lists of ``size`` (the last may be shorter), read as they are needed."""
    source = iter(entries)
    while batch := list(islice(source, size)):
        yield batch


def quiet_bytes(output_guard: OutputGuard | None, segment_bytes: int) -> int:
    """The longest offered ``quiet`` line of a ``message`` or ``custom`` entry both guards leave as it is (bytes).

    A line offered by ``serialize`` is exactly the entry's :func:`dumps` (valid UTF-8, so the
    structural guard's repair has nothing to do); within :func:`line_budget` the structural guard
    leaves it, and within the policy's ``quiet_bytes`` (an attribute of the output guard, e.g.
    :func:`lime_repl.outputs.guard.output_guard`'s) so does the output guard when the redactor found the
    line quiet. A policy without that attribute is always run (-1: no line is short enough).
    """
    budget = line_budget(segment_bytes)
    if output_guard is None:
        return budget
    quiet_bytes = getattr(output_guard, "quiet_bytes", None)
    return min(budget, quiet_bytes) if isinstance(quiet_bytes, int) else -1
