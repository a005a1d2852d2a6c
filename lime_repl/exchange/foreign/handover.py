"""Handing a reader's entries to the session writer as they are read, in order, once each is complete.

A :class:`~.builder.Builder` with a sink queues its entries here. An entry may
be held (its parent is later in the file, its output or first kept entry has
not come yet); the entries after a held one wait behind it, so the log keeps
the reader's order. Past :data:`MAX_QUEUED` waiting entries the held ones are
parked and handed over at the end, after the others, so memory stays bounded
whatever the file; an entry held only *softly* (it waits for something it can
do without, as a Codex assistant message waits for the ``token_count`` that
gives its usage) is handed over in its place instead, so the order holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from ...store.records import Entry

__all__ = ["MAX_QUEUED", "Handover"]

MAX_QUEUED = 4096


class Handover:
    """The queue between a reader and its ``sink`` (a callable taking one entry)."""

    def __init__(self, sink: Callable[[Entry], None]) -> None:
        self.sink = sink
        self.queue: deque[Entry] = deque()
        self._parked: list[Entry] = []
        self._held: dict[str, int] = {}
        self._soft: set[str] = set()  # held entries the sink may take as they are when the queue overflows

    def hold(self, entry: Entry, *, soft: bool = False) -> None:
        """Keep ``entry`` (and, in order, the entries after it) from the sink until :meth:`release`.

        ``soft``: past :data:`MAX_QUEUED` waiting entries, hand it over as it is, in its place, rather
        than park it (what it waits for may come, too late for the log, and must not be needed).
        """
        self._held[entry["id"]] = self._held.get(entry["id"], 0) + 1
        if soft:
            self._soft.add(entry["id"])

    def release(self, entry: Entry) -> None:
        count = self._held.get(entry["id"], 0)
        if count > 1:
            self._held[entry["id"]] = count - 1
        else:
            self._held.pop(entry["id"], None)
            self._soft.discard(entry["id"])

    def flush(self) -> None:
        """Hand every entry that is complete, and all before it are, to the sink."""
        queue, held, sink = self.queue, self._held, self.sink
        while queue and queue[0]["id"] not in held:
            sink(queue.popleft())
        if len(queue) > MAX_QUEUED:
            soft = self._soft
            while queue:
                entry = queue.popleft()
                entry_id = entry["id"]
                if entry_id in soft and held.get(entry_id) == 1:
                    del held[entry_id]  # waited long enough: written in its place
                    soft.discard(entry_id)
                (self._parked.append if entry_id in held else sink)(entry)

    def drain(self) -> None:
        """Hand over everything still queued or parked (the end of the source)."""
        self._held.clear()
        self._soft.clear()
        for entry in [*self.queue, *self._parked]:
            self.sink(entry)
        self.queue.clear()
        self._parked.clear()
