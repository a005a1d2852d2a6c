"""Re-importing a source updates the session imported from it instead of making a second copy.

:func:`import_or_update` reads the source (:func:`~.import_.read_source`)
and looks for a session whose header ``importedFrom`` names the same source:
the same ``tool`` and, when the source has an id, the same ``id``; otherwise
the same ``path`` (file sources are named by their absolute path). Then:

* no such session: a new one is written (:func:`~.import_.write_imported`);
* every entry read is already in it: nothing is written ("already imported");
* the source grew (a foreign tool kept writing): the entries after the last
  one already imported are appended, their parents and references mapped onto
  the ids the earlier import gave, the title and leaf updated ("added N entries").
  They pass the same shape check and entry guard as a first import's; a Claude
  Code log is read line by line for this too (:func:`~.stream.import_streamed`).

Entries are matched in order by their content without ids, parents and
timestamps (foreign readers give fresh ids on every read, so ids cannot be
compared), each new entry taken as it would be stored (redacted and capped by
:func:`~lime_repl.store.entry_guard.guard_entry`): the longest prefix of the new read found, in order, among the
session's entries is what was imported before. Entries lime wrote into the
session since (a continued conversation, titles, leaf moves) are passed over.
"""

from __future__ import annotations

import json
import os
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from ..outputs.guard import guard_entry
from ..store.records import Entry, new_entry_id
from .foreign.common import Imported
from .guard import import_cap
from .import_ import ImportResult, import_redactor, read_source, write_imported
from .shapes import MALFORMED, checked

if TYPE_CHECKING:
    from ..store.session import Session
    from ..workspace import Workspace

__all__ = ["ImportOutcome", "find_previous", "import_or_update", "is_foreign_file", "source_name"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_REFS = ("targetId", "firstKeptEntryId", "fromId")
_IGNORED = frozenset({"id", "parentId", "timestamp", *_REFS})


@dataclass
class ImportOutcome:
    """What :func:`import_or_update` did: ``status`` is ``new``, ``unchanged`` or ``updated``."""

    result: ImportResult
    status: str
    added: int = 0
    more: list[ImportOutcome] = field(default_factory=list)  # the other sessions of a multi-session file


def source_name(source: str) -> str:
    """``source`` as recorded in ``importedFrom.path``: a URL as given, a local path made absolute."""
    if _URL.match(source):
        return source
    return str(Path(source).expanduser().absolute())


def is_foreign_file(ref: str) -> bool:
    """True when ``ref`` names an existing file that is not a lime log (its first line is no lime header).

    ``lime -r`` imports such a file rather than opening it as a session, so it
    is only ever read: no entry is appended to it and no ``.lock`` is made beside it.
    """
    from .lime_reader import is_lime_header

    if _URL.match(ref):
        return False
    path = Path(ref).expanduser()
    if not path.is_file():
        return False
    return not is_lime_header(_header(path))


def _header(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as fh:
            first = fh.readline(1 << 20)
        value = json.loads(first)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def find_previous(workspace: Workspace, imported: Imported, *, several: bool = False) -> Path | None:
    """The newest session imported from the same source as ``imported`` (see the module doc), or None.

    ``several``: the source holds several sessions (an aider history), so a
    session without an id is matched by its path and its ``created`` time.
    """
    found: list[tuple[int, Path]] = []
    seen: set[Path] = set()
    for directory, _ in [*workspace.local_dirs(), *workspace.all_dirs()]:
        if directory in seen:
            continue
        seen.add(directory)
        try:
            names = [n for n in os.listdir(directory) if n.endswith(".jsonl")]
        except OSError:
            continue
        for name in names:
            path = directory / name
            origin = (_header(path) or {}).get("importedFrom")
            if not isinstance(origin, dict) or origin.get("tool") != imported.tool:
                continue
            same = (
                origin.get("id") == imported.source_id
                if imported.source_id
                else not origin.get("id")
                and origin.get("path") == imported.path
                and (not several or origin.get("created") == imported.created)
            )
            if same:
                try:
                    found.append((path.stat().st_mtime_ns, path))
                except OSError:
                    continue
    return max(found)[1] if found else None


def _signature(entry: Entry) -> str:
    body = {k: v for k, v in entry.items() if k not in _IGNORED}
    data = body.get("data")
    if body.get("customType") == MALFORMED and isinstance(data, dict):  # the kept entry's own ids and time
        body["data"] = {k: v for k, v in data.items() if k not in _IGNORED}
    if isinstance(body.get("shell"), dict):
        body["shell"] = {k: v for k, v in body["shell"].items() if k != "exchange"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)


class _Tail:
    """Appends the entries after the matched prefix, their ids and references mapped onto the session's.

    An id the session (or an earlier new entry) already uses gets a fresh one;
    a reference is mapped when it is first met, so it may name an entry that
    comes later. Each entry passes the shape check first (:func:`~.shapes.checked`),
    as on a first import; the session's entry guard runs as it is appended.
    """

    def __init__(self, session: Session, mapping: dict[str, str]) -> None:
        self.session = session
        self.mapping = mapping
        self.taken = set(session.entries) | set(mapping.values())
        self.malformed: list[str] = []
        self.count = 0

    def _map(self, entry_id: str) -> str:
        mapped = self.mapping.get(entry_id)
        if mapped is None:
            mapped = entry_id if entry_id not in self.taken else new_entry_id(self.taken)
            self.mapping[entry_id] = mapped
            self.taken.add(mapped)
        return mapped

    def copies(self, entries: Iterable[Entry]) -> Iterator[Entry]:
        for entry in entries:
            entry, reason = checked(entry)
            if reason is not None:
                self.malformed.append(f"{entry.get('id')}: {reason}")
            copy = dict(entry)
            copy["id"] = self._map(str(entry.get("id")))
            for key in ("parentId", *_REFS):
                if isinstance(copy.get(key), str):
                    copy[key] = self._map(copy[key])
            if isinstance(copy.get("shell"), dict) and isinstance(copy["shell"].get("exchange"), str):
                copy["shell"] = dict(copy["shell"], exchange=self._map(copy["shell"]["exchange"]))
            self.count += 1
            yield copy


def _update(
    workspace: Workspace, path: Path, imported: Imported, entries: Iterable[Entry] | None = None
) -> ImportOutcome:
    """Bring the session at ``path`` up to date with ``entries`` (default ``imported.entries``).

    ``entries`` may be an iterator that reads the source as it goes
    (:func:`~.stream.import_streamed`): the prefix found in the session is
    matched one entry at a time, so only the entries to append are held (until
    the source's end, so that a source refused half-way appends nothing).
    ``imported``'s title and leaf are read after the last entry.
    """
    session = workspace.open_session(path)
    session.redact = import_redactor(workspace)
    segment_bytes = workspace.store_options.max_bytes
    tail = _Tail(session, {})
    try:
        positions: dict[str, list[int]] = {}
        old = list(session.entries.values())
        for index, entry in enumerate(old):
            positions.setdefault(_signature(entry), []).append(index)
        source = iter(imported.entries if entries is None else entries)
        cursor = 0
        for entry in source:
            # A new entry is compared as it would be stored (redacted with ``session.redact`` and capped).
            stored = guard_entry(checked(entry)[0], segment_bytes=segment_bytes, redact=session.redact)
            candidates = positions.get(_signature(stored), [])
            at = bisect_left(candidates, cursor)
            if at == len(candidates):
                source = chain([entry], source)  # the first entry not imported before
                break
            cursor = candidates[at] + 1
            tail.mapping[str(entry.get("id"))] = old[candidates[at]]["id"]
        del positions, old
        tail.taken |= set(tail.mapping.values())
        # The new entries are held until the source is read to its end, so a source refused
        # half-way (a line that is not UTF-8) appends nothing.
        session.append_copies(list(tail.copies(source)), keep=False)
        if tail.count:
            if imported.title and session.title != imported.title:
                session.rename(imported.title)
            leaf = tail.mapping.get(imported.leaf_id, imported.leaf_id) if imported.leaf_id else None
            if leaf is not None and leaf in session.entries and session.leaf_id != leaf:
                session.set_leaf(leaf)
    except (OSError, ValueError, TypeError) as exc:
        raise StoreError(
            f"cannot update the imported session: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    finally:
        session.close()
    warnings = list(imported.warnings)
    if tail.malformed:
        warnings.append(
            f"kept {len(tail.malformed)} entries of the wrong shape as custom entries"
            f" (first: {tail.malformed[0]})"
        )
    result = ImportResult(
        session.session_id,
        path,
        imported.tool,
        imported.source_id,
        len(session.entries),
        session.title,
        warnings,
    )
    return ImportOutcome(result, "updated" if tail.count else "unchanged", tail.count)


def import_or_update(workspace: Workspace, source: str, *, timeout: float | None = None) -> ImportOutcome:
    """Import ``source``, or bring the session imported from it up to date (see the module doc).

    Raises what :func:`~.import_.import_source` raises, and
    :class:`~lime_repl.errors.SessionLockedError` when that session is open elsewhere.
    """
    name, cap = source_name(source), import_cap(workspace.env)
    if not _URL.match(name):
        from .stream import import_streamed

        streamed = import_streamed(
            workspace,
            Path(name),
            cap,
            lambda one: find_previous(workspace, one),
            lambda path, one, entries: _update(workspace, path, one, entries),
        )
        if isinstance(streamed, ImportOutcome):  # an update of the session imported before
            return streamed
        if streamed is not None:  # a first import of a Claude Code log, written as it was read
            return ImportOutcome(streamed, "new")
    imported = read_source(name, cap=cap, timeout=timeout)
    several = bool(imported.more)
    outcomes = [_one(workspace, one, several) for one in [imported, *imported.more]]
    outcomes[0].more = outcomes[1:]
    return outcomes[0]


def _one(workspace: Workspace, imported: Imported, several: bool) -> ImportOutcome:
    previous = find_previous(workspace, imported, several=several)
    if previous is None:
        return ImportOutcome(write_imported(workspace, imported), "new")
    return _update(workspace, previous, imported)
