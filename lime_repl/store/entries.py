"""A session's entries held compactly: each as its log line, decoded when asked for.

A 50 MB session decodes to about 160 MiB of dicts; its lines take 50 MB.
:class:`EntryMap` keeps, per entry, a :class:`Node`: the id, ``parentId``,
``type``, and either the decoded entry (entries appended in this process,
and every entry that is not a ``message`` or ``custom``: headers, leaves,
titles, labels, compactions, microcompactions are few and small) or the raw
line a ``message``/``custom`` entry was read from, decoded with
:func:`~lime_repl.store.records.parse_line` on each access (the line was
already checked when the log was replayed, so it decodes to the same entry).
Nothing is cached: the memory a session holds is its lines plus one node per
entry, whatever reads it.

:class:`Branch` is the active branch as a sequence of entries in the same
form: ``len``, slices and the node facts (``kinds``, ``ids``, ``parents``)
cost no decoding; indexing and iteration decode one entry at a time, so a
reader that streams the branch (the transcript builder) never holds it all
decoded. ``output`` facts (see :func:`~lime_repl.store.records.output_facts`)
are taken once, when an entry is replayed or appended.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator, Mapping, Sequence, ValuesView
from typing import overload

from .reading import SegmentSource
from .records import Entry, decode_line, output_facts

__all__ = ["LAZY_TYPES", "Branch", "EntryMap", "Node"]

#: Entry types kept as their raw line (decoded on access); the others are held decoded.
LAZY_TYPES = frozenset({"message", "custom"})


class Node:
    """One entry: ``id``, ``parent`` (its ``parentId`` when a string), ``kind`` (its ``type``),
    ``role`` (a message's), ``output`` (:func:`~lime_repl.store.records.output_facts`), ``shell``, and
    ``raw`` (the log line) or the decoded entry.

    Given a ``source`` (the open segment file the line was read from, at byte ``at``), a lazy entry
    keeps where its line is instead of the line, and :attr:`raw` reads it back (a slice of the segment's mapping)."""

    __slots__ = ("id", "parent", "kind", "role", "output", "shell", "_raw", "_entry", "once", "src", "loc")

    def __init__(
        self,
        entry_id: str,
        entry: Entry,
        raw: bytes | None,
        parent: str | None = None,
        source: SegmentSource | None = None,
        at: int = 0,
    ) -> None:
        kind = entry.get("type")
        self.id = entry_id
        if parent is None:
            value = entry.get("parentId")
            parent = value if isinstance(value, str) else None
        self.parent = parent
        # Interned: one "message" and one "user" string for all nodes, not one per decoded line.
        self.kind = sys.intern(kind) if isinstance(kind, str) else None
        if kind == "message":
            role = entry.get("role")
            self.role = sys.intern(role) if isinstance(role, str) else None
            # output_facts is None for all but user messages: not called for the others.
            self.output = output_facts(entry) if role == "user" else None
            #: True for a message with a ``shell`` object (a member of a bash triple).
            self.shell = isinstance(entry.get("shell"), dict)
        else:
            self.role = self.output = None
            self.shell = False
        lazy = raw is not None and kind in LAZY_TYPES
        self._entry = None if lazy else entry
        #: A lazy entry's dict as the replay decoded it, handed to the first read (see :class:`EntryMap`).
        self.once: Entry | None = None
        #: The segment file and ``offset << 32 | length`` of the line read back by :attr:`raw`.
        self.src = source if lazy else None
        self.loc = at << 32 | len(raw) if lazy and source is not None and raw is not None else 0
        self._raw = raw if lazy and source is None else None

    @property
    def raw(self) -> bytes | None:
        """The log line of a lazy entry (held, or read back from its segment file); None for one held decoded.

        Raises ``OSError`` when a line read back is no longer all there (its file was cut under the session).
        """
        held = self._raw
        if held is not None or self.src is None:
            return held
        return self.src.read(self.loc >> 32, self.loc & 0xFFFFFFFF)

    @classmethod
    def bare(cls, entry_id: str, kind: str, parent: str | None) -> Node:
        """A node of a ``message`` or ``custom`` entry holding neither its line nor its dict (a large import's:
        :meth:`EntryMap.add_bare`); :attr:`entry` gives ``{"type", "id", "parentId"}`` only."""
        node = cls.__new__(cls)
        node.id, node.parent, node.kind = entry_id, parent, kind
        node.role = node.output = node._entry = node.once = node.src = node._raw = None
        node.shell = False
        node.loc = 0
        return node

    @property
    def entry(self) -> Entry:
        """The entry as a new dict decoded from its line (or the replay's, once), or the one held."""
        held = self._entry
        if held is not None:
            return held
        once = self.once
        if once is not None:
            self.once = None
            return once
        if self._raw is None and self.src is None:  # a bare node: its ids only
            return {"type": self.kind, "id": self.id, "parentId": self.parent}
        return decode_line(self.raw or b"")


class EntryMap(Mapping[str, Entry]):
    """Entry id -> entry, in log order (a read-only mapping; :meth:`add` is the store's).

    A replay with a ``keep_decoded`` budget (:func:`~lime_repl.store.replay.replay`)
    leaves the newest lazy entries' dicts, up to that many bytes of their lines,
    in their nodes (``once``): the first read of each gets that dict instead of
    decoding the line again, and later reads decode as usual. A resume reads its
    branch right after the replay to build the transcript; it then decodes only
    what the budget left out. :meth:`forget_decoded` drops what is left.
    """

    __slots__ = ("nodes", "_decoded", "_budget", "_held")

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self._decoded: deque[tuple[Node, int]] = deque()
        self._budget = 0
        self._held = 0

    def keep_decoded(self, budget: int) -> None:
        """From now on, keep replayed dicts for their first read, up to ``budget`` bytes of lines (newest kept)."""
        self._budget = max(budget, 0)

    @property
    def keeping(self) -> bool:
        """True while replayed dicts are kept for their first read (a budget was set)."""
        return self._budget > 0

    def hold_once(self, node: Node, entry: Entry, size: int) -> None:
        """Keep ``entry`` (``size`` bytes of line) for the first read of ``node``, within the budget."""
        if size > self._budget:
            return
        node.once = entry
        self._decoded.append((node, size))
        self._held += size
        while self._held > self._budget:
            old, old_size = self._decoded.popleft()
            old.once = None
            self._held -= old_size

    def forget_decoded(self) -> None:
        """Drop every dict still kept for a first read (each line decodes on its next read)."""
        for node, _ in self._decoded:
            node.once = None
        self._decoded.clear()
        self._held = self._budget = 0

    def add(self, entry_id: str, entry: Entry, raw: bytes | None = None) -> None:
        """Hold ``entry`` (decoded from ``raw`` when given, which is kept instead for lazy types)."""
        value = entry.get("parentId")
        known = self.nodes.get(value) if isinstance(value, str) else None
        # The parent's own id string when it is known: no second copy of it per child.
        self.nodes[entry_id] = Node(entry_id, entry, raw, known.id if known is not None else None)

    def add_bare(self, entry_id: str, kind: str, parent: str | None) -> None:
        """Hold only the id, ``kind`` (interned by the caller) and parent of an entry (:meth:`Node.bare`)."""
        known = self.nodes.get(parent) if parent is not None else None
        self.nodes[entry_id] = Node.bare(entry_id, kind, known.id if known is not None else parent)

    def __getitem__(self, entry_id: str) -> Entry:
        return self.nodes[entry_id].entry

    def values(self) -> _Values:
        """The entries in log order (decoded one at a time); ``reversed()`` gives them newest first."""
        return _Values(self)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self.nodes

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __bool__(self) -> bool:
        return bool(self.nodes)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EntryMap({len(self.nodes)} entries)"

    def kind(self, entry_id: str) -> str | None:
        """The ``type`` of ``entry_id`` without decoding it. Raises ``KeyError`` if unknown."""
        return self.nodes[entry_id].kind

    def parent(self, entry_id: str) -> str | None:
        """The ``parentId`` of ``entry_id`` (None when not a string). Raises ``KeyError`` if unknown."""
        return self.nodes[entry_id].parent


class _Values(ValuesView[Entry]):
    """:meth:`EntryMap.values`: a values view that can also be read newest first, like a dict's."""

    _mapping: EntryMap

    def __reversed__(self) -> Iterator[Entry]:
        for node in reversed(self._mapping.nodes.values()):
            yield node.entry


class Branch(Sequence[Entry]):
    """Entries root first as :class:`Node` s; items decode on access (see the module docstring)."""

    __slots__ = ("nodes",)

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = nodes

    def __len__(self) -> int:
        return len(self.nodes)

    @overload
    def __getitem__(self, index: int) -> Entry: ...

    @overload
    def __getitem__(self, index: slice) -> Branch: ...

    def __getitem__(self, index: int | slice) -> Entry | Branch:
        if isinstance(index, slice):
            return Branch(self.nodes[index])
        return self.nodes[index].entry

    def __iter__(self) -> Iterator[Entry]:
        for node in self.nodes:
            yield node.entry

    def __reversed__(self) -> Iterator[Entry]:
        for node in reversed(self.nodes):
            yield node.entry

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Branch({len(self.nodes)} entries)"

    def __add__(self, other: Sequence[Entry]) -> Branch:
        """This branch followed by ``other`` (entries not in the session, e.g. a probe), still undecoded."""
        extra = other.nodes if isinstance(other, Branch) else [Node(str(e.get("id")), e, None) for e in other]
        return Branch([*self.nodes, *extra])

    def kinds(self) -> list[str | None]:
        """Each entry's ``type``, without decoding."""
        return [node.kind for node in self.nodes]

    def ids(self) -> list[str]:
        """Each entry's id, without decoding."""
        return [node.id for node in self.nodes]


def nodes_of(entries: Sequence[Entry]) -> list[Node] | None:
    """The nodes behind ``entries`` when it is a :class:`Branch`, else None (a plain list of dicts)."""
    return entries.nodes if isinstance(entries, Branch) else None
