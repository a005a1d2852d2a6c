"""Writing an imported session: the new session's header, its entries through the guard, the result.

Shared by :mod:`.import_` (whole-file reads) and :mod:`.stream` (written while read), so neither
imports the other. Every entry passes the shape check (:func:`~.shapes.checked`: a wrong-shaped
record is kept as a ``custom`` entry) and the session's entry guard (redaction before capping, valid
UTF-8); an imported session keeps every segment (``retain: 0``, DESIGN.md section 3, Retention).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from ..store.bulk import SCAN_BATCH, chunks
from ..store.records import Entry, now_rfc3339
from .foreign.common import Imported, to_rfc3339
from .shapes import checked

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["ImportResult", "checked_batches", "import_redactor", "write_imported"]


@dataclass
class ImportResult:
    """What an import wrote: the new session's id and path, the source tool, entry count, warnings."""

    session_id: str
    path: Path
    tool: str
    source_id: str | None
    entries: int
    title: str | None
    warnings: list[str] = field(default_factory=list)
    more: list[ImportResult] = field(default_factory=list)  # the other sessions of a multi-session file


def _mtime(path: Path) -> str:
    try:
        return to_rfc3339(path.lstat().st_mtime) or now_rfc3339()
    except OSError:
        return now_rfc3339()


# -- writing -----------------------------------------------------------------------
def _lime_system_prompt(workspace: Workspace) -> str:
    from ..context.memory import build_system_prompt, find_memory_files
    from ..paths import find_project_root

    memory = find_memory_files(workspace.home, find_project_root(workspace.cwd, workspace.env), workspace.cwd)
    return build_system_prompt(memory, workspace.cwd)


def import_redactor(workspace: Workspace) -> Any:
    """The redaction an imported session is stored with (``str -> str``), or None when ``redact = false``.

    Imported text is stored like every other text lime stores: redacted before it is
    capped (DESIGN.md section 2, "Security"; issue "Real input never breaks a session", item 11).
    """
    if workspace.config.get("redact", True) is False:
        return None
    from ..outputs.redact import Redactor, use_rules_cache
    from ..paths import cache_dir

    # The rules from lime's cache, made by any REPL, print or bridge run: then detect-secrets is not
    # imported. Read only: an import writes no file but its session's.
    use_rules_cache(cache_dir(workspace.env) / "redact-rules.json", write=False)
    return Redactor(workspace.env)


def checked_batches(
    batches: Iterable[list[Entry]], malformed: list[str], shaped: Callable[[Entry], bool] | None
) -> Iterator[list[Entry]]:
    """``batches`` (lists of entries, changed in place) with each wrong-shaped entry kept as a ``custom``
    entry (:func:`checked`); notes go to ``malformed``. ``shaped``: the reader's word that an entry it
    built has its shape (not checked again)."""
    for batch in batches:
        for i, entry in enumerate(batch):
            if shaped is not None and shaped(entry):
                continue
            batch[i], reason = checked(entry)
            if reason is not None:
                malformed.append(f"{entry.get('id')}: {reason}")
        yield batch


def write_imported(
    workspace: Workspace,
    imported: Imported,
    *,
    entries: Iterable[Entry] | None = None,
    batches: Iterable[list[Entry]] | None = None,
    serialize: Callable[[Sequence[Entry]], list[bytes | None]] | None = None,
    shaped: Callable[[Entry], bool] | None = None,
    malformed: list[str] | None = None,
) -> ImportResult:
    """Create the new session from ``imported``, every text redacted (unless ``redact = false``) and capped.

    Raises :class:`StoreError`; a failed write leaves no file.

    ``entries`` (default ``imported.entries``) may be an iterator that reads
    the source as it is written (:func:`~lime_repl.exchange.stream.import_streamed`),
    filling in ``imported``'s title, labels and leaf when it ends; anything it
    raises discards the session. ``batches`` (lists of entries), when given, are
    written instead of ``entries``;
    ``serialize`` (:meth:`~.codec.LineCodec.dump_many`) the JSON of a batch's entries before they are
    guarded, where it can;
    ``shaped`` (:meth:`~.foreign.claude_chain.ClaudeReader.shaped`) says which entries need no shape check.
    ``malformed``, when given, says that ``batches`` were shape-checked as they were made
    (:func:`checked_batches`), the notes of that check going to this list, filled in by the batches' end.
    """
    # The entries, nodes and lines of an import hold no reference cycles and are freed by reference
    # counting; the cyclic collector would only walk the growing node map again and again (about a
    # tenth of a large import's time), so it pauses while the entries are written, and resumes once
    # the session is closed and freed: resumed before, its first collection would walk every node
    # (55 ms for a 50 MB log's 196,000).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _write_imported(workspace, imported, entries, batches, serialize, shaped, malformed)
    finally:
        if collecting:
            gc.enable()


def _write_imported(
    workspace: Workspace,
    imported: Imported,
    entries: Iterable[Entry] | None,
    batches: Iterable[list[Entry]] | None,
    serialize: Callable[[Sequence[Entry]], list[bytes | None]] | None,
    shaped: Callable[[Entry], bool] | None,
    malformed: list[str] | None,
) -> ImportResult:
    origin: dict[str, str] = {"tool": imported.tool, "id": imported.source_id or "", "path": imported.path}
    if imported.cwd:
        origin["cwd"] = imported.cwd
    if imported.created:
        origin["created"] = imported.created
    prompt = imported.system_prompt if imported.tool == "lime" else _lime_system_prompt(workspace)
    redactor = import_redactor(workspace)
    # retain=0: another tool's history is never pruned by rotation (DESIGN.md section 3, Retention).
    session = workspace.create_session(system_prompt=prompt, imported_from=origin, retain=0)
    session.redact = redactor
    if batches is None:
        batches = chunks(imported.entries if entries is None else entries, SCAN_BATCH)
    if malformed is None:
        malformed = []
        batches = checked_batches(batches, malformed, shaped)
    try:
        session.append_copies(batches=batches, keep=False, serialize=serialize)
        if imported.title and session.title != imported.title:
            session.rename(imported.title)
        for target, label in imported.labels.items():
            if target in session.entries and session.labels.get(target) != label:
                session.label(target, label)
        leaf = imported.leaf_id
        if leaf is not None and leaf in session.entries and session.leaf_id != leaf:
            session.set_leaf(leaf)
    except (OSError, ValueError, TypeError) as exc:
        session.close()
        _discard(session.path)
        raise StoreError(
            f"cannot write the imported session: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    except BaseException:
        session.close()
        _discard(session.path)
        raise
    session.close()
    assert session.path is not None
    warnings = list(imported.warnings)
    if malformed:
        warnings.append(
            f"kept {len(malformed)} entries of the wrong shape as custom entries (first: {malformed[0]})"
        )
    return ImportResult(
        session.session_id,
        session.path,
        imported.tool,
        imported.source_id,
        len(session.entries),
        session.title,
        warnings,
    )


def _discard(path: Path | None) -> None:
    if path is None:
        return
    from ..store.segments import segment_paths

    for p in [*segment_paths(path), Path(f"{path}.lock"), Path(f"{path}.torn")]:
        try:
            p.unlink()
        except OSError:
            continue
