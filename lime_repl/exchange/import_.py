"""``lime import FILE|URL``: read a session from lime or another tool, then write it as a new lime session.

Reading and writing are two steps. :func:`read_source` reads and checks
everything first (the rules of :mod:`lime_repl.exchange.guard`), detects the
format by content, not by file name, and returns an
:class:`~lime_repl.exchange.foreign.common.Imported`; only then does
:func:`write_imported` create the session. Refused input therefore writes
nothing.

Formats, by what the content looks like:

* a zip archive (``PK`` magic): a lime zip export, checked against its
  ``manifest.json`` (:mod:`lime_repl.exchange.manifest`);
* one JSON document ``{"session": header, "entries": [...]}``: a lime json export;
* JSONL whose first record is a lime ``session`` header (``sessionId``):
  lime jsonl (one or more segments joined); the three lime formats are read
  by :mod:`lime_repl.exchange.lime_reader`;
* JSONL read by :mod:`~.foreign.pi`, :mod:`~.foreign.codex` or :mod:`~.foreign.claude`
  when their ``looks_like`` says so;
* one JSON document read by :mod:`~.foreign.gemini` (Gemini CLI chat
  recordings) or :mod:`~.foreign.opencode` (``opencode export``);
* Markdown read by :mod:`~.foreign.aider` (``.aider.chat.history.md``; each of
  its sessions becomes a lime session, the others in ``ImportResult.more``);
* a Kimi folder (or a file inside one): ``context.jsonl`` makes it kimi-cli,
  ``agents/*/wire.jsonl`` (records with dotted types) kimi-code.

The new session gets a new id, the original entries (ids, parents,
timestamps) and ``importedFrom`` {``tool``, ``id``, ``path``} in its header
(plus ``cwd`` and ``created`` of the source when known). A lime session keeps
its own system prompt; a foreign one gets lime's, built as for a new session,
while the source's prompt stays in a ``custom`` entry.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..store.records import now_rfc3339
from .foreign.common import Imported
from .guard import ImportRefused, decode_text, import_cap, loads, read_file, split_jsonl
from .import_write import ImportResult, _mtime, import_redactor, write_imported
from .lime_reader import is_lime_header, json_document, lime_from_document, lime_from_records, read_zip_export

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["ImportResult", "import_redactor", "import_source", "read_bytes", "read_source", "write_imported"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_MAX_AGENTS = 256


def import_source(workspace: Workspace, source: str, *, timeout: float | None = None) -> ImportResult:
    """Import ``source`` (a path, a Kimi folder or an http(s) URL) into ``workspace``.

    Raises :class:`ImportRefused` (exit 1) for hostile or unrecognised input,
    :class:`UsageError` (exit 2) for a missing file, :class:`StoreError` when writing fails.
    """
    if timeout is None and _URL.match(source):
        from .fetch import import_timeout

        timeout = import_timeout(workspace.env)
    imported = read_source(source, cap=import_cap(workspace.env), timeout=timeout)
    result = write_imported(workspace, imported)
    result.more = [write_imported(workspace, other) for other in imported.more]
    return result


# -- reading ------------------------------------------------------------------
def read_source(source: str, *, cap: int, timeout: float | None = None) -> Imported:
    """Read and check ``source`` without writing anything."""
    if _URL.match(source):
        from .fetch import fetch, import_timeout

        data = fetch(source, cap, import_timeout() if timeout is None else timeout)
        return read_bytes(data, source, cap=cap, fallback=now_rfc3339())
    path = Path(source).expanduser()
    if path.is_symlink():
        raise ImportRefused(f"refusing {source}: it is a symbolic link")
    if path.is_dir():
        return _read_folder(path, cap)
    if not path.exists():
        raise UsageError(f"no such file or folder: {source}")
    if path.name in ("context.jsonl", "wire.jsonl", "state.json") and _kimi_kind(path.parent):
        return _read_folder(path.parent, cap)
    if (
        path.name == "wire.jsonl"
        and path.parent.parent.name == "agents"
        and _kimi_kind(path.parent.parent.parent)
    ):
        return _read_folder(path.parent.parent.parent, cap)
    from .stream import read_streamed

    streamed = read_streamed(path, cap, fallback=_mtime(path))  # large Claude Code / Codex logs
    if streamed is not None:
        return streamed
    data = _read(path, cap)
    return read_bytes(data, str(path), cap=cap, fallback=_mtime(path))


def _read(path: Path, cap: int) -> bytes:
    try:
        return read_file(path, cap)
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except PermissionError:
        raise ImportRefused(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise ImportRefused(f"cannot read {path}: {exc.strerror or exc}") from None


def read_bytes(data: bytes, name: str, *, cap: int, fallback: str) -> Imported:
    """Detect the format of ``data`` (named ``name`` in messages) and read it."""
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return read_zip_export(data, name, cap)
    if not data.strip():
        raise ImportRefused(f"refusing {name}: it is empty")
    document = json_document(data, name)
    if document is not None:
        return lime_from_document(document, name)
    from .foreign import aider, claude, codex, detect, gemini, kimi, opencode, pi

    value = detect.document(data, name)
    if value is not None and gemini.looks_like(value):
        return gemini.read(value, name, [], fallback)
    if value is not None and opencode.looks_like(value):
        return opencode.read(value, name, [], fallback)
    if value is None and data.lstrip()[:1] not in (b"{", b"["):
        text = decode_text(data, name)
        if aider.looks_like(text):
            return aider.read(text, name, [], fallback)
    records, warnings = split_jsonl(data, name)
    if not records:
        raise ImportRefused(_unknown(name, detect.describe(data, records, value)))

    if is_lime_header(records[0][1]):
        return lime_from_records(records, name, warnings)
    if pi.looks_like(records):
        return pi.read(records, name, warnings, fallback)
    if codex.looks_like(records):
        return codex.read(records, name, warnings, fallback)
    if claude.looks_like(records):
        subagents = claude.subagent_records(name, cap) if not _URL.match(name) else {}
        return claude.read(records, name, warnings, fallback, subagents)
    kind = _kimi_records_kind(records)
    if kind == "kimi-code":
        return kimi.read_kimi_code({"main": records}, None, name, None, warnings, fallback)
    if kind == "kimi-cli-wire":
        return kimi.read_kimi_cli([], records, None, name, None, warnings, fallback)
    if kind == "kimi-cli-context":
        return kimi.read_kimi_cli(records, [], None, name, None, warnings, fallback)
    raise ImportRefused(_unknown(name, detect.describe(data, records)))


def _unknown(name: str, looked: str) -> str:
    from .foreign.detect import FORMATS

    return f"refusing {name}: not a session log lime reads: it is {looked}; lime reads {FORMATS}"


def _kimi_records_kind(records: list[tuple[int, Any]]) -> str | None:
    values = [v for _, v in records[:20] if isinstance(v, dict)]
    if any("." in str(v.get("type", "")) for v in values) or any("created_at" in v for v in values[:1]):
        return "kimi-code"
    if any(isinstance(v.get("message"), dict) and "timestamp" in v for v in values) or (
        values and values[0].get("type") == "metadata"
    ):
        return "kimi-cli-wire"
    if values and all("role" in v and "type" not in v for v in values):
        return "kimi-cli-context"
    return None


def _kimi_kind(folder: Path) -> str | None:
    if (folder / "context.jsonl").is_file():
        return "kimi-cli"
    if (folder / "agents").is_dir():
        return "kimi-code"
    return None


def _folder_file(folder: Path, name: str, cap: int) -> bytes | None:
    path = folder / name
    if not os.path.lexists(path):
        return None
    return _read(path, cap)


def _records(data: bytes | None, name: str, warnings: list[str]) -> list[tuple[int, Any]]:
    if data is None or not data.strip():
        return []
    records, more = split_jsonl(data, name)
    warnings.extend(more)
    return records


def _state(data: bytes | None, name: str, warnings: list[str]) -> Any:
    if data is None:
        return None
    try:
        return loads(decode_text(data, name), name)
    except ValueError:
        warnings.append(f"{name}: not JSON; ignored")
        return None


def _read_folder(folder: Path, cap: int) -> Imported:
    from .foreign import kimi

    if folder.is_symlink():
        raise ImportRefused(f"refusing {folder}: it is a symbolic link")
    kind = _kimi_kind(folder)
    warnings: list[str] = []
    budget = [cap]

    def take(data: bytes | None) -> bytes | None:
        if data is not None:
            budget[0] -= len(data)
            if budget[0] < 0:
                raise ImportRefused(f"refusing {folder}: its files add up to more than the import cap")
        return data

    state = _state(take(_folder_file(folder, "state.json", cap)), str(folder / "state.json"), warnings)
    fallback = _mtime(folder)
    if kind == "kimi-cli":
        context = _records(
            take(_folder_file(folder, "context.jsonl", cap)), str(folder / "context.jsonl"), warnings
        )
        wire = _records(take(_folder_file(folder, "wire.jsonl", cap)), str(folder / "wire.jsonl"), warnings)
        return kimi.read_kimi_cli(context, wire, state, str(folder), folder.name, warnings, fallback)
    if kind == "kimi-code":
        agents_dir = folder / "agents"
        if agents_dir.is_symlink():
            raise ImportRefused(f"refusing {agents_dir}: it is a symbolic link")
        agents: dict[str, list[tuple[int, Any]]] = {}
        with os.scandir(agents_dir) as it:
            items = sorted(it, key=lambda item: (item.name != "main", item.name))
        for item in items[:_MAX_AGENTS]:
            if item.is_symlink():
                raise ImportRefused(f"refusing {item.path}: it is a symbolic link")
            if item.is_dir():
                wire_path = Path(item.path) / "wire.jsonl"
                agents[item.name] = _records(
                    take(_folder_file(Path(item.path), "wire.jsonl", cap)), str(wire_path), warnings
                )
        if "main" not in agents:
            raise ImportRefused(f"refusing {folder}: no agents/main/wire.jsonl in it")
        return kimi.read_kimi_code(agents, state, str(folder), folder.name, warnings, fallback)
    if (folder / "wire.jsonl").is_file():
        data = _read(folder / "wire.jsonl", cap)
        return read_bytes(data, str(folder / "wire.jsonl"), cap=cap, fallback=fallback)
    from .foreign.detect import FORMATS

    raise ImportRefused(
        f"refusing {folder}: a folder with no session files lime reads (a Kimi folder holds context.jsonl"
        f" or agents/; other tools' logs are imported file by file); lime reads {FORMATS}"
    )
