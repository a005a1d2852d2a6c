"""The built-in tools: ``read``, ``bash``, ``edit`` (exact unique replace) and ``write``.

Their shapes follow the common coding-agent tool set (read/bash/edit/write as
in Pi's coding agent); ``bash``, ``edit`` and ``write`` need approval.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

from ...outputs.capping import HeadTailBuffer
from .base import Tool, ToolContext, ToolError, ToolOutput, resolve_path

__all__ = ["BASH", "EDIT", "READ", "TOOLS", "WRITE"]

MAX_READ_LINES = 2000


def _read(ctx: ToolContext, args: dict[str, Any]) -> str:
    path = resolve_path(ctx, args.get("path"))
    if path.is_dir():
        raise ToolError(f"{path} is a directory")
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        raise ToolError(f"{path} looks like a binary file ({len(data)} bytes)")
    lines = data.decode("utf-8", "replace").splitlines()
    offset = int(args.get("offset") or 1)
    limit = int(args.get("limit") or MAX_READ_LINES)
    if offset < 1 or limit < 1:
        raise ToolError("offset and limit must be positive")
    chosen = lines[offset - 1 : offset - 1 + limit]
    body = "\n".join(f"{n:>6}\t{line}" for n, line in enumerate(chosen, offset))
    rest = len(lines) - (offset - 1 + len(chosen))
    return body + (f"\n[{rest} more lines; use offset={offset + len(chosen)}]" if rest > 0 else "")


def _bash(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    """Run the command; its stdout and stderr stay head/tail-buffered, so they are redacted before the cut."""
    command = args.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ToolError("'command' must be a non-empty string")
    out, err = HeadTailBuffer(), HeadTailBuffer()
    try:
        proc = subprocess.run(
            ["bash", "-c", command],
            cwd=ctx.cwd,
            env=dict(ctx.env) or None,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=float(args.get("timeout") or ctx.bash_timeout),
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"timed out after {exc.timeout:.0f} s: {command}") from None
    out.feed(proc.stdout)
    err.feed(proc.stderr)
    parts: list[str | HeadTailBuffer] = [out] if proc.stdout else []
    if proc.stderr:
        if proc.stdout and not proc.stdout.endswith(b"\n"):
            parts.append("\n")
        parts.append(err)
    if proc.returncode != 0:
        parts.append(f"\n[exit code {proc.returncode}]" if parts else f"[exit code {proc.returncode}]")
        output = ToolOutput(*parts)
        raise ToolError(output.text(), output)
    return ToolOutput(*parts) if parts else ToolOutput("(no output)")


def _edit(ctx: ToolContext, args: dict[str, Any]) -> str:
    path = resolve_path(ctx, args.get("path"))
    old, new = args.get("old_string"), args.get("new_string")
    if not isinstance(old, str) or not isinstance(new, str) or not old:
        raise ToolError("'old_string' (non-empty) and 'new_string' must be strings")
    text = path.read_text(encoding="utf-8")
    count = text.count(old)
    if count == 0:
        raise ToolError(f"old_string not found in {path}")
    if count > 1:
        raise ToolError(f"old_string occurs {count} times in {path}; give more context so it is unique")
    _atomic_write(path, text.replace(old, new, 1))
    return f"edited {path}"


def _write(ctx: ToolContext, args: dict[str, Any]) -> str:
    path = resolve_path(ctx, args.get("path"))
    content = args.get("content")
    if not isinstance(content, str):
        raise ToolError("'content' must be a string")
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, content)
    return f"wrote {len(content.encode())} bytes to {path}"


def _atomic_write(path: Any, text: str) -> None:
    tmp = path.with_name(f".{path.name}.lime-tmp")
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _schema(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


READ = Tool(
    "read",
    "Read a text file. Lines are numbered. Use offset (1-based line) and limit for long files.",
    _schema(
        {
            "path": {
                "type": "string",
                "description": "File path, absolute or relative to the working directory",
            },
            "offset": {"type": "integer", "description": "First line to read (1-based)"},
            "limit": {"type": "integer", "description": "Maximum number of lines"},
        },
        ["path"],
    ),
    _read,
)
BASH = Tool(
    "bash",
    "Run a bash command in the working directory and return its stdout and stderr.",
    _schema(
        {
            "command": {"type": "string", "description": "The command line"},
            "timeout": {
                "type": "number",
                "description": "Seconds before the command is killed (default 120)",
            },
        },
        ["command"],
    ),
    _bash,
    needs_approval=True,
)
EDIT = Tool(
    "edit",
    "Replace exactly one occurrence of old_string with new_string in a file. old_string must be unique.",
    _schema(
        {
            "path": {"type": "string"},
            "old_string": {"type": "string", "description": "Exact text to replace; must occur exactly once"},
            "new_string": {"type": "string"},
        },
        ["path", "old_string", "new_string"],
    ),
    _edit,
    needs_approval=True,
)
WRITE = Tool(
    "write",
    "Create or overwrite a file with the given content.",
    _schema({"path": {"type": "string"}, "content": {"type": "string"}}, ["path", "content"]),
    _write,
    needs_approval=True,
)

TOOLS: dict[str, Tool] = {tool.name: tool for tool in (READ, BASH, EDIT, WRITE)}
