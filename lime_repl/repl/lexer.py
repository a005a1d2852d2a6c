"""A pygments lexer for the input line (``!`` lines as bash, ``/`` lines as commands) and its colours.

The colours are the terminal's own ANSI palette (``ansicyan``, ``ansimagenta``,
``ansigreen``, bold, italic), which a terminal theme keeps readable on its
own background, dark or light; no 256-colour or RGB value is used (pygments'
default style gives ``$VAR`` ``#19177C``, colour 18 in 256 colours, dark blue
that cannot be read on a dark terminal). With colour off (``NO_COLOR``,
``TERM=dumb``, not a terminal) the REPL uses no lexer and :func:`input_style`
holds no colour at all.
"""

from __future__ import annotations

from typing import Any

from pygments.lexer import RegexLexer, bygroups, using
from pygments.lexers.shell import BashLexer
from pygments.style import Style as PygmentsStyle
from pygments.token import Comment, Error, Keyword, Name, Operator, String, Text

__all__ = ["LimeInputLexer", "LimeInputStyle", "input_style"]


class LimeInputLexer(RegexLexer):
    """``!cmd`` -> an operator then bash tokens; ``/name args`` -> keyword then text; else plain text."""

    name = "lime-input"
    aliases = ["lime-input"]

    tokens = {
        "root": [
            (r"^(\s*)(!)(.*)$", bygroups(Text, Operator, using(BashLexer))),
            (r"^(\s*)(/[\w?-]+)(.*)$", bygroups(Text, Keyword, Name.Variable)),
            (r".+", Text),
            (r"\n", Text),
        ]
    }


class LimeInputStyle(PygmentsStyle):
    """Token colours from the ANSI palette only, so they follow the terminal's theme (see the module docstring)."""

    background_color = ""
    default_style = ""
    styles = {
        Operator: "bold",
        Keyword: "bold ansicyan",
        Name.Builtin: "ansicyan",
        Name.Variable: "ansimagenta",
        String: "ansigreen",
        Comment: "italic",
        Error: "ansired",
    }


def input_style(color: bool) -> Any:
    """The REPL's prompt-toolkit style: the prompt, the toolbar and :class:`LimeInputStyle`, or no colour at all."""
    from prompt_toolkit.styles import Style, merge_styles, style_from_pygments_cls

    if not color:
        # The colour is never drawn (the REPL's colour depth is monochrome then), but a cell with a colour
        # counts as styled, so prompt-toolkit writes the prompt's trailing space instead of a cursor move.
        return Style.from_dict({"prompt": "ansicyan bold"})
    return merge_styles(
        [
            style_from_pygments_cls(LimeInputStyle),
            Style.from_dict({"prompt": "ansicyan bold", "bottom-toolbar": "noreverse bg:#222222 #aaaaaa"}),
        ]
    )
