"""Helpers shared by the export/import tests: a private workspace, counting a session's messages."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lime_repl.store.records import text_of
from lime_repl.store.session import Session
from lime_repl.workspace import Workspace

FOREIGN = Path(__file__).resolve().parent.parent / "data" / "foreign"


def make_workspace(root: Path, **env: str) -> Workspace:
    """A workspace with its own LIME_HOME, cache and config under ``root``; ``env`` adds variables."""
    cwd = root / "work"
    cwd.mkdir(parents=True, exist_ok=True)
    environ = {
        "HOME": str(root),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LIME_HOME": str(root / "lime-home"),
        "XDG_CACHE_HOME": str(root / "xdg-cache"),
        "XDG_CONFIG_HOME": str(root / "xdg-config"),
        **env,
    }
    return Workspace(cwd, environ)


def session_files(ws: Workspace) -> list[Path]:
    """Every file under the profile's and the project's session directories."""
    roots = [ws.home / "sessions", ws.cwd / ".lime"]
    return sorted(p for r in roots if r.exists() for p in r.rglob("*") if p.is_file())


@dataclass
class Summary:
    """A session's active branch, counted: prompts, answers, tool calls and results, ``!`` exchanges."""

    user: int = 0
    assistant: int = 0
    tool_uses: dict[str, str] = field(default_factory=dict)  # id -> name
    tool_results: dict[str, bool] = field(default_factory=dict)  # tool_use_id -> is_error
    shell: int = 0
    compactions: int = 0
    custom: int = 0
    first_user: str | None = None


def summarize(session: Session) -> Summary:
    out = Summary()
    for entry in session.branch():
        kind = entry.get("type")
        if kind == "compaction":
            out.compactions += 1
        elif kind == "custom":
            out.custom += 1
        if kind != "message":
            continue
        blocks: list[Any] = entry.get("content") if isinstance(entry.get("content"), list) else []
        if isinstance(entry.get("shell"), dict):
            out.shell += text_of(entry).startswith("<bash-input>")
        elif entry.get("role") == "assistant":
            out.assistant += 1
            for block in blocks:
                if block.get("type") == "tool_use":
                    out.tool_uses[block["id"]] = block["name"]
        elif any(b.get("type") == "tool_result" for b in blocks):
            for block in blocks:
                if block.get("type") == "tool_result":
                    out.tool_results[block["tool_use_id"]] = block["is_error"]
        else:
            out.user += 1
            if out.first_user is None:
                out.first_user = text_of(entry)
    return out
