"""Every location lime reads or writes (DESIGN.md section 2).

All functions are pure functions of their arguments and the environment
mapping passed in (``os.environ`` by default); none creates anything except
:func:`ensure_dir`, which creates directories with mode 0700.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "cache_dir",
    "config_dir",
    "cwd_key",
    "ensure_dir",
    "find_project_root",
    "global_sessions_dir",
    "history_path",
    "lime_home",
    "log_path",
    "sessions_dir_for",
    "symlinked_part",
]

DIR_MODE = 0o700
FILE_MODE = 0o600


def lime_home(env: Mapping[str, str] | None = None) -> Path:
    """The profile root: ``$LIME_HOME`` or ``~/.lime``."""
    env = os.environ if env is None else env
    value = env.get("LIME_HOME")
    return Path(value).expanduser() if value else Path.home() / ".lime"


def cwd_key(cwd: str | os.PathLike[str]) -> str:
    """A readable, unique directory name for a working directory.

    ``/home/ann/src/app`` -> ``home-ann-src-app-1a2b3c4d``: the path's
    characters outside ``[A-Za-z0-9._-]`` become ``-``, the slug is cut to its
    last 48 characters, and 8 hex of the path's sha256 keep it unique.
    """
    import hashlib  # here: OpenSSL's load is a start-up cost only a recorded session pays

    text = os.fspath(cwd)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[-48:].lstrip("-") or "root"
    digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{slug}-{digest}"


def find_project_root(cwd: Path, env: Mapping[str, str] | None = None) -> Path | None:
    """The nearest directory at or above ``cwd`` that holds a ``.lime/`` folder.

    The profile root itself never counts: a ``.lime`` folder that *is* the
    profile root (``~/.lime``) is skipped, so the home directory is not a project.
    """
    home = lime_home(env)
    try:
        home_resolved = home.resolve()
    except OSError:
        home_resolved = home
    for directory in (cwd, *cwd.parents):
        candidate = directory / ".lime"
        if candidate.is_dir():
            try:
                if candidate.resolve() == home_resolved:
                    continue
            except OSError:
                continue
            return directory
    return None


def global_sessions_dir(cwd: Path, env: Mapping[str, str] | None = None) -> Path:
    """``<home>/sessions/<cwd-key>/``: where a directory's global sessions live."""
    return lime_home(env) / "sessions" / cwd_key(cwd)


def sessions_dir_for(cwd: Path, env: Mapping[str, str] | None = None) -> tuple[Path, str]:
    """The sessions directory for ``cwd`` and its scope (``"project"`` or ``"global"``)."""
    root = find_project_root(cwd, env)
    if root is not None:
        return root / ".lime" / "sessions", "project"
    return global_sessions_dir(cwd, env), "global"


def symlinked_part(sessions_dir: Path, home: Path | None = None) -> Path | None:
    """The first directory lime owns on the way to ``sessions_dir`` that is a symlink, or None.

    For a project (``home`` None) that is ``<root>/.lime`` and
    ``<root>/.lime/sessions``; for the global store ``<home>/sessions`` and
    ``<home>/sessions/<cwd-key>``. ``LIME_HOME`` itself may be a symlink (the
    user chose it). Missing directories are fine: lime creates them.
    """
    parts = [sessions_dir.parent, sessions_dir]
    if home is not None:
        parts = [home / "sessions", sessions_dir]
    for part in parts:
        if part.is_symlink():
            return part
    return None


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """Directory of the derived catalog: ``$LIME_HOME/cache`` or the platform cache dir."""
    env = os.environ if env is None else env
    if env.get("LIME_HOME"):
        return lime_home(env) / "cache"
    import appdirs

    return Path(appdirs.user_cache_dir("lime"))


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The platform config directory (``appdirs.user_config_dir("lime")``)."""
    import appdirs

    return Path(appdirs.user_config_dir("lime"))


def history_path(cwd: Path, env: Mapping[str, str] | None = None) -> Path:
    """Per-directory input history: ``<home>/history/<cwd-key>.txt``."""
    return lime_home(env) / "history" / f"{cwd_key(cwd)}.txt"


def log_path(env: Mapping[str, str] | None = None) -> Path:
    """The program log: ``<home>/logs/lime.log``."""
    return lime_home(env) / "logs" / "lime.log"


def ensure_dir(path: Path) -> Path:
    """Create ``path`` and missing parents with mode 0700; return it.

    Existing directories keep their mode. Raises ``OSError`` when it cannot.
    """
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(d, DIR_MODE)
    return path
