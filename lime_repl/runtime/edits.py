"""The runtime's small writes to the open session and its system prompt (a part of :class:`~.session.SessionRuntime`).

:class:`SessionEdits` holds the operations that only annotate or copy out
the attached session: the leaf, labels, titles, branch summaries, a rebuilt
system prompt from the memory files (DESIGN.md section 4), copies of its
active branch (``/clone``, ``/fork``) and export. Each
write goes through :func:`~.writes.recording`, so a refused write is one
:class:`~lime_repl.errors.StoreError` and the log stays whole.
"""

from __future__ import annotations

from pathlib import Path

from ..context.memory import MemoryFile, build_system_prompt, find_memory_files
from ..paths import find_project_root
from ..store.records import Entry
from ..store.session import Session
from ..workspace import Workspace
from .writes import recording

__all__ = ["SessionEdits"]


class SessionEdits:
    """Small writes and the system prompt; :class:`~.session.SessionRuntime` provides ``current``,
    ``sync`` and ``shell_cwd``."""

    workspace: Workspace
    memory: list[MemoryFile]

    @property
    def current(self) -> Session:  # pragma: no cover - SessionRuntime's
        raise NotImplementedError

    def sync(self) -> None:  # pragma: no cover - SessionRuntime's
        raise NotImplementedError

    def shell_cwd(self) -> Path:  # pragma: no cover - SessionRuntime's
        raise NotImplementedError

    def adopt(self, session: Session) -> Session:  # pragma: no cover - SessionRuntime's
        raise NotImplementedError

    # -- copies of the active branch ----------------------------------------
    def copy_branch(self, upto: str | None) -> Session:
        """A new session holding the active branch up to ``upto`` (None: nothing), ``forkedFrom`` set; not adopted."""
        source = self.current
        self.sync()
        forked_from = {"sessionId": source.session_id, "entryId": upto or ""}
        if source.path is None:  # --no-session: the copy lives in memory too
            copy = Session.ephemeral(str(self.workspace.cwd), source.system_prompt, guard=source.output_guard)
            copy.header["forkedFrom"] = forked_from
            for entry in source.branch(upto) if upto else []:
                copy.append_copy(entry)
            return copy
        if upto is None:
            return self.workspace.create_session(system_prompt=source.system_prompt, forked_from=forked_from)
        return self.workspace.fork_session(source.path, upto)

    def clone(self) -> Session:
        """Copy the active branch up to the leaf into a new session and continue there."""
        return self.adopt(self.copy_branch(self.current.leaf_id))

    # -- memory and the system prompt ------------------------------------
    def _scan_memory(self) -> list[MemoryFile]:
        ws = self.workspace
        self.memory = find_memory_files(ws.home, find_project_root(ws.cwd, ws.env), ws.cwd)
        return self.memory

    def _system_prompt(self) -> str:
        return build_system_prompt(self._scan_memory(), self.workspace.cwd)

    def memory_files(self) -> list[MemoryFile]:
        """The memory files as they are on disk now (paths and current sizes)."""
        return self._scan_memory()

    def reload_memory(self) -> Entry:
        """Rebuild the system prompt from the memory files and record it as a ``system_prompt`` entry {``text``}.

        The transcript uses the newest ``system_prompt`` entry on the branch
        (DESIGN.md section 4), so the next request and every resume carry it.
        """
        prompt = self._system_prompt()
        with recording("the new system prompt was not recorded"):
            return self.current.append({"type": "system_prompt", "text": prompt})

    # -- small writes ----------------------------------------------------------
    def set_leaf(self, entry_id: str | None) -> Entry:
        """Move the leaf to ``entry_id`` (None: before the first entry) with a ``leaf`` entry."""
        with recording("the move was not recorded"):
            return self.current.set_leaf(entry_id)

    def label(self, entry_id: str, label: str | None) -> Entry:
        """Label ``entry_id`` (None or '' clears) with a ``label`` entry."""
        with recording("the label was not recorded"):
            return self.current.label(entry_id, label or None)

    def rename(self, title: str | None) -> Entry:
        """Set the session's title (None or '' clears) with a ``title`` entry."""
        with recording("the title was not recorded"):
            return self.current.rename(title)

    def branch_summary(self, from_id: str | None, summary: str, parent_id: str | None) -> Entry:
        """Write a ``branch_summary`` entry {``fromId``, ``summary``} under ``parent_id``; the leaf moves to it."""
        with recording("the branch summary was not recorded"):
            return self.current.append(
                {"type": "branch_summary", "fromId": from_id, "summary": summary}, parent_id=parent_id
            )

    def export(self, fmt: str | None, path: str | None, *, cwd: Path | None = None) -> Path:
        """Export the session (synced first) as ``fmt`` to ``path`` (relative to ``cwd``, default the shell's);
        see :func:`lime_repl.exchange.export.export_session` for formats, names and errors."""
        session = self.current
        self.sync()
        saved = session.path is not None and session.path.exists()
        from ..exchange.export import export_session  # loaded at the first export

        return export_session(
            session.path if saved else None,
            fmt,
            path,
            cwd=cwd or self.shell_cwd(),
            env=self.workspace.env,
            session=None if saved else session,
        )
