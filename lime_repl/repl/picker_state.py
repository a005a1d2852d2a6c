"""The picker's model: which sessions it lists, in what order, what is selected, and its writes.

:func:`filter_sessions` is the pure search/sort/filter step; :class:`PickerState`
holds the scope, search, sort and selection of :mod:`.picker` and does its
rename and delete (errors go to its status line, never raise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import LimeError
from ..textsafe import safe_line

if TYPE_CHECKING:
    from ..store.catalog import SessionInfo
    from ..store.session import Session
    from ..workspace import Workspace

__all__ = ["SORT_ORDERS", "PickerState", "display_name", "filter_sessions"]

#: The sort orders, in the order Ctrl-S cycles them.
SORT_ORDERS = ("recent", "name")


def display_name(info: SessionInfo) -> str:
    """The display title (:attr:`SessionInfo.display`: the title, else the first prompt, never markup) on
    one line, made safe to print (:func:`~lime_repl.textsafe.safe_line`)."""
    return safe_line(info.display or "").strip()


def filter_sessions(
    sessions: Sequence[SessionInfo], query: str = "", *, named_only: bool = False, sort: str = "recent"
) -> list[SessionInfo]:
    """The sessions that match ``query`` (all words, in title, first message or id), sorted.

    ``sort`` is ``recent`` (newest first, the catalog's order) or ``name``
    (sessions with a title by title, case-insensitive; then the untitled
    ones, newest first, the way they are listed by ``recent``).
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
        result.sort(key=lambda s: (0, safe_line(s.title).strip().casefold()) if s.title else (1, ""))
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
        self.refresh(keep_selection=True)  # the renamed row stays selected, wherever the sort moves it

    @staticmethod
    def open_here(info: SessionInfo) -> str:
        """The status line for a delete of the session open in this lime."""
        return f"session {info.id[:8]} is open here; it cannot be deleted from inside it (/new first)"

    def delete(self) -> None:
        """Delete the selected session's files; errors go to ``status``."""
        from ..store.remove import remove_session

        info = self.selected
        if info is None:
            return
        if self.is_current(info):
            self.status = self.open_here(info)
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
