"""Reader for Claude Code project logs (``~/.claude/projects/<dashed-cwd>/<session-id>.jsonl``).

Each line is a record with a ``type``: ``user`` and ``assistant`` records carry
``uuid``, ``parentUuid``, ``sessionId``, ``cwd``, ``timestamp`` and ``message``
(the Anthropic Messages shape); ``system``, ``progress`` and ``attachment``
records carry a ``uuid`` and sit on the chain too; ``summary``,
``custom-title``, ``ai-title``, ``file-history-snapshot``, ``queue-operation``
and newer types carry bookkeeping. Since 2.1 a session with subagents has a
folder of the same name beside it holding ``subagents/agent-<id>.jsonl``.

Mapping onto lime entries:

* the tree, compactions, sidechains, the leaf and the title:
  :mod:`~.claude_chain`;
* message content: :mod:`~.claude_blocks` (``thinking`` becomes ``reasoning``,
  images inside a ``tool_result`` stay image blocks); every field of the record
  beside ``message`` (``uuid``, ``requestId``, ``isMeta``, ``isSidechain``,
  ``toolUseResult``, …) is kept in the entry's ``source``;
* Claude Code's own ``!`` mode writes ``<bash-input>`` and then
  ``<bash-stdout>``/``<bash-stderr>`` user messages: they become lime's bash
  triple (Claude Code records no exit code, so it is 0);
* every other record is kept whole as a ``custom`` entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..guard import read_file, split_jsonl
from .claude_chain import ClaudeReader
from .common import Imported

__all__ = ["looks_like", "read", "subagent_records"]

_MAX_SUBAGENTS = 256


def looks_like(records: list[tuple[int, Any]]) -> bool:
    """True when an early record is a Claude Code message, summary, snapshot or uuid-linked record."""
    for _, value in records[:50]:
        if not isinstance(value, dict):
            continue
        kind = value.get("type")
        if kind in ("user", "assistant") and isinstance(value.get("message"), dict):
            return True
        if kind == "summary" and "leafUuid" in value:
            return True
        if kind == "file-history-snapshot" and "messageId" in value:
            return True
        if isinstance(value.get("uuid"), str) and "parentUuid" in value and "sessionId" in value:
            return True
    return False


def subagent_records(path: str, cap: int) -> dict[str, list[tuple[int, Any]]]:
    """The records of ``<session>/subagents/agent-*.jsonl`` beside the session file ``path``, by file name.

    Missing folders give ``{}``; files that cannot be read are skipped (a
    symbolic link or a file over ``cap`` is refused by
    :func:`~lime_repl.exchange.guard.read_file`).
    """
    folder = Path(path).with_suffix("") / "subagents"
    out: dict[str, list[tuple[int, Any]]] = {}
    if folder.is_symlink() or not folder.is_dir():
        return out
    for item in sorted(folder.glob("agent-*.jsonl"))[:_MAX_SUBAGENTS]:
        try:
            data = read_file(item, cap)
        except OSError:
            continue
        out[str(item)], _ = split_jsonl(data, str(item))
    return out


def read(
    records: list[tuple[int, Any]],
    path: str,
    warnings: list[str],
    fallback: str,
    subagents: dict[str, list[tuple[int, Any]]] | None = None,
) -> Imported:
    """Map a Claude Code log's records (and its subagents' records, by file) onto an :class:`Imported`."""
    reader = ClaudeReader(path, warnings, fallback)
    for _, record in records:
        reader.feed(record)
    for _name, more in sorted((subagents or {}).items()):
        for _, record in more:
            reader.feed(record, sidechain=True)
    return reader.finish()
