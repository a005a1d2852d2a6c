"""The sessions a bridge holds open, the workspaces they live in, and how a ``sessionId`` is resolved.

A ``sessionId`` (DESIGN.md section 4c; docs/bridge.md, "Sessions") is first
matched against the open sessions, by full id or by a unique id prefix, and
then resolved the way ``lime -r`` resolves it (id, prefix, ``latest`` or a
``.jsonl`` path) in the bridge's own directory. Methods that write need an
open session (:meth:`OpenSessions.writable`); methods that read take any
session, loading it from disk without its lock when it is not open here
(:meth:`OpenSessions.readable`). Unknown and ambiguous references raise
:class:`~lime_repl.errors.UsageError` subclasses (code 2).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SessionNotFoundError, UsageError
from ..logsetup import get_logger
from ..runtime.session import SessionRuntime
from ..store.session import Session
from ..workspace import Workspace

__all__ = ["OpenSessions"]

log = get_logger()


class OpenSessions:
    """Open sessions by id. ``workspace`` is the bridge's directory; ``make_engine`` builds an engine for a workspace."""

    def __init__(self, workspace: Workspace, make_engine: Callable[[Workspace], SessionRuntime]) -> None:
        self.workspace = workspace
        self.engines: dict[str, SessionRuntime] = {}
        self._make_engine = make_engine
        self._workspaces: dict[Path, Workspace] = {workspace.cwd: workspace}

    # -- workspaces ------------------------------------------------------
    def workspace_for(self, cwd: Path) -> Workspace:
        """The (cached) workspace of directory ``cwd``, relative to the bridge's directory."""
        cwd = (self.workspace.cwd / cwd).absolute()
        if cwd not in self._workspaces:
            self._workspaces[cwd] = Workspace(cwd, self.workspace.env)
        return self._workspaces[cwd]

    def session_workspace(self, path: Path) -> Workspace:
        """The workspace of the directory the session at ``path`` was started in (its header's ``cwd``).

        Falls back to the bridge's workspace when the header cannot be read or
        the directory no longer exists.
        """
        try:
            with open(path, "rb") as fh:
                header = json.loads(fh.readline())
        except (OSError, ValueError):
            return self.workspace
        cwd = header.get("cwd") if isinstance(header, dict) and header.get("type") == "session" else None
        if isinstance(cwd, str) and os.path.isdir(cwd):
            return self.workspace_for(Path(cwd))
        return self.workspace

    # -- engines ---------------------------------------------------------
    def new_engine(self, workspace: Workspace) -> SessionRuntime:
        """An engine without a session yet; give it one, then :meth:`add` it."""
        return self._make_engine(workspace)

    def add(self, engine: SessionRuntime) -> dict[str, Any]:
        """Hold ``engine``'s session open; returns ``{"sessionId", "path"}``."""
        session = engine.current
        self.engines[session.session_id] = engine
        return {"sessionId": session.session_id, "path": str(session.path)}

    def close(self, engine: SessionRuntime) -> None:
        """Close one open session (sync, stop its shell, release its lock)."""
        for session_id, held in list(self.engines.items()):
            if held is engine:
                del self.engines[session_id]
        engine.close()

    def rekey(self, engine: SessionRuntime) -> None:
        """Hold ``engine`` under its current session id (a slash command switched it to a fork or clone)."""
        for session_id, held in list(self.engines.items()):
            if held is engine and session_id != engine.current.session_id:
                del self.engines[session_id]
        self.engines[engine.current.session_id] = engine

    def close_all(self) -> None:
        """Close every open session; a failure is logged and the others are still closed."""
        for session_id in list(self.engines):
            engine = self.engines.pop(session_id)
            try:
                engine.close()
            except Exception:
                log.error("bridge: closing session %s failed", session_id, exc_info=True)

    # -- resolving -------------------------------------------------------
    def find(self, ref: str) -> SessionRuntime | None:
        """The open session ``ref`` names by full id or unique id prefix, or None.

        Raises :class:`UsageError` when the prefix matches several open sessions.
        """
        if ref in self.engines:
            return self.engines[ref]
        prefix = ref.lower()
        matches = [e for sid, e in self.engines.items() if sid.startswith(prefix)] if prefix else []
        if len(matches) > 1:
            shown = ", ".join(sorted(e.current.session_id[:12] for e in matches))
            raise UsageError(f"session prefix '{ref}' is ambiguous: {shown}")
        return matches[0] if matches else None

    def by_path(self, path: Path) -> SessionRuntime | None:
        """The open session whose active file is ``path``, or None."""
        return next((e for e in self.engines.values() if e.current.path == path), None)

    def resolve(self, ref: str) -> tuple[SessionRuntime | None, Path]:
        """``(open engine or None, active file)`` for ``ref``. Raises a UsageError (code 2) when unknown."""
        engine = self.find(ref)
        if engine is not None:
            assert engine.current.path is not None
            return engine, engine.current.path
        path = self.workspace.resolve(ref)
        return self.by_path(path), path

    def writable(self, ref: str) -> SessionRuntime:
        """The open session for a method that writes. Raises code 2 when unknown or not open here."""
        engine, path = self.resolve(ref)
        if engine is None:
            raise SessionNotFoundError(
                f"session {path.name.split('.')[0][:8]} is not open in this bridge: open it with session.resume"
            )
        return engine

    def readable(self, ref: str) -> tuple[Session, Workspace]:
        """A session to read and its workspace: the open one, else loaded from disk without its lock."""
        engine, path = self.resolve(ref)
        if engine is not None:
            return engine.current, engine.workspace
        workspace = self.session_workspace(path)
        return workspace.load_session(path), workspace
