"""``/tree``: a full-screen prompt-toolkit view of the session tree (Pi's tree navigator).

Keys (DESIGN.md section 5, issue 5):

* Up/Down move; Left/Right (and Page Up/Page Down) move a page; Home/End go
  to the first and last row;
* Ctrl-Left folds the selected entry (hides its descendants), or, when there
  is nothing to fold, moves to the branch point above; Ctrl-Right unfolds;
* Shift-L sets or clears the selected entry's label (an empty label clears
  it); the ``label`` entry is written at once through
  :meth:`~lime_repl.store.session.Session.label`;
* Shift-T toggles the time each label was set;
* Ctrl-O cycles the filter modes of :data:`~lime_repl.store.tree.FILTER_MODES`;
* Enter selects the entry; Esc, q or Ctrl-C leave without moving.

Row text and labels pass :func:`lime_repl.textsafe.safe_line` (prompt-toolkit
already shows C0 controls as ``^X``; the sanitizer also covers C1 controls and
bidi overrides). The rows come from :func:`lime_repl.views.tree.flatten`; only the rows that
fit the window are drawn, so a session of any size opens at once. What a
selection does (move the leaf, edit a prompt, offer a branch summary) is
decided by the caller, :mod:`lime_repl.repl.branching`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..store.tree import FILTER_MODES, SessionTree, build_tree
from ..textsafe import safe_line
from ..views.tree import Row, flatten

if TYPE_CHECKING:
    from prompt_toolkit.formatted_text import StyleAndTextTuples

    from ..store.session import Session

__all__ = ["TreeState", "run_tree_view"]

_CHROME_ROWS = 3  # header, help line, status line
_STYLE = {
    "header": "bold reverse",
    "cursor": "reverse",
    "offpath": "#888888",
    "leaf": "bold",
    "label": "ansiyellow bold",
    "labeltime": "ansiyellow",
    "gutter": "#666666",
    "hint": "#888888",
    "status": "ansired",
    "user": "ansicyan",
}


@dataclass
class TreeState:
    """The view's state: the rows under the current filter, the selection and the folds.

    ``index`` is the selected row; it follows the same entry through refolds
    and filter changes (or its nearest shown ancestor).
    """

    session: Session
    mode: int = 0
    folded: set[str] = field(default_factory=set)
    show_times: bool = False
    rows: list[Row] = field(default_factory=list)
    index: int = 0
    top: int = 0
    status: str = ""
    tree: SessionTree | None = None

    def __post_init__(self) -> None:
        self.refresh(self.session.leaf_id)
        if not any(r.is_leaf for r in self.rows):
            self.index = max(0, len(self.rows) - 1)

    @property
    def mode_name(self) -> str:
        return FILTER_MODES[self.mode]

    @property
    def selected(self) -> Row | None:
        return self.rows[self.index] if self.rows else None

    def refresh(self, keep: str | None = None) -> None:
        """Rebuild the rows from the session, keeping ``keep`` (default: the selected entry) selected."""
        keep = keep if keep is not None else (self.selected.id if self.selected else None)
        session = self.session
        tree = self.tree = build_tree(session.entries, session.leaf_id, session.labels)
        self.rows = flatten(tree, self.mode_name, self.folded)
        positions = {row.id: i for i, row in enumerate(self.rows)}
        current = keep
        while current is not None and current not in positions and current in tree.nodes:
            current = tree.nodes[current].parent_id
        if current in positions:
            self.index = positions[current]
        else:
            leaf = next((i for i, r in enumerate(self.rows) if r.is_leaf), None)
            self.index = leaf if leaf is not None else min(self.index, max(0, len(self.rows) - 1))

    def move(self, delta: int) -> None:
        if self.rows:
            self.index = max(0, min(len(self.rows) - 1, self.index + delta))

    def fold(self) -> None:
        row = self.selected
        if row is None:
            return
        if row.children and row.id not in self.folded:
            self.folded.add(row.id)
            self.refresh(row.id)
            return
        positions = {r.id: i for i, r in enumerate(self.rows)}
        nodes = self.tree.nodes if self.tree is not None else {}
        current = nodes[row.id].parent_id if row.id in nodes else None
        while current is not None and current in nodes:  # nothing to fold: up to the branch point
            if current in positions and self.rows[positions[current]].children > 1:
                self.index = positions[current]
                return
            current = nodes[current].parent_id

    def unfold(self) -> None:
        row = self.selected
        if row is not None and row.id in self.folded:
            self.folded.discard(row.id)
            self.refresh(row.id)

    def cycle_filter(self) -> None:
        self.mode = (self.mode + 1) % len(FILTER_MODES)
        self.refresh()

    def set_label(self, text: str) -> None:
        """Write a ``label`` entry for the selected row (empty text clears)."""
        row = self.selected
        if row is None:
            return
        label = text.strip() or None
        self.session.label(row.id, label)
        self.status = f"label {label!r} set on {row.id}" if label else f"label cleared on {row.id}"
        self.refresh(row.id)

    def visible_rows(self, height: int) -> list[tuple[int, Row]]:
        """The rows that fit ``height`` lines, scrolled to keep the selection in view."""
        height = max(1, height)
        if self.index < self.top:
            self.top = self.index
        elif self.index >= self.top + height:
            self.top = self.index - height + 1
        self.top = max(0, min(self.top, max(0, len(self.rows) - height)))
        return [(i, self.rows[i]) for i in range(self.top, min(self.top + height, len(self.rows)))]


def _row_fragments(row: Row, selected: bool, show_times: bool) -> StyleAndTextTuples:
    base = "class:cursor" if selected else ""
    text_style = "class:user" if row.kind == "user" else ""
    if not row.on_path:
        text_style = "class:offpath"
    if row.is_leaf:
        text_style += " class:leaf"
    parts: StyleAndTextTuples = [
        (base, "› " if selected else "  "),
        (f"{base} class:gutter", row.prefix),
        (f"{base} {text_style}", "● " if row.on_path else "○ "),
    ]
    if row.label:
        parts.append((f"{base} class:label", f"[{safe_line(row.label)}] "))
        if show_times and row.label_time:
            parts.append((f"{base} class:labeltime", row.label_time[:19].replace("T", " ") + " "))
    parts.append((f"{base} {text_style}", safe_line(row.text)))
    if row.hidden:
        parts.append((f"{base} class:hint", f"  (+{row.hidden} folded)"))
    if row.is_leaf:
        parts.append((f"{base} class:label", "  ← leaf"))
    parts.append(("", "\n"))
    return parts


def run_tree_view(session: Session, *, input: Any = None, output: Any = None) -> str | None:
    """Show ``session``'s tree full screen; returns the selected entry id, or None when left with Esc.

    Labels set in the view are written to the session immediately.
    """
    from prompt_toolkit.application.current import get_app
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.document import Document
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import ConditionalContainer, HSplit, Layout, VSplit, Window
    from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
    from prompt_toolkit.layout.dimension import Dimension

    state = TreeState(session)
    label_buffer = Buffer(multiline=False)
    editing = {"on": False}
    is_editing = Condition(lambda: editing["on"])
    browsing = ~is_editing

    def body_height() -> int:
        return get_app().output.get_size().rows - _CHROME_ROWS - (1 if editing["on"] else 0)

    def header() -> StyleAndTextTuples:
        title = session.title or "untitled"
        count = f"{state.index + 1}/{len(state.rows)}" if state.rows else "0/0"
        return [
            (
                "class:header",
                f" Session tree · {session.short_id} · {title} · filter: {state.mode_name} · {count} ",
            )
        ]

    def body() -> StyleAndTextTuples:
        if not state.rows:
            return [("class:hint", "  no entries under this filter (Ctrl-O changes it)\n")]
        fragments: StyleAndTextTuples = []
        for i, row in state.visible_rows(body_height()):
            fragments.extend(_row_fragments(row, i == state.index, state.show_times))
        return fragments

    def footer() -> StyleAndTextTuples:
        return [
            (
                "class:hint",
                " ↑↓ move · ←→ page · Ctrl-←/→ fold/unfold · L label · T label times"
                " · Ctrl-O filter · Enter select · Esc close",
            )
        ]

    def status() -> StyleAndTextTuples:
        return [("class:status", " " + state.status)] if state.status else []

    bindings = KeyBindings()

    def page() -> int:
        return max(1, body_height() - 1)

    @bindings.add("up", filter=browsing)
    @bindings.add("k", filter=browsing)
    def _up(event: Any) -> None:
        state.move(-1)

    @bindings.add("down", filter=browsing)
    @bindings.add("j", filter=browsing)
    def _down(event: Any) -> None:
        state.move(1)

    @bindings.add("left", filter=browsing)
    @bindings.add("pageup", filter=browsing)
    def _page_up(event: Any) -> None:
        state.move(-page())

    @bindings.add("right", filter=browsing)
    @bindings.add("pagedown", filter=browsing)
    def _page_down(event: Any) -> None:
        state.move(page())

    @bindings.add("home", filter=browsing)
    def _home(event: Any) -> None:
        state.index = 0

    @bindings.add("end", filter=browsing)
    def _end(event: Any) -> None:
        state.move(len(state.rows))

    @bindings.add("c-left", filter=browsing)
    def _fold(event: Any) -> None:
        state.fold()

    @bindings.add("c-right", filter=browsing)
    def _unfold(event: Any) -> None:
        state.unfold()

    @bindings.add("c-o", filter=browsing)
    def _filter(event: Any) -> None:
        state.cycle_filter()
        state.status = f"filter: {state.mode_name}"

    @bindings.add("T", filter=browsing)
    def _times(event: Any) -> None:
        state.show_times = not state.show_times

    @bindings.add("L", filter=browsing)
    def _label(event: Any) -> None:
        row = state.selected
        if row is None:
            return
        label_buffer.set_document(Document(row.label or ""), bypass_readonly=True)
        editing["on"] = True
        state.status = ""
        event.app.layout.focus(label_window)

    @bindings.add("enter", filter=is_editing)
    def _label_done(event: Any) -> None:
        editing["on"] = False
        try:
            state.set_label(label_buffer.text)
        except Exception as exc:  # a failed write is shown, and the view stays usable
            state.status = f"cannot write the label: {exc}"
        event.app.layout.focus(body_window)

    @bindings.add("escape", filter=is_editing, eager=True)
    @bindings.add("c-c", filter=is_editing)
    def _label_cancel(event: Any) -> None:
        editing["on"] = False
        event.app.layout.focus(body_window)

    @bindings.add("enter", filter=browsing)
    def _select(event: Any) -> None:
        row = state.selected
        if row is not None:
            event.app.exit(result=row.id)

    @bindings.add("escape", filter=browsing, eager=True)
    @bindings.add("q", filter=browsing)
    @bindings.add("c-c", filter=browsing)
    def _close(event: Any) -> None:
        event.app.exit(result=None)

    body_window = Window(FormattedTextControl(body, focusable=True, show_cursor=False), wrap_lines=False)
    label_window = Window(BufferControl(label_buffer), height=Dimension.exact(1))
    layout = Layout(
        HSplit(
            [
                Window(FormattedTextControl(header), height=Dimension.exact(1), wrap_lines=False),
                body_window,
                ConditionalContainer(
                    VSplit(
                        [
                            Window(
                                FormattedTextControl([("class:label", " label (empty clears): ")]),
                                width=Dimension.exact(23),
                            ),
                            label_window,
                        ]
                    ),
                    filter=is_editing,
                ),
                Window(FormattedTextControl(status), height=Dimension.exact(1), wrap_lines=False),
                Window(FormattedTextControl(footer), height=Dimension.exact(1), wrap_lines=False),
            ]
        ),
        focused_element=body_window,
    )
    from .selector import run_full_screen

    result: str | None = run_full_screen(layout, bindings, _STYLE, input=input, output=output)
    return result
