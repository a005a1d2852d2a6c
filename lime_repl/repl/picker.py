"""The session picker: ``lime -r`` with no value and ``/resume`` with no argument.

A full-screen prompt-toolkit list of sessions read from the catalog
(:meth:`~lime_repl.workspace.Workspace.list_sessions`: cached titles and
first messages, never the full logs), so it opens at once with thousands of
sessions (the problem of pi #3611). Keys:

* typing searches titles, first messages and ids (every word must match,
  case-insensitive); Backspace edits the search;
* Up/Down move, Page Up/Page Down move a page; Enter resumes the session;
* Tab switches between this directory's sessions and every directory's;
* Ctrl-S cycles the sort order (recent, name); Ctrl-N shows only named
  sessions; Ctrl-P toggles the working-directory column;
* Ctrl-R renames the selected session (a ``title`` entry written under the
  session's lock; a session open in another process shows that error line);
* Ctrl-D deletes it, after a y/n confirmation, with
  :func:`~lime_repl.store.remove.remove_session`;
* Esc or Ctrl-C cancels.

:func:`filter_sessions` is the pure search/sort/filter step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LimeError
from ..textsafe import safe_line

if TYPE_CHECKING:
    from prompt_toolkit.formatted_text import StyleAndTextTuples

    from ..store.catalog import SessionInfo
    from ..store.session import Session
    from ..workspace import Workspace

__all__ = ["SORT_ORDERS", "PickerState", "filter_sessions", "pick_session"]

#: The sort orders, in the order Ctrl-S cycles them.
SORT_ORDERS = ("recent", "name")

_CHROME_ROWS = 5  # header, search line, column titles, status, help
_STYLE = {
    "header": "bold reverse",
    "cursor": "reverse",
    "dim": "#888888",
    "title": "bold",
    "status": "ansired",
    "prompt": "ansicyan bold",
    "current": "ansigreen",
}


def _name(info: SessionInfo) -> str:
    """The title (else first message) on one line, made safe to print (:func:`~lime_repl.textsafe.safe_line`)."""
    return safe_line(info.title or info.first_message or "").strip()


def filter_sessions(
    sessions: Sequence[SessionInfo], query: str = "", *, named_only: bool = False, sort: str = "recent"
) -> list[SessionInfo]:
    """The sessions that match ``query`` (all words, in title, first message or id), sorted.

    ``sort`` is ``recent`` (newest first, the catalog's order) or ``name``
    (title, else first message, case-insensitive; untitled ones last).
    Raises ``ValueError`` for another sort order.
    """
    if sort not in SORT_ORDERS:
        raise ValueError(f"unknown sort order {sort!r}; one of {', '.join(SORT_ORDERS)}")
    words = query.lower().split()
    result = []
    for info in sessions:
        if named_only and not info.title:
            continue
        if words:
            haystack = f"{info.title or ''}\n{info.first_message or ''}\n{info.id}".lower()
            if not all(word in haystack for word in words):
                continue
        result.append(info)
    if sort == "name":
        result.sort(key=lambda s: (not _name(s), _name(s).casefold()))
    return result


@dataclass
class PickerState:
    """What the picker shows: the scope, the search, the sort, the selection and a status line."""

    workspace: Workspace
    current: Session | None = None
    local: list[SessionInfo] = field(default_factory=list)
    everywhere: list[SessionInfo] | None = None
    all_dirs: bool = False
    query: str = ""
    sort: str = "recent"
    named_only: bool = False
    show_path: bool = False
    shown: list[SessionInfo] = field(default_factory=list)
    index: int = 0
    top: int = 0
    status: str = ""

    def load(self) -> None:
        self.local = self.workspace.list_sessions()
        self.refresh()

    @property
    def sessions(self) -> list[SessionInfo]:
        if self.all_dirs:
            if self.everywhere is None:
                self.everywhere = self.workspace.list_sessions(everywhere=True)
            return self.everywhere
        return self.local

    @property
    def selected(self) -> SessionInfo | None:
        return self.shown[self.index] if self.shown else None

    def refresh(self, keep_selection: bool = False) -> None:
        """Recompute the shown list; the selection goes to the top unless ``keep_selection``."""
        keep = self.selected.id if self.selected and keep_selection else None
        self.shown = filter_sessions(self.sessions, self.query, named_only=self.named_only, sort=self.sort)
        ids = [s.id for s in self.shown]
        self.index = ids.index(keep) if keep in ids else 0

    def move(self, delta: int) -> None:
        if self.shown:
            self.index = max(0, min(len(self.shown) - 1, self.index + delta))

    def is_current(self, info: SessionInfo) -> bool:
        return self.current is not None and info.id == self.current.session_id

    def rename(self, title: str) -> None:
        """Write a ``title`` entry to the selected session; errors go to ``status``."""
        info = self.selected
        if info is None:
            return
        title = title.strip()
        try:
            if self.current is not None and self.is_current(info):
                self.current.rename(title or None)
            else:
                session = self.workspace.open_session(info.path)
                try:
                    session.rename(title or None)
                finally:
                    session.close()
        except LimeError as exc:
            self.status = exc.message
            return
        except OSError as exc:
            self.status = f"cannot rename {info.id[:8]}: {exc.strerror or exc}"
            return
        for listing in (self.local, self.everywhere or []):
            for other in listing:
                if other.id == info.id:
                    other.title = title or None
        self.status = (
            f"renamed {info.id[:8]} to {title!r}" if title else f"cleared the title of {info.id[:8]}"
        )
        self.refresh()

    def delete(self) -> None:
        """Delete the selected session's files; errors go to ``status``."""
        from ..store.remove import remove_session

        info = self.selected
        if info is None:
            return
        if self.is_current(info):
            self.status = f"session {info.id[:8]} is the one open here; it cannot be deleted from inside it"
            return
        try:
            remove_session(info.path)
        except LimeError as exc:
            self.status = exc.message
            return
        except OSError as exc:
            self.status = f"cannot delete {info.id[:8]}: {exc.strerror or exc}"
            return
        self.local = [s for s in self.local if s.id != info.id]
        if self.everywhere is not None:
            self.everywhere = [s for s in self.everywhere if s.id != info.id]
        self.status = f"deleted session {info.id[:8]}"
        index = self.index
        self.refresh()
        self.index = max(0, min(index, len(self.shown) - 1))

    def visible(self, height: int) -> list[tuple[int, SessionInfo]]:
        height = max(1, height)
        if self.index < self.top:
            self.top = self.index
        elif self.index >= self.top + height:
            self.top = self.index - height + 1
        self.top = max(0, min(self.top, max(0, len(self.shown) - height)))
        return [(i, self.shown[i]) for i in range(self.top, min(self.top + height, len(self.shown)))]


def _row(info: SessionInfo, selected: bool, current: bool, show_path: bool) -> StyleAndTextTuples:
    base = "class:cursor" if selected else ""
    when = info.updated[:16].replace("T", " ")
    name = _name(info) or "(empty)"
    parts: StyleAndTextTuples = [
        (base, "› " if selected else "  "),
        (f"{base} class:dim", f"{info.id[:8]}  {when:<16}  {info.entries:>6}  "),
        (f"{base} class:title" if info.title else base, name[:200]),
    ]
    if current:
        parts.append((f"{base} class:current", "  (open)"))
    if show_path:
        parts.append((f"{base} class:dim", f"  {safe_line(str(info.cwd or info.path.parent))}"))
    parts.append(("", "\n"))
    return parts


def pick_session(
    workspace: Workspace, *, current: Session | None = None, input: Any = None, output: Any = None
) -> Path | None:
    """Run the picker; the active log path of the chosen session, or None when cancelled.

    ``current`` is the session open in this process (it is renamed through
    that writer and never deleted).
    """
    from prompt_toolkit.application.current import get_app
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.document import Document
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import ConditionalContainer, HSplit, Layout, VSplit, Window
    from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
    from prompt_toolkit.layout.dimension import Dimension

    state = PickerState(workspace, current)
    state.load()
    mode = {"now": "search"}  # search | rename | confirm
    searching = Condition(lambda: mode["now"] == "search")
    renaming = Condition(lambda: mode["now"] == "rename")
    confirming = Condition(lambda: mode["now"] == "confirm")

    def on_search(buffer: Buffer) -> None:
        state.query = buffer.text
        state.refresh()

    search = Buffer(multiline=False, on_text_changed=on_search)
    rename = Buffer(multiline=False)

    def list_height() -> int:
        return get_app().output.get_size().rows - _CHROME_ROWS

    def header() -> StyleAndTextTuples:
        scope = "all directories" if state.all_dirs else "this directory"
        flags = " · named only" if state.named_only else ""
        return [
            (
                "class:header",
                f" Resume a session · {scope} · {len(state.shown)} of {len(state.sessions)}"
                f" · sort: {state.sort}{flags} ",
            )
        ]

    def prompt() -> StyleAndTextTuples:
        if mode["now"] == "rename" and state.selected is not None:
            return [("class:prompt", f" rename {state.selected.id[:8]}: ")]
        return [("class:prompt", " search: ")]

    def columns() -> StyleAndTextTuples:
        path = "  CWD" if state.show_path else ""
        return [("class:dim", f"  {'ID':<8}  {'UPDATED':<16}  {'ENTRIES':>6}  TITLE / FIRST MESSAGE{path}")]

    def rows() -> StyleAndTextTuples:
        if not state.shown:
            hint = "no sessions match" if state.query or state.named_only else "no sessions here"
            other = "" if state.all_dirs else "; Tab shows every directory's"
            return [("class:dim", f"  {hint}{other}\n")]
        fragments: StyleAndTextTuples = []
        for i, info in state.visible(list_height()):
            fragments.extend(_row(info, i == state.index, state.is_current(info), state.show_path))
        return fragments

    def status() -> StyleAndTextTuples:
        if mode["now"] == "confirm" and state.selected is not None:
            info = state.selected
            return [
                ("class:status", f" delete session {info.id[:8]} ({_name(info)[:40] or 'untitled'})? y/n")
            ]
        return [("class:status", " " + safe_line(state.status))] if state.status else []

    def helpline() -> StyleAndTextTuples:
        if mode["now"] == "rename":
            text = " Enter save (empty clears) · Esc cancel"
        else:
            text = (
                " Enter resume · Tab all dirs · Ctrl-S sort · Ctrl-N named · Ctrl-P path"
                " · Ctrl-R rename · Ctrl-D delete · Esc cancel"
            )
        return [("class:dim", text)]

    bindings = KeyBindings()

    steps = {
        "up": lambda: -1,
        "down": lambda: 1,
        "pageup": lambda: -max(1, list_height() - 1),
        "pagedown": lambda: max(1, list_height() - 1),
    }
    for key, step in steps.items():
        bindings.add(key, filter=searching)(lambda event, step=step: state.move(step()))

    @bindings.add("tab", filter=searching)
    def _scope(event: Any) -> None:
        state.all_dirs = not state.all_dirs
        state.status = ""
        state.refresh()

    @bindings.add("c-s", filter=searching)
    def _sort(event: Any) -> None:
        state.sort = SORT_ORDERS[(SORT_ORDERS.index(state.sort) + 1) % len(SORT_ORDERS)]
        state.refresh()

    @bindings.add("c-n", filter=searching)
    def _named(event: Any) -> None:
        state.named_only = not state.named_only
        state.refresh()

    @bindings.add("c-p", filter=searching)
    def _path(event: Any) -> None:
        state.show_path = not state.show_path

    @bindings.add("c-r", filter=searching)
    def _rename(event: Any) -> None:
        info = state.selected
        if info is None:
            return
        rename.set_document(Document(info.title or ""), bypass_readonly=True)
        mode["now"] = "rename"
        state.status = ""
        event.app.layout.focus(rename_window)

    @bindings.add("enter", filter=renaming)
    def _rename_done(event: Any) -> None:
        mode["now"] = "search"
        event.app.layout.focus(search_window)
        state.rename(rename.text)

    @bindings.add("c-d", filter=searching)
    def _delete(event: Any) -> None:
        if state.selected is not None:
            mode["now"] = "confirm"
            event.app.layout.focus(list_window)

    @bindings.add("<any>", filter=confirming)
    def _keep(event: Any) -> None:
        mode["now"] = "search"
        state.status = "not deleted"
        event.app.layout.focus(search_window)

    @bindings.add("y", filter=confirming)
    @bindings.add("Y", filter=confirming)
    def _confirm(event: Any) -> None:
        mode["now"] = "search"
        event.app.layout.focus(search_window)
        state.delete()

    @bindings.add("escape", filter=renaming | confirming, eager=True)
    @bindings.add("c-c", filter=renaming | confirming)
    def _back(event: Any) -> None:
        mode["now"] = "search"
        state.status = ""
        event.app.layout.focus(search_window)

    @bindings.add("enter", filter=searching)
    def _resume(event: Any) -> None:
        if state.selected is not None:
            event.app.exit(result=state.selected.path)

    @bindings.add("escape", filter=searching, eager=True)
    @bindings.add("c-c", filter=searching)
    def _cancel(event: Any) -> None:
        event.app.exit(result=None)

    search_window = Window(BufferControl(search), height=Dimension.exact(1))
    rename_window = Window(BufferControl(rename), height=Dimension.exact(1))
    list_window = Window(FormattedTextControl(rows, focusable=True, show_cursor=False), wrap_lines=False)

    layout = Layout(
        HSplit(
            [
                Window(FormattedTextControl(header), height=Dimension.exact(1), wrap_lines=False),
                VSplit(
                    [
                        Window(FormattedTextControl(prompt), width=lambda: len(prompt()[0][1])),
                        ConditionalContainer(search_window, filter=~renaming),
                        ConditionalContainer(rename_window, filter=renaming),
                    ],
                    height=Dimension.exact(1),
                ),
                Window(FormattedTextControl(columns), height=Dimension.exact(1), wrap_lines=False),
                list_window,
                Window(FormattedTextControl(status), height=Dimension.exact(1), wrap_lines=False),
                Window(FormattedTextControl(helpline), height=Dimension.exact(1), wrap_lines=False),
            ]
        ),
        focused_element=search_window,
    )
    from .selector import run_full_screen

    result: Path | None = run_full_screen(layout, bindings, _STYLE, input=input, output=output)
    return result
