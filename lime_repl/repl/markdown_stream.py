"""Model answers rendered as Markdown while they stream, one finished block at a time.

The text arrives in pieces (already made safe by
:class:`~lime_repl.textsafe.StreamSanitizer`, so the only escape sequences
written are the styling added here). :class:`MarkdownStream` keeps whole
lines only and cuts them into blocks: a heading line is a block by itself; a
fenced code block (```` ``` ```` or ``~~~``) runs to its closing fence; any
other block (a paragraph, a list, a table, a quote) ends at a blank line. Each
finished block is rendered by ``rich`` (its Markdown, CommonMark by
``markdown-it``, with code blocks highlighted by pygments) at the terminal's
width, so words wrap at spaces, and written at once; :meth:`close` renders
what is left. Blocks are separated by one blank line, as rich renders a
document.

Only the terminal gets this: :class:`~lime_repl.repl.render.TerminalUI` uses
it when colour is on (stdout a terminal, no ``NO_COLOR``, ``TERM`` not
``dumb``); otherwise the text is written as the model sent it. ``rich`` is
imported on the first block, never at start-up.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable

__all__ = ["MarkdownStream", "render_markdown"]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}(\s|$)")
#: The pygments style for code blocks: readable on dark and light backgrounds.
CODE_THEME = "ansi_dark"


def render_markdown(text: str, width: int) -> str:
    """``text`` (Markdown) as ANSI text ``width`` columns wide, ending with one newline (``""`` for blank text)."""
    if not text.strip():
        return ""
    import io

    from rich.console import Console

    out = io.StringIO()
    console = Console(
        file=out, force_terminal=True, color_system="256", width=max(width, 20), legacy_windows=False,
        emoji=False, highlight=False, soft_wrap=False,
    )  # fmt: skip
    console.print(_markdown_class()(text, code_theme=CODE_THEME, hyperlinks=False))
    rendered = out.getvalue()
    lines = rendered.split("\n")
    while lines and not _visible(lines[-1]):
        lines.pop()
    while lines and not _visible(lines[0]):
        lines.pop(0)
    return "\n".join(line.rstrip(" ") for line in lines) + "\n" if lines else ""


def _markdown_class() -> type:
    """rich's ``Markdown`` with every heading left-aligned (rich centres ``#`` headings), as other agent CLIs show them."""
    from rich.markdown import Heading, Markdown

    align: object = getattr(Heading, "LEVEL_ALIGN", None)
    if not isinstance(align, dict):
        return Markdown
    levels = [str(level) for level in align]

    class LeftHeading(Heading):
        LEVEL_ALIGN = dict.fromkeys(levels, "left")

    class LeftMarkdown(Markdown):
        elements = {**Markdown.elements, "heading_open": LeftHeading}

    return LeftMarkdown


_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _visible(line: str) -> bool:
    return bool(_SGR.sub("", line).strip())


class MarkdownStream:
    """Feeds of Markdown text in, rendered blocks out through ``write`` (see the module docstring).

    ``width()`` gives the columns to wrap at (default: the terminal's, read
    for each block, so a resized terminal is followed).
    """

    def __init__(self, write: Callable[[str], None], width: Callable[[], int] | None = None) -> None:
        self.write = write
        self.width = width or (lambda: shutil.get_terminal_size((80, 24)).columns)
        self.partial = ""
        self.block: list[str] = []
        self.fence: str | None = None
        self.blocks_written = 0

    def feed(self, text: str) -> None:
        """Take the next piece of the answer; write every block it finishes."""
        self.partial += text
        *lines, self.partial = self.partial.split("\n")
        for line in lines:
            self._line(line)

    def close(self) -> None:
        """Render what is held (an unfinished paragraph, an unclosed code block) and start afresh."""
        if self.partial:
            self.block.append(self.partial)
        self.partial = ""
        self._flush()
        self.fence = None
        self.blocks_written = 0

    def _line(self, line: str) -> None:
        if self.fence is not None:
            self.block.append(line)
            if line.strip().startswith(self.fence) and line.strip().strip(self.fence[0]) == "":
                self._flush()
                self.fence = None
            return
        fence = _FENCE.match(line)
        if fence:
            self._flush()
            self.fence = fence.group(1)
            self.block.append(line)
            return
        if not line.strip():
            self._flush()
            return
        if _HEADING.match(line):
            self._flush()
            self.block.append(line)
            self._flush()
            return
        self.block.append(line)

    def _flush(self) -> None:
        text = "\n".join(self.block)
        self.block = []
        try:
            rendered = render_markdown(text, self.width())
        except Exception:  # a renderer failure (or no rich) must not lose the answer: show it as sent
            rendered = text + "\n" if text.strip() else ""
        if not rendered:
            return
        if self.blocks_written:
            self.write("\n")
        self.write(rendered)
        self.blocks_written += 1
