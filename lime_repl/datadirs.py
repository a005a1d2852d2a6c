"""Where lime keeps its data, how much there is, and removing it (``lime data``, ``lime uninstall``).

The locations are those of :mod:`lime_repl.paths` (DESIGN.md section 2):

==============  =========================================  ==============================================
name            path                                       holds
==============  =========================================  ==============================================
sessions        ``$LIME_HOME/sessions/``                   global session logs, one directory per cwd
project         ``<project>/.lime/sessions/`` (if any)     this project's session logs (never removed)
catalog         ``index.sqlite`` in the cache dir          listings and search index; derived
history         ``$LIME_HOME/history/``                    input history, one file per directory
program log     ``$LIME_HOME/logs/``                       ``lime.log`` and its rotated copies
config          ``$LIME_HOME/config.toml``                 settings of the profile
user config     the platform config dir's ``config.toml``  settings for every profile
==============  =========================================  ==============================================

Sizes and counts are of regular files, found without following symbolic
links. Removal deletes only these locations (never ``$LIME_HOME`` as a
whole, which may be any directory the user named), skips a location that is
itself a symbolic link, and removes ``$LIME_HOME`` at the end only if it is
then an empty directory. A project's ``.lime/sessions`` lives in the user's
own tree and is listed, not removed.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import paths

__all__ = ["Location", "locations", "measure", "pip_uninstall_command", "remove_data"]


@dataclass(frozen=True)
class Location:
    """One place lime writes: ``name``, ``path``, what it ``holds``, and whether ``lime uninstall`` removes it."""

    name: str
    path: Path
    holds: str
    removable: bool = True


def locations(cwd: Path, env: Mapping[str, str] | None = None) -> list[Location]:
    """Every location of the profile given by ``env`` (``os.environ`` by default), seen from ``cwd``."""
    home = paths.lime_home(env)
    found = [
        Location("sessions", home / "sessions", "session logs (.jsonl, rotated .N, .lock, .torn), one directory per cwd"),
        Location("catalog", paths.cache_dir(env), "listing and full-text index (index.sqlite); derived, safe to delete"),
        Location("history", home / "history", "input history, one file per working directory"),
        Location("program log", home / "logs", "lime.log and its rotated copies"),
        Location("config", home / "config.toml", "settings of this profile"),
        Location("user config", paths.config_dir(env), "config.toml for every profile"),
    ]
    root = paths.find_project_root(cwd, env)
    if root is not None:
        found.insert(1, Location("project", root / ".lime" / "sessions", "this project's session logs", False))
    return found


def measure(path: Path) -> tuple[int, int, str]:
    """``(files, bytes, state)`` of ``path``: regular files under it (symlinks not followed) and their size.

    ``state`` is ``"missing"``, ``"symlink"`` (then nothing is counted),
    ``"file"`` or ``"dir"``. Unreadable parts are skipped.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return 0, 0, "missing"
    if stat.S_ISLNK(st.st_mode):
        return 0, 0, "symlink"
    if not stat.S_ISDIR(st.st_mode):
        return (1, st.st_size, "file") if stat.S_ISREG(st.st_mode) else (0, 0, "file")
    files = size = 0
    for top, _dirs, names in os.walk(path, followlinks=False):
        for name in names:
            try:
                item = os.lstat(os.path.join(top, name))
            except OSError:
                continue
            if stat.S_ISREG(item.st_mode):
                files += 1
                size += item.st_size
    return files, size, "dir"


def pip_uninstall_command() -> str:
    """The command that removes the package from the Python environment lime runs in."""
    return f"{sys.executable} -m pip uninstall lime-repl"


def _owned(location: Location, home: Path) -> bool:
    """Whether ``location`` is lime's own: inside the profile, or a platform directory named ``lime``."""
    path = location.path
    return path.parent == home or path.parent.parent == home or path.name == "lime"


def remove_data(cwd: Path, env: Mapping[str, str] | None = None) -> list[str]:
    """Delete every removable location of the profile; one line per location, saying what happened.

    A location that is a symbolic link is left alone (its target is not
    lime's to delete), as is one outside the profile not named ``lime``.
    Raises nothing: a part that cannot be deleted is reported in its line.
    """
    home = paths.lime_home(env)
    report = []
    for location in locations(cwd, env):
        files, size, state = measure(location.path)
        if not location.removable:
            report.append(f"kept {location.name}: {location.path} (in your project; delete it yourself if you wish)")
        elif state == "missing":
            continue
        elif state == "symlink" or not _owned(location, home):
            report.append(f"left {location.name}: {location.path} is a symbolic link or not lime's own directory")
        else:
            try:
                if state == "dir":
                    shutil.rmtree(location.path)
                else:
                    os.unlink(location.path)
                report.append(f"removed {location.name}: {location.path} ({files} files, {size} bytes)")
            except OSError as exc:
                report.append(f"could not remove {location.name}: {location.path}: {exc.strerror or exc}")
    try:
        if not stat.S_ISLNK(os.lstat(home).st_mode):
            os.rmdir(home)  # only when nothing else is left in it
            report.append(f"removed {home}")
    except OSError:
        pass
    return report
