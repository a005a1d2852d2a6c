"""The session tree: building, filtering, folding, placing rows, and planning a jump.

A pure model of a session's entries (DESIGN.md section 3: ``id``/``parentId``
form a tree, the leaf is persisted, ``label`` entries bookmark nodes); the
``/tree`` screen, line mode, the bridge and the exports draw from it through
:mod:`lime_repl.views.tree`, which turns placements into display rows
(connectors, previews). Nothing here builds display text.

* :func:`build_tree` takes the entries (id -> entry, in log order), the leaf
  and the labels of a :class:`~lime_repl.store.session.Session` and gives a
  :class:`SessionTree`. Meta entries (``leaf``, ``title``, ``label``) hang
  under the entry that was the leaf when they were written; an entry whose
  parent is unknown (rotation dropped it) becomes a root.
* :func:`place` gives one :class:`Placement` per visible entry, under one of
  :data:`FILTER_MODES` (the modes of Pi's tree view) or :data:`NODES_MODE`:

  - ``default``: conversation entries; hides bookkeeping (``model_change``,
    ``system_prompt``, ``microcompaction``, meta entries), the stdout/stderr
    rows of ``!`` commands and assistant messages made only of tool calls
    (their tool results name the tool);
  - ``no-tools``: ``default`` without tool results;
  - ``user-only``: the user's prompts;
  - ``labeled-only``: labeled entries;
  - ``all``: every entry, meta entries included;
  - ``nodes`` (not cycled in the tree screen; the exports' mode): every
    conversation node, with a ``!`` exchange shown as its command alone.

  The leaf is always shown, so the current position stays visible. A hidden
  entry's visible descendants move up to its nearest visible ancestor. The
  branch holding the leaf is listed first among siblings. A placement is
  indented only where the tree branches (``guides`` and ``branch``), so a
  long linear conversation stays flush left. Entries in ``folded`` show no
  descendants; their placements count what is hidden.
* :func:`plan_jump` says what selecting an entry does: a user prompt puts
  its text in the next input line and moves the leaf to its parent, so the
  next message starts a new branch; a ``!`` command row moves the leaf to
  the end of its exchange (a bash triple is drawn as its command row); any
  other entry becomes the leaf. It also lists the entries of the branch
  being left.

Everything here is iterative (no recursion), so sessions of any depth work.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from .records import Entry, is_tree_node, text_of, tool_names, triple_role

__all__ = [
    "FILTER_MODES",
    "NODES_MODE",
    "JumpPlan",
    "Placement",
    "SessionTree",
    "TreeNode",
    "build_tree",
    "entry_kind",
    "path_to",
    "place",
    "plan_jump",
]

#: The filter modes, in the order Ctrl-O cycles them.
FILTER_MODES = ("default", "no-tools", "user-only", "labeled-only", "all")

#: Every conversation node, a ``!`` exchange as its command alone (the exports' tree).
NODES_MODE = "nodes"

_HIDDEN_BY_DEFAULT = frozenset(
    {"bash_output", "tool_call", "model_change", "system_prompt", "microcompaction", "leaf", "title", "label"}
)


@dataclass(slots=True)
class TreeNode:
    """One entry in the tree: ``kind`` is :func:`entry_kind`; ``children`` are ids in log order."""

    id: str
    parent_id: str | None
    entry: Entry
    kind: str
    children: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SessionTree:
    """All entries as nodes; ``roots`` in log order; ``active_path`` the ids from the root to the leaf."""

    nodes: dict[str, TreeNode]
    roots: list[str]
    leaf_id: str | None
    labels: dict[str, str]
    label_times: dict[str, str]
    active_path: set[str]
    tool_names: dict[str, str]
    display_leaf: str | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one visible entry sits in the drawn tree, and its facts; no display text.

    ``guides`` has one flag per enclosing fork level, outermost first: True when the
    ancestor at that level was the last of its siblings (no gutter is drawn below it).
    ``branch`` is None for an entry that continues its parent's line, else whether it
    is the last of its siblings. ``label_time`` is the RFC 3339 time the label was
    set, ``children`` the number of visible children and ``hidden`` the number of
    visible descendants a fold hides (0 when not folded).
    """

    id: str
    entry: Entry
    kind: str
    guides: tuple[bool, ...]
    branch: bool | None
    label: str | None
    label_time: str | None
    on_path: bool
    is_leaf: bool
    children: int
    hidden: int

    @property
    def depth(self) -> int:
        """The fork levels above this entry (its indentation)."""
        return len(self.guides) + (self.branch is not None)


@dataclass(frozen=True, slots=True)
class JumpPlan:
    """What selecting ``target_id`` does.

    ``new_leaf`` is where the leaf goes (None: before the first entry);
    ``prefill`` the text for the next input line when a prompt was selected;
    ``abandoned`` the entries of the old branch past the common ancestor, root
    first (what a branch summary summarizes); ``from_id`` the old leaf.
    """

    target_id: str
    new_leaf: str | None
    prefill: str | None
    abandoned: list[Entry]
    from_id: str | None

    @property
    def moves(self) -> bool:
        """True when the leaf changes."""
        return self.new_leaf != self.from_id


def entry_kind(entry: Entry) -> str:
    """A display kind: ``user``, ``assistant``, ``tool_call``, ``tool_result``, ``bash``,
    ``bash_output``, or the entry's ``type`` for other entries (``compaction``, ``label``, ...)."""
    kind = entry.get("type")
    if kind != "message":
        return str(kind)
    content = entry.get("content")
    blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
    if entry.get("role") == "assistant":
        has_text = any(b.get("type") == "text" and str(b.get("text", "")).strip() for b in blocks)
        has_call = any(b.get("type") == "tool_use" for b in blocks)
        return "tool_call" if has_call and not has_text else "assistant"
    if isinstance(entry.get("shell"), dict):
        return "bash" if triple_role(entry) == "input" else "bash_output"
    if blocks and all(b.get("type") == "tool_result" for b in blocks):
        return "tool_result"
    return "user"


def path_to(entries: Mapping[str, Entry], entry_id: str | None) -> list[Entry]:
    """The entries from the root to ``entry_id``, root first; stops at a missing parent or a cycle."""
    path: list[Entry] = []
    seen: set[str] = set()
    current = entry_id
    while isinstance(current, str) and current in entries and current not in seen:
        seen.add(current)
        path.append(entries[current])
        current = entries[current].get("parentId")
    path.reverse()
    return path


def build_tree(
    entries: Mapping[str, Entry], leaf_id: str | None, labels: Mapping[str, str] | None = None
) -> SessionTree:
    """The tree of ``entries`` (id -> entry, log order; ``session``/``checkpoint`` lines are skipped)."""
    nodes: dict[str, TreeNode] = {}
    label_times: dict[str, str] = {}
    for entry_id, entry in entries.items():
        kind = entry.get("type")
        if kind in ("session", "checkpoint"):
            continue
        parent = entry.get("parentId")
        nodes[entry_id] = TreeNode(
            entry_id, parent if isinstance(parent, str) else None, entry, entry_kind(entry)
        )
        if kind == "label" and isinstance(entry.get("targetId"), str):
            if entry.get("label"):
                label_times[entry["targetId"]] = str(entry.get("timestamp", ""))
            else:
                label_times.pop(entry["targetId"], None)
    roots: list[str] = []
    for node in nodes.values():
        if node.parent_id is not None and node.parent_id in nodes and node.parent_id != node.id:
            nodes[node.parent_id].children.append(node.id)
        else:
            roots.append(node.id)
    active = {e["id"] for e in path_to(entries, leaf_id) if is_tree_node(e)}
    display = leaf_id
    while display in nodes and nodes[display].kind == "bash_output" and nodes[display].parent_id in nodes:
        display = nodes[display].parent_id  # a `!` exchange is shown by its command row
    names = tool_names(entries.values())
    return SessionTree(nodes, roots, leaf_id, dict(labels or {}), label_times, active, names, display)


def _visible(tree: SessionTree, node: TreeNode, mode: str) -> bool:
    if mode == "all":
        return True
    if mode == "user-only":
        return node.kind == "user"
    if mode == "labeled-only":
        return node.id in tree.labels
    if mode == NODES_MODE:
        return is_tree_node(node.entry) and node.kind != "bash_output"
    if node.kind in _HIDDEN_BY_DEFAULT:
        return False
    return not (mode == "no-tools" and node.kind == "tool_result")


def place(tree: SessionTree, mode: str = "default", folded: Collection[str] = ()) -> list[Placement]:
    """The visible entries of ``tree`` under filter ``mode``, top to bottom.

    ``mode`` is one of :data:`FILTER_MODES` or :data:`NODES_MODE`; raises ``ValueError`` for another.
    """
    if mode not in FILTER_MODES and mode != NODES_MODE:
        raise ValueError(f"unknown filter mode {mode!r}; one of {', '.join(FILTER_MODES)}")
    nodes = tree.nodes
    visible = {node_id: _visible(tree, node, mode) for node_id, node in nodes.items()}
    shown_leaf = tree.leaf_id if visible.get(tree.leaf_id or "") else tree.display_leaf
    if shown_leaf in visible:
        visible[shown_leaf] = True  # the current position is always shown

    def ordered(ids: list[str]) -> list[str]:
        return sorted(ids, key=lambda i: i not in tree.active_path)  # stable: log order otherwise

    # Post-order pass: the visible children of each node, hidden ones replaced by theirs.
    preorder: list[str] = []
    stack = list(reversed(tree.roots))
    while stack:
        node_id = stack.pop()
        preorder.append(node_id)
        stack.extend(reversed(nodes[node_id].children))
    effective: dict[str, list[str]] = {}
    size: dict[str, int] = {}
    for node_id in reversed(preorder):
        kids: list[str] = []
        for child in nodes[node_id].children:
            kids.extend([child] if visible[child] else effective[child])
        effective[node_id] = kids
        size[node_id] = sum(1 + size[k] for k in kids)
    top: list[str] = []
    for root in tree.roots:
        top.extend([root] if visible[root] else effective[root])

    rows: list[Placement] = []
    # Stack items: (id, guides, branch, guides of its children) -- see Placement.
    work: list[tuple[str, tuple[bool, ...], bool | None, tuple[bool, ...]]] = []
    top = ordered(top)
    branched = len(top) > 1
    for i, node_id in reversed(list(enumerate(top))):
        last = i == len(top) - 1
        work.append((node_id, (), last if branched else None, (last,) if branched else ()))
    while work:
        node_id, guides, branch, cont = work.pop()
        node = nodes[node_id]
        is_folded = node_id in folded
        kids = ordered(effective[node_id])
        rows.append(
            Placement(
                id=node_id,
                entry=node.entry,
                kind=node.kind,
                guides=guides,
                branch=branch,
                label=tree.labels.get(node_id),
                label_time=tree.label_times.get(node_id),
                on_path=node_id in tree.active_path,
                is_leaf=node_id == shown_leaf,
                children=len(kids),
                hidden=size[node_id] if is_folded else 0,
            )
        )
        if is_folded:
            continue
        if len(kids) == 1:
            work.append((kids[0], cont, None, cont))
            continue
        for i, child in reversed(list(enumerate(kids))):
            last = i == len(kids) - 1
            work.append((child, cont, last, (*cont, last)))
    return rows


def _exchange_end(entries: Mapping[str, Entry], entry: Entry) -> str:
    """The last entry of the ``!`` exchange (bash triple) that starts at ``entry``."""
    exchange = (entry.get("shell") or {}).get("exchange")
    current = entry["id"]
    for _ in range(2):
        nxt = next(
            (
                e["id"]
                for e in entries.values()
                if e.get("parentId") == current and (e.get("shell") or {}).get("exchange") == exchange
            ),
            None,
        )
        if nxt is None:
            break
        current = nxt
    return current


def plan_jump(entries: Mapping[str, Entry], leaf_id: str | None, target_id: str) -> JumpPlan:
    """What selecting ``target_id`` does (see the module docstring). Raises ``KeyError`` for an unknown id."""
    entry = entries[target_id]
    kind = entry_kind(entry)
    prefill: str | None = None
    if not is_tree_node(entry):  # a meta entry: go where it was written
        parent = entry.get("parentId")
        new_leaf = parent if isinstance(parent, str) and parent in entries else None
    elif kind == "user":
        prefill = text_of(entry)
        parent = entry.get("parentId")
        new_leaf = parent if isinstance(parent, str) and parent in entries else None
    elif kind == "bash":
        new_leaf = _exchange_end(entries, entry)
    else:
        new_leaf = target_id
    old_path = path_to(entries, leaf_id)
    new_ids = {e["id"] for e in path_to(entries, new_leaf)}
    abandoned = [e for e in old_path if e["id"] not in new_ids]
    return JumpPlan(target_id, new_leaf, prefill, abandoned, leaf_id)
