"""The tool protocol: a name, a JSON schema, whether it needs approval, and a run function.

A tool never raises into the agent loop: :func:`run_tool` turns every failure
into a result with ``is_error=True`` (DESIGN.md section 4b), and outputs are
capped like ``!`` output (first and last 16 KiB, section 3).

A result keeps its raw output (:class:`ToolOutput`, head/tail-buffered, so
memory stays bounded) beside the capped text the terminal shows: the text that
is stored and sent to the model is :meth:`ToolResult.stored`, redacted *before*
it is cut, so a secret that straddles the 16 KiB cut is replaced whole
(issue "Real input never breaks a session", item 11).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...outputs.capping import HeadTailBuffer, cap_text

__all__ = ["Tool", "ToolContext", "ToolError", "ToolOutput", "ToolResult", "resolve_path", "run_tool"]

Redact = Callable[[str], str]


class ToolOutput:
    """A tool's raw output: text parts and :class:`~lime_repl.outputs.capping.HeadTailBuffer` streams, in order.

    :meth:`text` renders it: each stream as ``HeadTailBuffer.text(redact)``
    (redacted over the buffer's margin, then cut to 16 KiB at each end), each
    text part redacted whole, then capped (:func:`cap_text`).
    """

    __slots__ = ("parts",)

    def __init__(self, *parts: str | HeadTailBuffer) -> None:
        self.parts = parts

    def text(self, redact: Redact | None = None) -> str:
        """The output as one string; with ``redact`` (``str -> str``), redacted before every cut."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, HeadTailBuffer):
                out.append(part.text(redact))
            else:
                out.append(cap_text(redact(part) if redact is not None and part else part)[0])
        return "".join(out)


class ToolError(Exception):
    """A tool failed in a way the model should be told about; the message is the tool_result text.

    ``output`` (optional) is the raw output behind the message, rendered like a
    successful tool's (see :class:`ToolOutput`).
    """

    def __init__(self, message: str, output: ToolOutput | None = None) -> None:
        super().__init__(message)
        self.output = output


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool returns: the ``tool_result`` text as the terminal shows it (capped), whether it is an error,
    and the raw output behind it (``output``, None for short messages)."""

    content: str
    is_error: bool = False
    output: ToolOutput | None = field(default=None, compare=False, repr=False)

    def stored(self, redact: Redact | None) -> str:
        """The text to store and send to the model: the raw output redacted, then capped.

        Without ``redact`` (``redact = false``) this is :attr:`content`.
        """
        if redact is None:
            return self.content
        if self.output is None:
            return cap_text(redact(self.content))[0]
        return self.output.text(redact)


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
    run: Callable[[ToolContext, dict[str, Any]], str | ToolOutput]
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
        raw = tool.run(ctx, arguments)
    except ToolError as exc:
        output = exc.output or ToolOutput(str(exc))
        return ToolResult(output.text(), True, output)
    except OSError as exc:
        return ToolResult(f"{tool.name}: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), True)
    except Exception as exc:  # a tool bug must not break the turn
        return ToolResult(f"{tool.name} failed: {type(exc).__name__}: {exc}", True)
    output = raw if isinstance(raw, ToolOutput) else ToolOutput(raw)
    return ToolResult(output.text(), False, output)
