"""Format versions of the session log: the reader's check and the migrations (DESIGN.md section 3).

Every ``session`` header carries ``version``, the log format it was written
in (:data:`~lime_repl.store.records.FORMAT_VERSION`; a header without one is
version 1, the first format). On read:

* a segment whose header is **older** is brought up to date in memory by
  :data:`MIGRATIONS`, applied in order (``MIGRATIONS[n]`` turns version ``n``
  entries into version ``n + 1`` entries). Each migration is a pure function
  on the list of entries; the file is never rewritten by a migration. The
  scheme is the one of pi's session manager (``migrations`` keyed by version,
  applied in order when a session is loaded);
* a session with any segment **newer** than this lime reads is refused whole
  with :class:`NewerFormat`, before its lock is taken, before a torn tail is
  repaired and before a single entry is replayed, so it is never half-read and
  never written to. Listing still shows it; resume, show and export refuse.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import StoreError
from .files import open_file
from .records import FORMAT_VERSION, Entry, parse_line

__all__ = ["MIGRATIONS", "NewerFormat", "Migration", "header_version", "migrate", "refuse_newer"]

#: A migration: the entries of one segment in format ``n`` -> the same entries in format ``n + 1``.
Migration = Callable[[list[Entry]], list[Entry]]

#: ``MIGRATIONS[n]`` upgrades format ``n`` to ``n + 1``. Format 1 is the current one: nothing to do yet.
MIGRATIONS: Mapping[int, Migration] = {}

#: The longest first line read to find a segment's version (the header holds the system prompt).
_HEADER_LIMIT = 16 * 1024 * 1024


class NewerFormat(StoreError):
    """A session log written by a newer lime: exit 1, the log is left exactly as it is.

    ``version`` is the newest format found in its headers.
    """

    def __init__(self, path: Path, version: int) -> None:
        super().__init__(
            f"session {path.name.split('.jsonl')[0][:8]} was written by a newer lime "
            f"(format {version}, this one reads up to {FORMAT_VERSION}); it was not opened"
        )
        self.version = version


def header_version(entry: Entry) -> int:
    """The format of a ``session`` header: its integer ``version``, 1 when absent or not an integer."""
    value = entry.get("version")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else 1


def _first_line_version(path: Path) -> int | None:
    try:
        fd = open_file(path, os.O_RDONLY)
    except OSError:
        return None  # gone or unsafe: the reader reports it
    with os.fdopen(fd, "rb") as fh:
        line = fh.readline(_HEADER_LIMIT)
    try:
        entry = parse_line(line)
    except ValueError:
        return None
    return header_version(entry) if entry.get("type") == "session" else None


def refuse_newer(paths: list[Path], active: Path) -> None:
    """Raise :class:`NewerFormat` when any segment in ``paths`` opens with a header newer than this lime.

    Reads only the first line of each file; writes nothing.
    """
    versions = [v for v in (_first_line_version(p) for p in paths) if v is not None]
    newest = max(versions, default=FORMAT_VERSION)
    if newest > FORMAT_VERSION:
        raise NewerFormat(active, newest)


def migrate(
    entries: list[Entry],
    version: int,
    *,
    current: int = FORMAT_VERSION,
    migrations: Mapping[int, Migration] = MIGRATIONS,
) -> list[Entry]:
    """``entries`` of a segment written in format ``version``, upgraded to format ``current``.

    Applies ``migrations[version]``, ``migrations[version + 1]``, ... ``migrations[current - 1]``
    in order; a missing step is an identity. Raises ``ValueError`` when ``version`` is newer
    than ``current`` (readers refuse those with :func:`refuse_newer` first).
    """
    if version > current:
        raise ValueError(f"format {version} is newer than {current}")
    for step in range(version, current):
        upgrade = migrations.get(step)
        if upgrade is not None:
            entries = upgrade(entries)
    return entries
