"""Tool approval policy: what "always" covers, which commands are dangerous, and what a refusal tells the model.

A tool that needs approval (``bash``, ``edit``, ``write``) runs only when the
user answers one of the keys of :data:`KEYS` (or lime runs with ``--yolo``):

* ``y`` yes (this call), ``n`` no, ``a`` always, ``r`` no, and tell the model
  why (the reason goes into the ``tool_result`` text).
* "Always" is scoped the way Claude Code scopes a bash approval to a command
  prefix: for ``bash`` it covers the first word of each simple command of the
  line (``git status && git diff`` grants ``git``), so ``git log`` later runs
  without asking. For a command :func:`scope_of` finds dangerous (see
  :data:`DANGEROUS_WORDS` and :func:`danger`) or one that runs another command
  (:data:`RUNS_ANOTHER`, command substitution), "always" covers that exact
  command line only: after "always" on ``rm -f y``, ``rm -rf x`` asks again.
  For ``edit`` and ``write`` it covers the tool.

The command line is split with :mod:`shlex` (POSIX rules, punctuation
characters as operators), only to find simple commands and their words; a
line shlex cannot split (an open quote) gets the exact scope. Pure functions
and one small state class; nothing here asks or prints.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DANGEROUS_WORDS",
    "KEYS",
    "RUNS_ANOTHER",
    "Approvals",
    "Decision",
    "Scope",
    "danger",
    "scope_of",
    "simple_commands",
]

#: The approval keys and what each means (single keys, no Enter).
KEYS = {"y": "yes", "n": "no", "a": "always", "r": "no, and tell the model why"}

#: Commands that destroy data or change privileges: "always" on them covers only the exact line.
DANGEROUS_WORDS = frozenset(
    {"rm", "sudo", "doas", "su", "dd", "shred", "wipefs", "fdisk", "sfdisk", "parted", "mkswap", "mkfs"}
)

#: Commands that run another command given as their arguments or input: exact scope too.
RUNS_ANOTHER = frozenset(
    {
        "env", "nohup", "time", "timeout", "nice", "ionice", "xargs", "exec", "eval", "command",
        "builtin", "source", ".", "sh", "bash", "zsh", "dash", "ksh", "fish",
    }
)  # fmt: skip

_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish"})
_CONTROL = frozenset({";", ";;", "&", "&&", "|", "||", "|&", "(", ")"})
_REDIRECT = frozenset({">", ">>", ">|", "&>", "&>>", ">&", "<", "<<", "<<<", "<>", "<&"})
_SAFE_DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/")
_RECURSIVE = frozenset({"chmod", "chown", "chgrp"})


@dataclass(frozen=True, slots=True)
class Decision:
    """The user's answer: ``answer`` is ``yes``, ``no``, ``always``, ``reason`` (no, with ``reason``),
    or ``unattended`` (nobody could be asked: no terminal and no ``--yolo``)."""

    answer: Literal["yes", "no", "always", "reason", "unattended"]
    reason: str = ""

    @classmethod
    def of(cls, value: str | Decision) -> Decision:
        """A sink's answer as a Decision: ``"y"``/``"a"``/``"n"``/``"r"`` (or a Decision); anything else is no."""
        if isinstance(value, Decision):
            return value
        return cls({"y": "yes", "a": "always", "r": "reason"}.get(str(value)[:1].lower(), "no"))  # type: ignore[arg-type]

    @property
    def runs(self) -> bool:
        return self.answer in ("yes", "always")

    def refusal(self, name: str) -> str:
        """The ``tool_result`` text of a refused call of tool ``name``."""
        if self.answer == "unattended":
            return (
                f"not run: {name} needs the user's approval, and lime runs without a terminal to ask "
                "and without --yolo (--yolo was not given), so tools that need approval are refused"
            )
        if self.answer == "reason" and self.reason.strip():
            return f"the user refused to run {name} and said why: {self.reason.strip()}"
        return f"the user refused to run {name}"


@dataclass(frozen=True, slots=True)
class Scope:
    """What "always" grants for one call: ``keys`` (all must be granted to skip asking), a ``label`` for the
    prompt (e.g. ``git commands``) and, for the exact scope, ``why`` (e.g. ``rm deletes files``)."""

    keys: frozenset[str]
    label: str
    why: str = ""


def simple_commands(command: str) -> list[list[str]] | None:
    """The words of each simple command of a bash line (assignments and redirections dropped), or None
    when shlex cannot split it. Separators are ``; & && | || |& ( )`` and newlines.

    ``FOO=1 git log | head >out`` -> ``[["git", "log"], ["head"]]``; the pipe position is kept by
    :func:`danger` separately.
    """
    parts = _split(command)
    return None if parts is None else [words for words, _ in parts]


def _split(command: str) -> list[tuple[list[str], bool]] | None:
    """``[(words, after_pipe)]`` plus device redirections as a pseudo word ``>/dev/...``."""
    lexer = shlex.shlex(command.replace("\n", " ; "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    commands: list[tuple[list[str], bool]] = []
    words: list[str] = []
    piped = after_pipe = False
    redirect = False
    for token in tokens:
        if redirect:
            redirect = False
            if token.startswith("/dev/") and not token.startswith(_SAFE_DEVICES):
                words.append(">" + token)
            continue
        if token in _CONTROL:
            if words:
                commands.append((words, after_pipe))
            words, after_pipe = [], token in ("|", "|&")
            piped = piped or after_pipe
            continue
        if token in _REDIRECT:
            redirect = True
            continue
        if not words and "=" in token and token.split("=", 1)[0].isidentifier():
            continue  # FOO=1 cmd: an assignment, not the command
        words.append(token)
    if words:
        commands.append((words, after_pipe))
    return commands


def _first(words: list[str]) -> str:
    return os.path.basename(words[0]) if words else ""


def danger(command: str) -> str | None:
    """Why ``command`` gets the exact scope (e.g. ``rm deletes files``), or None when a word scope is safe."""
    if "$(" in command or "`" in command or "<(" in command or ">(" in command:
        return "it substitutes a command"
    parts = _split(command)
    if parts is None:
        return "it cannot be split into words"
    for words, after_pipe in parts:
        first = _first(words)
        devices = [w[1:] for w in words if w.startswith(">/dev/")]
        if devices:
            return f"it writes to the device {devices[0]}"
        if first in DANGEROUS_WORDS or first.startswith("mkfs."):
            return f"{first} is on the list of dangerous commands"
        if first in _RECURSIVE and any(_recursive_flag(w) for w in words[1:]):
            return f"{first} -R changes a whole tree"
        if first == "git" and _dangerous_git(words[1:]):
            return f"git {words[1]} can discard work"
        if first == "find" and any(w in ("-delete", "-exec", "-execdir", "-ok", "-okdir") for w in words):
            return "find runs or deletes on what it finds"
        if after_pipe and first in _SHELLS:
            return f"it pipes into {first}"
        if first in RUNS_ANOTHER:
            return f"{first} runs another command"
    return None


def _recursive_flag(word: str) -> bool:
    return word == "--recursive" or (word[:1] == "-" and word[1:2] != "-" and "R" in word)


def _dangerous_git(args: list[str]) -> bool:
    if not args:
        return False
    sub, rest = args[0], args[1:]
    if sub == "push":
        return any(a in ("-f", "-d", "--delete", "--mirror") or a.startswith(("--force", "+")) for a in rest)
    if sub == "reset":
        return "--hard" in rest
    if sub == "clean":
        return True
    if sub in ("checkout", "restore"):
        return "--" in rest or "." in rest or "-f" in rest or "--force" in rest
    if sub == "branch":
        return "-D" in rest
    return False


def scope_of(name: str, arguments: Mapping[str, Any]) -> Scope:
    """What answering "always" to tool ``name`` with ``arguments`` grants (see the module docstring)."""
    command = arguments.get("command")
    if name != "bash" or not isinstance(command, str):
        return Scope(frozenset({f"tool:{name}"}), f"every {name} call")
    line = command.strip()
    why = danger(line)
    parts = simple_commands(line)
    if why is not None or not parts:
        return Scope(frozenset({f"exact:{line}"}), "this exact command", why or "it is empty")
    firsts = sorted({_first(words) for words in parts})
    label = " and ".join(firsts) + " commands"
    return Scope(frozenset(f"word:{word}" for word in firsts), label)


@dataclass
class Approvals:
    """The session's "always" grants (scope keys, see :class:`Scope`); lost when lime exits."""

    granted: set[str] = field(default_factory=set)

    def allows(self, name: str, arguments: Mapping[str, Any]) -> bool:
        """True when an earlier "always" covers this call."""
        return scope_of(name, arguments).keys <= self.granted

    def grant(self, scope: Scope) -> None:
        """Record an "always" answer for ``scope``."""
        self.granted |= scope.keys
