"""The entry builder every reader of another tool's log uses: ids, parents, timestamps, custom records.

Source: the rules of :mod:`.common` (the readers' shared result shape):

* entry ids are the source's when they are 8 lowercase hex and unused,
  otherwise fresh ones; parents given as source ids are remapped at the end,
  so a child may come before its parent in the file (with a ``sink``, as soon
  as the parent is read: see :class:`Builder`);
* every record not mapped onto a lime entry is kept whole as a ``custom``
  entry ``{"customType": "<tool>:<record type>", "data": record}``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ...store.records import Entry, bash_triple
from .common import to_rfc3339
from .handover import Handover

__all__ = ["CHAIN", "Builder", "NotStreamable"]

CHAIN: Any = object()
_HEAD = frozenset(("type", "id", "parentId", "timestamp"))  # the fields add sets itself
_HEX8 = re.compile(r"^[0-9a-f]{8}$")
_fromisoformat = datetime.fromisoformat


def _src_key(src: str) -> str | bytes:
    """``src`` as a key of the source-id map: a lowercase canonical uuid as its 16 bytes, anything else as it is.

    A Claude Code log names every record by such a uuid and the map keeps all of them:
    as bytes a key takes 49 bytes of memory, as text 85. No text key equals a bytes key,
    and only a uuid that reads back exactly is converted, so two ids never share a key.
    """
    if len(src) == 36 and src[8] == "-" and src[13] == "-" and src[18] == "-" and src[23] == "-":
        digits = src.replace("-", "")
        try:
            packed = bytes.fromhex(digits)
        except ValueError:
            return src
        if len(packed) == 16 and packed.hex() == digits:
            return packed
    return src


class NotStreamable(Exception):
    """A source whose entries cannot be handed over as they are read (see :class:`Builder`); read it whole."""


class Builder:
    """Builds the entry list of an :class:`Imported`: ids, parents, timestamps, custom records.

    ``add`` chains an entry after the previous node by default; ``parent=None``
    makes a root; ``parent_src="x"`` names a parent by its source id, resolved
    by :meth:`finish`. ``src`` registers the entry under a source id (the
    last entry registered for a source id is the one its children hang from).

    With a ``sink`` (a callable taking one entry) the entries are not kept:
    each :meth:`flush` hands the finished ones to the sink in order, and
    :meth:`finish` the rest. A parent named by source id is resolved as soon
    as that id is registered; should the id be registered again after a child
    took it (a source id used twice, whose children the rule above hangs from
    the last copy), :class:`NotStreamable` is raised and the source is to be
    read whole. An entry is held back only while something about it is still unknown:
    a parent later in the file, a :meth:`hold` of its reader, a
    :meth:`await_node` reference, or any time before the first dated record.
    Entries after a held one wait behind it, keeping the order
    (:class:`~.handover.Handover`).
    """

    def __init__(self, tool: str, fallback_time: str, sink: Callable[[Entry], None] | None = None) -> None:
        self.tool = tool
        self.entries: list[Entry] = []
        self.taken: set[str] = set()
        self.last_node: str | None = None
        self.time = fallback_time
        self.first_time: str | None = None
        self.sink = sink
        self._by_src: dict[str | bytes, str] = {}  # keyed by :func:`_src_key`
        self._pending: list[tuple[Entry, str, str]] = []
        self._waiting: dict[str, list[tuple[Entry, str]]] = {}
        # With a sink: the entry ids a reference was resolved to through a source id. Their own id
        # strings, not the references' source ids: a 36-character uuid per record would double the map.
        self._resolved: set[str] = set()
        self._undated: list[Entry] = []
        self._handover = Handover(sink) if sink is not None else None
        self._await: list[tuple[Entry, str]] = []
        self._ids = ""
        self._at = 0  # where the next id starts in ``_ids``
        self.dangling = 0

    def stamp(self, value: Any) -> str:
        """The entry time for a source timestamp; the latest known time when it has none."""
        moment = to_rfc3339(value)
        if moment is not None:
            self.time = moment
            self.first_time = self.first_time or moment
        return self.time

    def new_id(self, preferred: Any = None) -> str:
        if (
            isinstance(preferred, str)
            and len(preferred) == 8
            and _HEX8.match(preferred)
            and preferred not in self.taken
        ):
            entry_id = preferred
        else:
            while True:  # random 8-hex ids, drawn from the OS 512 at a time rather than one call each
                at = self._at
                if at >= len(self._ids):
                    self._ids, at = os.urandom(2048).hex(), 0
                entry_id = self._ids[at : at + 8]
                self._at = at + 8
                if entry_id not in self.taken:
                    break
        self.taken.add(entry_id)
        return entry_id

    def add(
        self,
        body: dict[str, Any],
        *,
        time: Any = None,
        src: Any = None,
        parent: Any = CHAIN,
        parent_src: Any = None,
        keep_id: Any = None,
        node: bool = True,
    ) -> Entry:
        """Append one entry built from ``body`` (its ``type`` and fields) and return it."""
        if keep_id is None:  # what new_id(None) does, inline: the id of nearly every entry
            at = self._at
            if at >= len(self._ids):
                self._ids, at = os.urandom(2048).hex(), 0
            entry_id = self._ids[at : at + 8]
            self._at = at + 8
            if entry_id in self.taken:
                entry_id = self.new_id()
            else:
                self.taken.add(entry_id)
        else:
            entry_id = self.new_id(keep_id)
        if time is not None and (moment := to_rfc3339(time)) is not None:  # what stamp does, inline
            self.time = moment
            if self.first_time is None:
                self.first_time = moment
        entry: Entry = {
            "type": body.get("type", "custom"),
            "id": entry_id,
            "parentId": self.last_node if parent is CHAIN else parent,
            "timestamp": self.time,
        }
        if self.first_time is None:
            self._undated.append(entry)
        if "id" in body or "parentId" in body or "timestamp" in body:
            for key, value in body.items():
                if key not in _HEAD:
                    entry[key] = value
        else:  # the common case: one C-level copy (a "type" in body is the one just set, kept in its place)
            entry.update(body)
        if self._handover is None:
            self.entries.append(entry)
        else:
            self._handover.queue.append(entry)
        if isinstance(parent_src, str):
            self._refer(entry, "parentId", parent_src)
        if isinstance(src, str) and src:
            self.alias(src, entry_id)
        if node:
            self.last_node = entry_id
            if self._await:
                for waiting, key in self._await:
                    waiting[key] = entry_id
                    self.release(waiting)
                self._await.clear()
        return entry

    def direct(self, body: dict[str, Any], time: Any, src: str, parent_src: Any) -> Entry | None:
        """What ``add(body, time=time, src=src, …)`` does, the entry returned instead of queued; None: nothing done.

        For an entry that would go to the sink at once: nothing is queued before it, the first dated
        record has been read, no :meth:`await_node` waits, and its parent is known now. ``parent_src``
        is :data:`CHAIN` (after the last node), a source id already registered, or anything else (a
        root). ``src`` (a non-empty string) is registered for it. None, with nothing changed, whenever
        one of those does not hold or ``src`` is one a reference took or awaits (:meth:`alias` decides
        then): the caller goes the way of :meth:`add`. Only with a sink. The lookups of :meth:`add`,
        :func:`_src_key` and :func:`~.common.to_rfc3339` are made inline: this is nearly every entry of
        a large streamed import.
        """
        handover = self._handover
        if handover is None or handover.queue or self._await or self.first_time is None:
            return None
        by_src = self._by_src
        if parent_src is CHAIN:
            parent = self.last_node
        elif type(parent_src) is str:
            parent = by_src.get(_src_key(parent_src))
            if parent is None:
                return None
        else:
            parent = None
        if self._waiting and src in self._waiting:
            return None  # children wait for it: alias() hands them over
        known = _src_key(src)
        at = self._at
        if at >= len(self._ids):
            self._ids, at = os.urandom(2048).hex(), 0
        entry_id = self._ids[at : at + 8]
        self._at = at + 8
        before = by_src.setdefault(known, entry_id)  # one probe: registered here unless it was before
        if before is not entry_id:
            if before in self._resolved:
                return None  # nothing changed (the id drawn is not taken): alias() refuses it
            by_src[known] = entry_id
        taken = self.taken
        if entry_id in taken:
            entry_id = by_src[known] = self.new_id()
        else:
            taken.add(entry_id)
        if type(time) is str and len(time) == 24 and time[23] == "Z" and time[19] == "." and time[10] == "T":
            try:  # what to_rfc3339 checks of a time already in lime's form
                _fromisoformat(time)
                self.time = time
            except ValueError:
                pass
        elif time is not None and (moment := to_rfc3339(time)) is not None:
            self.time = moment
        entry: Entry = {"type": body["type"], "id": entry_id, "parentId": parent, "timestamp": self.time}
        entry.update(body)
        if parent is not None and parent_src is not CHAIN:
            self._resolved.add(parent)
        self.last_node = entry_id
        return entry

    def custom(self, kind: str, record: Any, *, time: Any = None, **kw: Any) -> Entry:
        """Keep ``record`` whole as a ``custom`` entry of type ``<tool>:<kind>``."""
        return self.add({"type": "custom", "customType": f"{self.tool}:{kind}", "data": record}, time=time, **kw)

    def refer(self, entry: Entry, key: str, src: Any) -> None:
        """Set ``entry[key]`` to the lime id of source id ``src`` once it is known (None if never)."""
        entry[key] = None
        if isinstance(src, str):
            self._refer(entry, key, src)

    def _refer(self, entry: Entry, key: str, src: str) -> None:
        if self.sink is None:
            self._pending.append((entry, key, src))
            return
        target = self._by_src.get(_src_key(src))
        if target is not None:
            entry[key] = target if target != entry["id"] else None
            self._resolved.add(target)
            return
        self._waiting.setdefault(src, []).append((entry, key))
        self.hold(entry)

    def bash(
        self,
        command: str,
        stdout: str,
        stderr: str,
        *,
        exit_code: int,
        cwd: str | None,
        time: Any = None,
        src: Any = None,
        parent: Any = CHAIN,
        parent_src: Any = None,
        keep_id: Any = None,
        extra: dict[str, Any] | None = None,
    ) -> list[Entry]:
        """Append one ``!`` exchange as lime's bash triple; the third entry is registered under ``src``."""
        triple = bash_triple(
            command,
            stdout,
            stderr,
            exit_code=exit_code,
            duration_ms=0,
            truncated_bytes={"stdout": 0, "stderr": 0},
            cwd=cwd or "",
            exchange="",
        )
        first = self.add(triple[0], time=time, parent=parent, parent_src=parent_src, keep_id=keep_id)
        shell = dict(first["shell"], exchange=first["id"], **(extra or {}))
        first["shell"] = shell
        second = self.add(dict(triple[1], shell=shell), time=time)
        third = self.add(dict(triple[2], shell=shell), time=time, src=src)
        return [first, second, third]

    def alias(self, src: str, entry_id: str) -> None:
        """Register ``src`` as another source id of the entry ``entry_id``."""
        known = _src_key(src)
        before = self._by_src.get(known) if self.sink is not None else None
        if before is not None and before != entry_id and before in self._resolved:
            # A child took the first entry (through this id or another of its ids): conservative, read it whole.
            raise NotStreamable(f"source id {src!r} is used twice")
        self._by_src[known] = entry_id
        waiting = self._waiting.pop(src, None) if self._waiting else None
        for entry, key in waiting or ():
            entry[key] = entry_id if entry_id != entry["id"] else None
            self._resolved.add(entry_id)
            self.release(entry)

    def lime_id(self, src: Any) -> str | None:
        return self._by_src.get(_src_key(src)) if isinstance(src, str) else None

    # -- holding entries back (with a sink) -------------------------------------
    def hold(self, entry: Entry, *, soft: bool = False) -> None:
        """Keep ``entry`` (and, in order, the entries after it) from the sink until :meth:`release`.

        ``soft``: the entry can be written without what it waits for (:meth:`.handover.Handover.hold`).
        """
        if self._handover is not None:
            self._handover.hold(entry, soft=soft)

    def release(self, entry: Entry) -> None:
        if self._handover is not None:
            self._handover.release(entry)

    def await_node(self, entry: Entry, key: str) -> None:
        """Set ``entry[key]`` to the id of the next tree node added (None if none comes)."""
        entry[key] = None
        self._await.append((entry, key))
        self.hold(entry)

    def flush(self) -> None:
        """Hand every entry that is complete, and all before it are, to the sink."""
        if self._handover is None or self.first_time is None:
            return
        if self._undated:
            self._date_undated()
        self._handover.flush()

    def _date_undated(self) -> None:
        for entry in self._undated:
            entry["timestamp"] = self.first_time or entry["timestamp"]
        self._undated.clear()

    def finish(self) -> list[Entry]:
        """Resolve source-id references (an unknown parent makes its entry a root) and date early entries.

        Entries before the first dated record take that record's time rather
        than the fallback, so an undated header never looks newer than the
        conversation. With a sink, every entry still held is handed to it
        now (the parked ones last) and the list returned is empty.
        """
        self._date_undated()
        for entry, key, src in self._pending:
            target = self._by_src.get(_src_key(src))
            if target is None and key == "parentId":
                self.dangling += 1
            entry[key] = target if target != entry.get("id") else None
        self._pending.clear()
        for waiting in self._waiting.values():
            for entry, key in waiting:
                self.dangling += key == "parentId"
                entry[key] = None
        self._waiting.clear()
        self._await.clear()
        if self._handover is not None:
            self._handover.drain()
        return self.entries
