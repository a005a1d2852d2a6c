"""Handing a reader's entries to the session writer as they are read, in order, once each is complete.

A :class:`~.builder.Builder` with a sink queues its entries here. An entry may
be held (its parent is later in the file, its output or first kept entry has
not come yet); the entries after a held one wait behind it, so the log keeps
the reader's order. Past :data:`MAX_QUEUED` waiting entries the held ones are
parked and handed over at the end, after the others, so memory stays bounded
whatever the file.
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

    def hold(self, entry: Entry) -> None:
        """Keep ``entry`` (and, in order, the entries after it) from the sink until :meth:`release`."""
        self._held[entry["id"]] = self._held.get(entry["id"], 0) + 1

    def release(self, entry: Entry) -> None:
        count = self._held.get(entry["id"], 0)
        if count > 1:
            self._held[entry["id"]] = count - 1
        else:
            self._held.pop(entry["id"], None)

    def flush(self) -> None:
        """Hand every entry that is complete, and all before it are, to the sink."""
        queue, held, sink = self.queue, self._held, self.sink
        while queue and queue[0]["id"] not in held:
            sink(queue.popleft())
        if len(queue) > MAX_QUEUED:
            while queue:
                entry = queue.popleft()
                (self._parked.append if entry["id"] in held else sink)(entry)

    def drain(self) -> None:
        """Hand over everything still queued or parked (the end of the source)."""
        self._held.clear()
        for entry in [*self.queue, *self._parked]:
            self.sink(entry)
        self.queue.clear()
        self._parked.clear()
