"""Memory (instruction) files and the system prompt built from them (DESIGN.md sections 2 and 4).

``AGENTS.md`` and ``LIME.md`` are read from the profile root, the project root
and the working directory, in that order (the layering of AGENTS.md-aware
tools: general first, most specific last). The system prompt is built once
when a session is created and stored in its header, so a resumed session
sends exactly what it sent before. The store keeps it redacted and capped to
a quarter of ``session.max_bytes`` (head and tail, the cut marked), since the
header opens every segment
(:func:`~lime_repl.store.entry_guard.cap_system_prompt`).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

__all__ = ["BASE_PROMPT", "MEMORY_NAMES", "MemoryFile", "build_system_prompt", "find_memory_files"]

MEMORY_NAMES = ("AGENTS.md", "LIME.md")
MAX_MEMORY_BYTES = 64 * 1024

BASE_PROMPT = (
    "You are lime, a coding agent working in the user's terminal. You can read files, run bash commands "
    "and edit or write files with your tools. Be concise. Lines the user ran themselves appear as "
    "<bash-input>/<bash-stdout>/<bash-stderr>."
)


class MemoryFile(NamedTuple):
    """One instruction file: its path, its text (capped at 64 KiB) and its size in bytes.

    Immutable and compared by value (a named tuple: defined in a tenth of a frozen dataclass's time).
    """

    path: Path
    text: str
    size: int


def find_memory_files(home: Path, project_root: Path | None, cwd: Path) -> list[MemoryFile]:
    """The memory files that exist, general to specific, each path once."""
    found: list[MemoryFile] = []
    seen: set[Path] = set()
    for directory in (home, project_root, cwd):
        if directory is None:
            continue
        for name in MEMORY_NAMES:
            path = directory / name
            try:
                resolved = path.resolve()
                if resolved in seen or not path.is_file():
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            seen.add(resolved)
            found.append(MemoryFile(path, data[:MAX_MEMORY_BYTES].decode("utf-8", "replace"), len(data)))
    return found


def build_system_prompt(files: list[MemoryFile], cwd: Path) -> str:
    """The system prompt: the base instructions, the working directory, then each memory file."""
    parts = [BASE_PROMPT, f"Working directory: {cwd}"]
    for memory in files:
        parts.append(f'<memory path="{memory.path}">\n{memory.text.rstrip()}\n</memory>')
    return "\n\n".join(parts)
