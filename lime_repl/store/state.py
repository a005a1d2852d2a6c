"""The state of a session as a pure replay of its entries (DESIGN.md section 3).

* ``session`` headers and ``checkpoint`` lines open segments; the checkpoint of
  the oldest surviving segment restores the leaf, title, labels and latest
  compaction of the segments rotation deleted, and ``droppedEntries`` says how
  many entries went with them;
* every other entry is a node of the tree (``id``/``parentId``); applying a
  node moves the leaf to it, while ``leaf`` entries move the leaf explicitly
  and ``title``/``label`` entries annotate without moving it (Pi's v3 tree,
  with the leaf persisted so a resume never lands on a dead branch).

:class:`SessionState` does no I/O; :class:`~lime_repl.store.session.Session`
adds the files, the lock and the writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .entries import Branch, EntryMap, Node
from .reading import SegmentSource
from .records import META_TYPES, Entry, is_tree_node
from .segments import Segment
from .titles import first_prompt

__all__ = ["UNSET", "SessionState"]

UNSET: Any = object()


class SessionState:
    """Entries, leaf, title, labels and latest compaction of one session, built by :meth:`_apply`."""

    def __init__(self, path: Path | None, session_id: str, header: Entry) -> None:
        self.path = path
        self.session_id = session_id
        self.header = header
        #: Entry id -> entry in log order; entries are held as their lines (:mod:`~lime_repl.store.entries`).
        self.entries = EntryMap()
        self.leaf_id: str | None = None
        self.title: str | None = None
        #: The session's first prompt (:func:`~lime_repl.store.titles.first_prompt`), kept across rotation.
        self.first_message: str | None = None
        self.labels: dict[str, str] = {}
        self.compaction: Entry | None = None
        self.dropped_entries = 0
        self.first_segment = 0
        self.segments: list[Segment] = []
        self.warnings: list[str] = []
        self._taken: set[str] = set()
        #: The last branch walked, ``(leaf id, nodes root first)``: a later walk stops where it meets it.
        self._path: tuple[str, list[Node]] | None = None

    def _apply_all(
        self,
        entries: list[Entry],
        raws: list[bytes | None],
        *,
        first_segment: bool = False,
        source: SegmentSource | None = None,
        starts: list[int] | None = None,
    ) -> None:
        """:meth:`_apply` of each of ``entries`` with its line, in order (the replay's loop).

        A ``message`` with a new string id, the bulk of every log, is applied here
        directly: it is held as a node and becomes the leaf, as :meth:`_apply` does;
        given the ``source`` file and each line's offset (``starts``), the node keeps
        where its line is instead of the line (:class:`~lime_repl.store.entries.Node`).
        """
        nodes = self.entries.nodes
        taken = self._taken
        hold = self.entries.hold_once if self.entries.keeping else None
        offsets = starts if source is not None and starts is not None else [0] * len(entries)
        for entry, raw, at in zip(entries, raws, offsets, strict=True):
            entry_id = entry.get("id")
            if entry["type"] == "message" and isinstance(entry_id, str) and entry_id not in nodes:
                taken.add(entry_id)
                parent = entry.get("parentId")
                known = nodes.get(parent) if isinstance(parent, str) else None
                node = nodes[entry_id] = Node(
                    entry_id, entry, raw, known.id if known is not None else None, source if raw else None, at
                )
                if hold is not None and raw is not None:
                    hold(node, entry, len(raw))
                if self.first_message is None and self.first_segment == 0:
                    self.first_message = first_prompt(entry)
                self.leaf_id = entry_id
            else:
                self._apply(entry, first_segment=first_segment, raw=raw)

    def _apply(self, entry: Entry, *, first_segment: bool = False, raw: bytes | None = None) -> None:
        """Replay one entry; ``raw`` is the log line it was decoded from (kept instead of a message's dict)."""
        kind = entry.get("type")
        entry_id = entry.get("id")
        if isinstance(entry_id, str):
            self._taken.add(entry_id)
        if kind == "session":
            if first_segment and isinstance(entry.get("segment"), int):
                self.first_segment = entry["segment"]
            return
        if kind == "checkpoint":
            if first_segment:
                dropped = entry.get("droppedEntries")
                valid = isinstance(dropped, int) and not isinstance(dropped, bool) and dropped >= 0
                count = dropped if isinstance(dropped, int) and valid else 0
                if dropped is not None and not valid:
                    self.warnings.append(
                        f"{self.path}: the checkpoint's droppedEntries {dropped!r} is not a count of entries; ignored"
                    )
                self.dropped_entries = count if self.first_segment > 0 else 0
                self.leaf_id = entry.get("leafId") if isinstance(entry.get("leafId"), str) else self.leaf_id
                title = entry.get("title")
                self.title = title if isinstance(title, str) else self.title
                first = entry.get("firstMessage")
                self.first_message = first if isinstance(first, str) else self.first_message
                if isinstance(entry.get("labels"), dict):
                    self.labels.update({k: v for k, v in entry["labels"].items() if isinstance(v, str)})
                if isinstance(entry.get("compaction"), dict):
                    self.compaction = entry["compaction"]
            return
        if not isinstance(entry_id, str):
            self.warnings.append(f"skipped a {kind!r} entry without a string id")
            return
        if entry_id in self.entries:
            self.warnings.append(f"skipped a second entry with id {entry_id}")
            return
        self.entries.add(entry_id, entry, raw)
        if self.first_message is None and kind == "message" and self.first_segment == 0:
            self.first_message = first_prompt(entry)
        if kind == "leaf":
            target = entry.get("targetId")
            if isinstance(target, str) or target is None:
                self.leaf_id = target
        elif kind == "title":
            title = entry.get("title")
            self.title = title if isinstance(title, str) and title else None
        elif kind == "label":
            target, label = entry.get("targetId"), entry.get("label")
            if isinstance(target, str):
                if isinstance(label, str) and label:
                    self.labels[target] = label
                else:
                    self.labels.pop(target, None)
        elif is_tree_node(entry):
            self.leaf_id = entry_id
            if kind == "compaction":
                self.compaction = entry

    def _runs_into_cycle(self, entry_id: str) -> bool:
        """True when following ``parentId`` from ``entry_id`` comes back to an entry already passed."""
        seen: set[str] = set()
        nodes = self.entries.nodes
        current: str | None = entry_id
        while current is not None and current in nodes:
            if current in seen:
                return True
            seen.add(current)
            current = nodes[current].parent
        return False

    def _settle_leaf(self) -> None:
        """After a replay: a leaf that names no entry, or whose branch runs into a ``parentId`` cycle,
        moves to the newest entry whose branch is sound, with a one-line warning (never a silently
        empty context). A leaf in segments that rotation dropped is left as it is."""
        leaf = self.leaf_id
        if leaf is None:
            return
        if leaf not in self.entries:
            if self.first_segment > 0:
                return
            problem = f"the leaf {leaf} names no entry"
        elif self._runs_into_cycle(leaf):
            problem = f"the branch of the leaf {leaf} runs into a parentId cycle"
        else:
            return
        for entry_id in reversed(list(self.entries)):
            if self.entries.kind(entry_id) not in META_TYPES and not self._runs_into_cycle(entry_id):
                self.leaf_id = entry_id
                self.warnings.append(
                    f"{self.path}: {problem}; continuing from the newest reachable entry {entry_id}"
                )
                return
        self.leaf_id = None
        self.warnings.append(f"{self.path}: {problem}, and no entry is reachable; continuing from the root")

    # -- queries -------------------------------------------------------
    @property
    def short_id(self) -> str:
        return self.session_id[:8]

    @property
    def cwd(self) -> str | None:
        value = self.header.get("cwd")
        return value if isinstance(value, str) else None

    @property
    def system_prompt(self) -> str | None:
        value = self.header.get("systemPrompt")
        return value if isinstance(value, str) else None

    def branch(self, leaf_id: str | None = UNSET) -> Branch:
        """The entries from the root to ``leaf_id`` (the session's leaf by default), root first.

        Stops at a missing parent (rotation dropped it) and at a cycle. A
        :class:`~lime_repl.store.entries.Branch`: a sequence whose entries are
        decoded one at a time as they are read, walked by parent ids (no decoding).
        """
        target = self.leaf_id if leaf_id is UNSET else leaf_id
        nodes = self.entries.nodes
        cached = self._path
        current = target
        path: list[Node] = []
        seen: set[str] = set()
        while isinstance(current, str) and current not in seen:
            if cached is not None and current == cached[0]:
                # Entries never change, so the path to an entry found before still holds: reuse it.
                whole = [*cached[1], *reversed(path)]
                self._path = (target, whole) if isinstance(target, str) else None
                return Branch(whole[:])
            node = nodes.get(current)
            if node is None:
                break
            seen.add(current)
            path.append(node)
            current = node.parent
        path.reverse()
        # Kept when the walk ended at a root or a missing parent, never at a cycle.
        if isinstance(target, str) and path and not (isinstance(current, str) and current in seen):
            self._path = (target, path[:])
        return Branch(path)

    def children(self) -> dict[str | None, list[str]]:
        """Map of parent id to child ids of the tree nodes, in log order."""
        result: dict[str | None, list[str]] = {}
        for entry_id, node in self.entries.nodes.items():
            if node.kind not in META_TYPES:
                result.setdefault(node.parent, []).append(entry_id)
        return result

    def iter_messages(self) -> Iterator[Entry]:
        """The ``message`` entries of the active branch, root first."""
        return (node.entry for node in self.branch().nodes if node.kind == "message")
