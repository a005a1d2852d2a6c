"""A pygments lexer for the input line: ``!`` lines as bash, ``/`` lines as commands."""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, using
from pygments.lexers.shell import BashLexer
from pygments.token import Keyword, Name, Operator, Text

__all__ = ["LimeInputLexer"]


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
