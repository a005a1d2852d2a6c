"""The tool protocol: a name, a JSON schema, whether it needs approval, and a run function.

A tool never raises into the agent loop: :func:`run_tool` turns every failure
into a result with ``is_error=True`` (DESIGN.md section 4b), and outputs are
capped like ``!`` output (first and last 16 KiB, section 3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...outputs.capping import cap_text

__all__ = ["Tool", "ToolContext", "ToolError", "ToolResult", "resolve_path", "run_tool"]


class ToolError(Exception):
    """A tool failed in a way the model should be told about; the message is the tool_result text."""


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool returns: the ``tool_result`` text (capped) and whether it is an error."""

    content: str
    is_error: bool = False


@dataclass
class ToolContext:
    """Where tools run: the working directory, the environment, and the bash timeout in seconds."""

    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    bash_timeout: float = 120.0


@dataclass(frozen=True)
class Tool:
    """One tool: ``name``, ``description``, JSON ``input_schema``, ``needs_approval``, ``run``."""

    name: str
    description: str
    input_schema: dict[str, Any]
    run: Callable[[ToolContext, dict[str, Any]], str]
    needs_approval: bool = False

    def schema(self) -> dict[str, Any]:
        """The provider-neutral tool description: ``{name, description, input_schema}``."""
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}


def resolve_path(ctx: ToolContext, value: Any) -> Path:
    """``value`` as a path, relative to the tool's working directory. Raises ToolError if not a string."""
    if not isinstance(value, str) or not value:
        raise ToolError("'path' must be a non-empty string")
    path = Path(value).expanduser()
    return path if path.is_absolute() else ctx.cwd / path


def run_tool(tool: Tool, ctx: ToolContext, arguments: Any) -> ToolResult:
    """Run ``tool``; any failure becomes ``ToolResult(message, is_error=True)``."""
    if not isinstance(arguments, dict):
        return ToolResult(f"{tool.name}: arguments must be a JSON object", True)
    missing = [k for k in tool.input_schema.get("required", []) if k not in arguments]
    if missing:
        return ToolResult(f"{tool.name}: missing required argument(s): {', '.join(missing)}", True)
    try:
        text = tool.run(ctx, arguments)
    except ToolError as exc:
        return ToolResult(cap_text(str(exc))[0], True)
    except OSError as exc:
        return ToolResult(f"{tool.name}: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), True)
    except Exception as exc:  # a tool bug must not break the turn
        return ToolResult(f"{tool.name} failed: {type(exc).__name__}: {exc}", True)
    return ToolResult(cap_text(text)[0])
