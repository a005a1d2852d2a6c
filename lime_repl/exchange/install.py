"""``lime export --format pi|claude|codex --install``: put the export where that tool looks, and say how to resume it.

Where each tool keeps its sessions (from its source):

* pi: ``$PI_CODING_AGENT_DIR`` (default ``~/.pi/agent``) ``/sessions/--<cwd
  without its leading /, with / \\ : as ->--/<timestamp>_<uuid>.jsonl``
  (``config.ts`` ``getAgentDir``, ``session-manager.ts`` ``getDefaultSessionDir``);
  resumed with ``pi --session <file>``;
* Claude Code: ``$CLAUDE_CONFIG_DIR`` (default ``~/.claude``) ``/projects/<cwd,
  every character but letters and digits as ->/<uuid>.jsonl``; resumed with
  ``claude --resume <uuid>`` from the session's directory;
* Codex: ``$CODEX_HOME`` (default ``~/.codex``) ``/sessions/YYYY/MM/DD/rollout-…-<uuid>.jsonl``;
  resumed with ``codex resume <uuid>``.

``~`` is ``HOME`` of the environment given. The file name is the same on every
export of a session, so installing again replaces the earlier copy, as long as
that copy is a prefix of the new export; when it is not (the other tool
continued it), nothing is written and :class:`~lime_repl.errors.UsageError` says so.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

from ..errors import UsageError
from ..store.state import SessionState
from .export_claude import claude_project_dir_name
from .export_codex import codex_file_name
from .export_pi import pi_file_name
from .export_walk import session_uuid

__all__ = ["install_path", "install_export", "resume_command"]


def _home(env: Mapping[str, str]) -> Path:
    home = env.get("HOME")
    return Path(home) if home else Path.home()


def _tool_dir(env: Mapping[str, str], variable: str, default: str) -> Path:
    value = env.get(variable)
    if value:
        if value == "~" or value.startswith("~/"):
            return _home(env) / value[2:]
        return Path(value)
    return _home(env) / default


def install_path(fmt: str, session: SessionState, env: Mapping[str, str]) -> Path:
    """Where ``fmt``'s tool looks for ``session`` (see the module doc)."""
    cwd = session.cwd or ""
    if fmt == "pi":
        safe = "--" + cwd.lstrip("/\\").replace("/", "-").replace("\\", "-").replace(":", "-") + "--"
        return _tool_dir(env, "PI_CODING_AGENT_DIR", ".pi/agent") / "sessions" / safe / pi_file_name(session)
    if fmt == "claude":
        project = claude_project_dir_name(cwd)
        return (
            _tool_dir(env, "CLAUDE_CONFIG_DIR", ".claude")
            / "projects"
            / project
            / f"{session_uuid(session.session_id)}.jsonl"
        )
    if fmt == "codex":
        day, name = codex_file_name(session)
        return _tool_dir(env, "CODEX_HOME", ".codex") / "sessions" / day / name
    raise UsageError(f"--install works with --format pi, claude or codex, not {fmt}")


def resume_command(fmt: str, session: SessionState, path: Path) -> str:
    """The shell command that continues the installed session in its tool."""
    uuid = session_uuid(session.session_id)
    if fmt == "pi":
        return f"pi --session {shlex.quote(str(path))}"
    if fmt == "claude":
        return f"cd {shlex.quote(session.cwd or '.')} && claude --resume {uuid}"
    return f"codex resume {uuid}"


def install_export(fmt: str, session: SessionState, data: bytes, env: Mapping[str, str]) -> tuple[Path, str]:
    """Write ``data`` to :func:`install_path`; return that path and :func:`resume_command`.

    Raises :class:`UsageError` when a different file is already there.
    """
    from .export import write_export

    target = install_path(fmt, session, env)
    try:
        existing = target.read_bytes()
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise UsageError(f"cannot read {target}: {exc.strerror or exc}") from None
    if existing is not None and not data.startswith(existing):
        raise UsageError(
            f"{target} exists and is not an earlier copy of this export (continued since?); remove it first"
        )
    try:
        os.makedirs(target.parent, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {target.parent}: {exc.strerror or exc}") from None
    if existing != data:
        write_export(data, target)
    return target, resume_command(fmt, session, target)
