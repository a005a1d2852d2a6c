"""The workspace: one working directory's view of the profile, its config and its sessions.

It joins :mod:`lime_repl.paths`, :mod:`lime_repl.config` and the store, and
turns store exceptions into the user-facing :mod:`lime_repl.errors` (one line,
exit code of DESIGN.md section 7). The REPL, line mode, the command line and
the bridge all open and create sessions through it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from . import paths
from .errors import SessionLockedError, SessionNotFoundError, StoreError, UsageError
from .store.files import UnsafeFile, WriteFailed

if TYPE_CHECKING:  # imported where used: listing and search never load the writer or the config parser,
    # and a `!` line never loads the catalog
    from .config import Config
    from .store.catalog import Catalog, SessionInfo
    from .store.session import NewSessionFields, Session, StoreOptions

__all__ = ["Workspace"]


class Workspace:
    """Sessions and settings as seen from ``cwd`` with environment ``env``."""

    def __init__(self, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> None:
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.cwd = (cwd or Path.cwd()).absolute()
        self.home = paths.lime_home(self.env)
        if self.home.exists() and not self.home.is_dir():
            raise StoreError(
                f"LIME_HOME {self.home} is not a directory; point it at a directory (or unset it)"
            )
        self._where: tuple[Path, str] | None = None
        self._config: Config | None = None
        self._catalog: Catalog | None = None

    @property
    def sessions_dir(self) -> Path:
        """This directory's sessions directory (found at first use: ``--no-session`` never needs it).

        Raises :class:`StoreError` when a directory lime owns on the way is a symbolic link.
        """
        return self._sessions()[0]

    @property
    def scope(self) -> str:
        """``"project"`` or ``"global"``: where :attr:`sessions_dir` is."""
        return self._sessions()[1]

    def _sessions(self) -> tuple[Path, str]:
        if self._where is None:
            where = paths.sessions_dir_for(self.cwd, self.env)
            problem = paths.symlinked_part(where[0], self.home if where[1] == "global" else None)
            if problem is not None:
                raise StoreError(f"{problem} is a symbolic link; lime keeps sessions only in a real directory")
            self._where = where
        return self._where

    @property
    def config(self) -> Config:
        if self._config is None:
            from .config import load_config

            self._config = load_config(self.cwd, self.env)
        return self._config

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            from .store.catalog import Catalog

            self._catalog = Catalog(paths.cache_dir(self.env) / "index.sqlite")
        return self._catalog

    @property
    def catalog_warning(self) -> str | None:
        """The catalog's one-line warning (it fell back to reading the files, e.g. on a full disk), or None;
        None too when this workspace never opened its catalog."""
        return self._catalog.warning if self._catalog is not None else None

    @property
    def store_options(self) -> StoreOptions:
        from .outputs.guard import cap_system_prompt, output_guard
        from .outputs.redact import Redactor
        from .store.session import StoreOptions

        return StoreOptions(
            max_bytes=self.config.get_int("session.max_bytes", 262_144),
            backups=self.config.get_int("session.backups", 3),
            guard=output_guard,
            prompt_guard=cap_system_prompt,
            redact=None if self.config.get("redact", True) is False else Redactor(self.env),
        )

    # -- directories ---------------------------------------------------
    def local_dirs(self) -> list[tuple[Path, str]]:
        """The sessions directory of this working directory, with its scope."""
        return [(self.sessions_dir, self.scope)]

    def all_dirs(self) -> list[tuple[Path, str]]:
        """Every global sessions directory plus the project directories the catalog knows."""
        result: list[tuple[Path, str]] = []
        root = self.home / "sessions"
        try:
            with os.scandir(root) as it:
                result.extend(
                    (Path(item.path), "global") for item in it if item.is_dir(follow_symlinks=False)
                )
        except (FileNotFoundError, NotADirectoryError):
            pass
        known = {p for p, _ in result}
        for directory, scope in [*self.catalog.known_dirs(), *self.local_dirs()]:
            if directory not in known:
                known.add(directory)
                result.append((directory, scope))
        return result

    # -- sessions ------------------------------------------------------
    def list_sessions(self, everywhere: bool = False) -> list[SessionInfo]:
        """Sessions newest first: this directory's, or every directory's."""
        return self.catalog.sessions(self.all_dirs() if everywhere else self.local_dirs())

    def resolve(self, ref: str) -> Path:
        """The active log path for ``latest``, an id prefix or a path. Raises a :class:`UsageError`."""
        from .store.catalog import AmbiguousSession, SessionNotFound

        try:
            return self.catalog.resolve(ref, self.local_dirs(), self.all_dirs())
        except AmbiguousSession as exc:
            raise UsageError(str(exc)) from None
        except SessionNotFound as exc:
            raise SessionNotFoundError(str(exc)) from None

    def latest(self) -> Path | None:
        """The most recently written session of this directory, or None."""
        return self.catalog.latest(self.local_dirs())

    def create_session(self, system_prompt: str | None = None, **extra: Unpack[NewSessionFields]) -> Session:
        """A new session in this directory's sessions dir, header written. Raises :class:`StoreError`."""
        from .store.session import Session

        try:
            session = Session.create(
                self.sessions_dir,
                str(self.cwd),
                system_prompt=system_prompt,
                options=self.store_options,
                **extra,
            )
        except UnsafeFile:  # the store's own error, worded for the user
            raise
        except WriteFailed as exc:  # the store's own error; say what was being done
            exc.message = f"cannot create a session in {self.sessions_dir}: {exc.message}"
            raise
        except OSError as exc:
            raise StoreError(
                f"cannot create a session in {self.sessions_dir}: {exc.strerror or exc}"
            ) from None
        if self.scope == "project":
            self.catalog.remember_dir(self.sessions_dir, self.scope)
        return session

    def fork_session(self, source: Path, entry_id: str | None = None) -> Session:
        """Copy ``source``'s branch up to ``entry_id`` (default: its leaf) into a new session.

        The source file is only read, never written. The new header's
        ``forkedFrom`` names the source session and entry. Raises a LimeError.
        """
        original = self.load_session(source)
        leaf = entry_id or original.leaf_id
        if entry_id is not None and entry_id not in original.entries:
            raise UsageError(f"no entry {entry_id} in session {original.short_id}")
        session = self.create_session(
            system_prompt=original.system_prompt,
            forked_from={"sessionId": original.session_id, "entryId": leaf or ""},
        )
        try:
            for entry in original.branch(leaf):
                session.append_copy(entry)
            for target, label in original.labels.items():
                if target in session.entries:
                    session.label(target, label)
            session.sync()
        except OSError as exc:
            session.close()
            raise StoreError(f"cannot write the fork: {exc.strerror or exc}") from None
        return session

    def open_session(self, path: Path) -> Session:
        """Resume ``path`` as its writer. Raises :class:`SessionLockedError` (exit 3) or another LimeError."""
        from .store.segments import LockHeld
        from .store.session import Session

        try:
            return Session.open(path, options=self.store_options)
        except LockHeld as held:
            who = f"pid {held.pid}" if held.pid and held.pid > 0 else "another process"
            raise SessionLockedError(
                f"session {path.name.split('.')[0][:8]} is open in {who}; "
                f"use --fork to continue it in a new session",
                pid=held.pid,
            ) from None
        except FileNotFoundError:
            raise SessionNotFoundError(f"no session file at {path}") from None
        except UnsafeFile as exc:  # the store's own error; say that nothing was opened
            exc.message = f"{exc.message}; the session was not opened"
            raise
        except WriteFailed:  # the store's own error, worded for the user
            raise
        except OSError as exc:
            raise StoreError(f"cannot open {path}: {exc.strerror or exc}") from None

    def load_session(self, path: Path) -> Session:
        """Read ``path`` without taking its lock. Raises :class:`SessionNotFoundError` or :class:`StoreError`."""
        from .store.session import Session

        try:
            return Session.load(path)
        except FileNotFoundError:
            raise SessionNotFoundError(f"no session file at {path}") from None
        except UnsafeFile:  # the store's own error, worded for the user
            raise
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
