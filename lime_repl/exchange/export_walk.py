"""What the pi, Claude Code and Codex exports share: entry order, bash triples, ids, times, block shapes.

* :func:`export_order`: every entry but ``leaf`` records, entries off the
  active branch first and the active branch last (both in log order), so the
  last line written is the leaf: pi and Claude Code resume from the last
  entry of the file;
* :func:`bash_exchanges`: lime's bash triple (three ``message`` entries that
  share ``shell.exchange``, see DESIGN.md section 3) grouped by the id of its
  first entry, with the command, stdout and stderr taken out of the
  ``<bash-…>`` tags;
* :func:`stable_uuid`: a UUID derived from the session id and an entry id
  (RFC 4122 version 5), so exporting the same session twice gives the same
  file and ``--install`` replaces rather than duplicates;
* :func:`epoch_ms`: an entry's RFC 3339 timestamp as Unix milliseconds
  (the ``timestamp`` of pi's messages).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..store.records import Entry, triple_part
from ..store.records import tool_names as entry_tool_names
from ..store.state import SessionState

__all__ = [
    "BashExchange",
    "bash_exchanges",
    "epoch_ms",
    "export_order",
    "image_parts",
    "session_uuid",
    "stable_uuid",
    "tool_names",
]

_NAMESPACE = uuid.UUID("6b1e0c8e-3f4a-5d2b-9c7e-1a2b3c4d5e6f")


@dataclass
class BashExchange:
    """One ``!command``: the ids of its three entries, the command, its output and its exit code."""

    ids: list[str]
    command: str
    stdout: str
    stderr: str
    exit_code: int | None
    context: bool
    first: Entry
    last: Entry


def export_order(session: SessionState) -> list[Entry]:
    """The entries to write, off-branch ones first, the active branch last; ``leaf`` records are left out."""
    on_branch = {e["id"] for e in session.branch()}
    entries = [e for e in session.entries.values() if e.get("type") != "leaf"]
    return [e for e in entries if e["id"] not in on_branch] + [e for e in entries if e["id"] in on_branch]


def bash_exchanges(session: SessionState) -> dict[str, BashExchange]:
    """Every complete bash triple, keyed by each of its three entry ids."""
    groups: dict[str, list[Entry]] = {}
    for entry in session.entries.values():
        shell = entry.get("shell")
        if (
            entry.get("type") == "message"
            and isinstance(shell, dict)
            and isinstance(shell.get("exchange"), str)
        ):
            groups.setdefault(shell["exchange"], []).append(entry)
    result: dict[str, BashExchange] = {}
    for members in groups.values():
        if len(members) != 3:
            continue
        parts = [triple_part(m) for m in members]
        if [p[0] if p else None for p in parts] != ["input", "stdout", "stderr"]:
            continue
        command, stdout, stderr = (p[1] for p in parts if p)
        shell = members[0]["shell"]
        code = shell.get("exitCode")
        exchange = BashExchange(
            [m["id"] for m in members],
            command,
            stdout,
            stderr,
            code if isinstance(code, int) and not isinstance(code, bool) else None,
            shell.get("context") is not False,
            members[0],
            members[2],
        )
        for member in members:
            result[member["id"]] = exchange
    return result


def tool_names(session: SessionState) -> dict[str, str]:
    """``tool_use`` id -> tool name, over every message of the session (:func:`~lime_repl.store.records.tool_names`)."""
    return entry_tool_names(session.entries.values())


def image_parts(block: dict[str, Any]) -> tuple[str, str] | None:
    """``(base64 data, media type)`` of an image block in Anthropic's or pi's shape, else None."""
    source = block.get("source")
    if isinstance(source, dict) and isinstance(source.get("data"), str):
        return source["data"], str(source.get("media_type") or "image/png")
    if isinstance(block.get("data"), str):
        return block["data"], str(block.get("mimeType") or block.get("media_type") or "image/png")
    return None


def stable_uuid(session_id: str, entry_id: str) -> str:
    """A version-5 UUID for ``entry_id`` of session ``session_id`` (the same on every export)."""
    return str(uuid.uuid5(_NAMESPACE, f"{session_id}/{entry_id}"))


def session_uuid(session_id: str) -> str:
    """lime's 32-hex session id written as a dashed UUID (the form pi, Claude Code and Codex use)."""
    try:
        return str(uuid.UUID(hex=session_id))
    except ValueError:
        return str(uuid.uuid5(_NAMESPACE, session_id))


def epoch_ms(stamp: Any) -> int:
    """An RFC 3339 timestamp as Unix milliseconds (0 when it is not one)."""
    if not isinstance(stamp, str):
        return 0
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
