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
  :func:`~lime_repl.store.remove.remove_session` (the session open in this
  lime is refused at once, without asking first);
* Esc or Ctrl-C cancels.

:func:`filter_sessions` is the pure search/sort/filter step and
:class:`PickerState` the picker's model (:mod:`.picker_state`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..textsafe import safe_line
from ..views.listing import UPDATED_WIDTH, fit, path_cell, text_width, updated_cell
from .picker_state import SORT_ORDERS, PickerState, display_name, filter_sessions

if TYPE_CHECKING:
    from prompt_toolkit.formatted_text import StyleAndTextTuples

    from ..store.catalog import SessionInfo
    from ..store.session import Session
    from ..workspace import Workspace
    from .picker_frame import FirstFrame

__all__ = ["SORT_ORDERS", "PickerState", "filter_sessions", "pick_session"]

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


_FIXED = 2 + 8 + 2 + UPDATED_WIDTH + 2 + 7 + 2  # the marker, ID, UPDATED and ENTRIES cells with their gaps
_OPEN = "  (open)"


def _row(info: SessionInfo, selected: bool, current: bool, show_path: bool, width: int) -> StyleAndTextTuples:
    """One list row in ``width`` columns; with ``show_path`` the title cell has a fixed width, so the CWD
    cells line up (wide characters counted as two columns, :mod:`lime_repl.views.listing`)."""
    base = "class:cursor" if selected else ""
    title_width = max(12, (width - _FIXED) * 3 // 5) if show_path else max(12, width - _FIXED)
    mark = _OPEN if current else ""
    name = fit(display_name(info) or "(empty)", max(1, title_width - len(mark)), pad=False)
    parts: StyleAndTextTuples = [
        (base, "› " if selected else "  "),
        (f"{base} class:dim", f"{info.id[:8]}  {updated_cell(info.updated):<{UPDATED_WIDTH}}  {info.entries:>7}  "),
        (f"{base} class:title" if info.title else base, name),
    ]
    if mark:
        parts.append((f"{base} class:current", mark))
    if show_path:
        gap = " " * (title_width - text_width(name) - len(mark) + 2)
        where = path_cell(safe_line(str(info.cwd or info.path.parent)), max(1, width - _FIXED - title_width - 2))
        parts.append((f"{base} class:dim", gap + where))
    parts.append(("", "\n"))
    return parts


def pick_session(
    workspace: Workspace, *, current: Session | None = None, input: Any = None, output: Any = None
) -> Path | None:
    """Run the picker; the active log path of the chosen session, or None when cancelled.

    ``current`` is the session open in this process (it is renamed through
    that writer and never deleted).
    """
    state = PickerState(workspace, current)
    state.load()
    mode = {"now": "search"}  # search | rename | confirm
    first: dict[str, int] = {}  # the terminal's rows and columns while the first frame is drawn

    def screen_size() -> tuple[int, int]:
        if first:
            return first["rows"], first["columns"]
        from prompt_toolkit.application.current import get_app

        size = get_app().output.get_size()
        return size.rows, size.columns

    def list_height() -> int:
        return screen_size()[0] - _CHROME_ROWS

    def list_width() -> int:
        return screen_size()[1]

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
        heading = f"  {'ID':<8}  {'UPDATED':<{UPDATED_WIDTH}}  {'ENTRIES':>7}  "
        if not state.show_path:
            return [("class:dim", heading + "TITLE / FIRST MESSAGE")]
        title_width = max(12, (list_width() - _FIXED) * 3 // 5)
        return [("class:dim", heading + fit("TITLE / FIRST MESSAGE", title_width) + "  CWD")]

    def rows() -> StyleAndTextTuples:
        if not state.shown:
            hint = "no sessions match" if state.query or state.named_only else "no sessions here"
            other = "" if state.all_dirs else "; Tab shows every directory's"
            return [("class:dim", f"  {hint}{other}\n")]
        fragments: StyleAndTextTuples = []
        width = list_width()
        for i, info in state.visible(list_height()):
            fragments.extend(_row(info, i == state.index, state.is_current(info), state.show_path, width))
        return fragments

    def status() -> StyleAndTextTuples:
        if mode["now"] == "confirm" and state.selected is not None:
            info = state.selected
            return [
                ("class:status", f" delete session {info.id[:8]} ({display_name(info)[:40] or 'untitled'})? y/n")
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

    def first_frame(rows_: int, columns_: int) -> tuple[list[str], tuple[int, int]]:
        """The lines of the layout below before any key, for :mod:`.picker_frame`, and the cursor."""
        from .picker_frame import frame_lines

        first.update(rows=rows_, columns=columns_)
        try:
            height = max(0, rows_ - _CHROME_ROWS)
            listed = frame_lines([rows()], _STYLE, columns_)[:height]
            lines = [
                *frame_lines([header(), prompt(), columns()], _STYLE, columns_),
                *listed,
                *[""] * (height - len(listed)),
                *frame_lines([status(), helpline()], _STYLE, columns_),
            ]
        finally:
            first.clear()
        return lines, (1, len(prompt()[0][1]))

    frame = None
    if input is None and output is None and "prompt_toolkit.application" not in sys.modules:
        from .picker_frame import show_first_frame

        frame = show_first_frame(first_frame)  # `lime -r`: the list shows while prompt-toolkit loads
    try:
        views = _Views((header, prompt, columns, rows, status, helpline), list_height)
        return _application(state, mode, views, frame, input, output)
    finally:
        if frame is not None:
            frame.close()


class _Views:
    """The picker's windows as functions giving their formatted text, and the list's height in rows."""

    __slots__ = ("windows", "list_height")

    def __init__(self, windows: tuple[Callable[[], StyleAndTextTuples], ...], list_height: Callable[[], int]):
        self.windows = windows
        self.list_height = list_height


def _application(
    state: PickerState, mode: dict[str, str], views: _Views, frame: FirstFrame | None, input: Any, output: Any
) -> Path | None:
    """Build the prompt-toolkit application over ``views`` and run it; the chosen session's path or None."""
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.document import Document
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import ConditionalContainer, HSplit, Layout, VSplit, Window
    from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
    from prompt_toolkit.layout.dimension import Dimension

    header, prompt, columns, rows, status, helpline = views.windows
    list_height = views.list_height
    searching = Condition(lambda: mode["now"] == "search")
    renaming = Condition(lambda: mode["now"] == "rename")
    confirming = Condition(lambda: mode["now"] == "confirm")

    def on_search(buffer: Buffer) -> None:
        state.query = buffer.text
        state.refresh()

    search = Buffer(multiline=False, on_text_changed=on_search)
    rename = Buffer(multiline=False)

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
        info = state.selected
        if info is not None and state.is_current(info):
            state.status = state.open_here(info)  # said at once: a y/n that can only end in a refusal asks for nothing
        elif info is not None:
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

    if frame is not None:
        frame.handed_over = True  # prompt-toolkit redraws the first frame and leaves the alternate screen
    result: Path | None = run_full_screen(layout, bindings, _STYLE, input=input, output=output)
    return result
