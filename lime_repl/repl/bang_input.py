"""Typing a ``!`` line: completion by bash, path completion for slash commands, and Ctrl-R over past ``!`` commands.

* :func:`bang_completions`: the last word of a ``!`` (or ``!!``) line completed
  by :func:`lime_repl.repl.ptyshell.complete_bang` (bash's ``compgen`` and the
  user's installed completions, in a helper bash: the session's persistent
  shell is never disturbed), in the shell's directory and environment, with
  the rc snapshot's aliases and functions.
* :func:`path_completions`: a slash command's argument that looks like a path
  (``./``, ``../``, ``/``, ``~``, or holding a ``/``), e.g. ``/export html
  ./out``, completed against the shell's directory (prompt-toolkit's
  ``PathCompleter``).
* :func:`past_bang_commands`: the ``!`` commands of every session of this
  directory, newest first, read from the segments the catalog lists; the
  REPL's Ctrl-R at an empty ``!`` line adds them to the input history it
  searches (:func:`search_bang_history`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..store.records import BASH_TAGS

if TYPE_CHECKING:
    from ..runtime.session import SessionRuntime

__all__ = ["bang_completions", "past_bang_commands", "path_completions", "search_bang_history"]

_INPUT_OPEN, _INPUT_CLOSE = f"<{BASH_TAGS['input']}>", f"</{BASH_TAGS['input']}>"
_NEEDLE = _INPUT_OPEN.encode()
_MAX_SESSIONS = 200  # newest sessions read for Ctrl-R
_MAX_COMMANDS = 5000


def bang_completions(runtime: SessionRuntime, text: str) -> Iterator[Any]:
    """prompt-toolkit ``Completion`` objects for the ``!`` line *text* (up to the cursor, ``!`` included)."""
    from prompt_toolkit.completion import Completion

    from .ptyshell import complete_bang

    line = text[2:] if text.startswith("!!") else text[1:]
    shell = runtime.shell
    cwd = shell.cwd if shell is not None else str(runtime.workspace.cwd)
    env = shell.env if shell is not None else dict(runtime.workspace.env)
    snapshot = getattr(shell, "snapshot", "")
    start, candidates = complete_bang(line, cwd, env, snapshot=snapshot)
    for candidate in candidates:
        yield Completion(candidate, start_position=start - len(line))


def looks_like_path(word: str) -> bool:
    """True for a word a user types as a path: ``./x``, ``../x``, ``/x``, ``~/x``, ``dir/x``."""
    return word.startswith((".", "/", "~")) or "/" in word


def path_completions(runtime: SessionRuntime, word: str, complete_event: Any) -> Iterable[Any]:
    """Completions of the path *word* relative to the shell's directory (``~`` expanded)."""
    from prompt_toolkit.completion import PathCompleter
    from prompt_toolkit.document import Document

    completer = PathCompleter(expanduser=True, get_paths=lambda: [str(runtime.shell_cwd())])
    return completer.get_completions(Document(word, len(word)), complete_event)


def past_bang_commands(runtime: SessionRuntime) -> list[str]:
    """``!`` commands (``!`` or ``!!`` prefixed, as typed) of this directory's sessions, newest first, each once.

    Reads the catalog's segment list of the newest sessions and picks the
    ``<bash-input>`` lines; unreadable files are skipped.
    """
    seen: set[str] = set()
    found: list[str] = []
    for info in runtime.workspace.list_sessions()[:_MAX_SESSIONS]:
        commands: list[str] = []
        for segment in info.segment_strs or [info.path_str]:
            commands.extend(_commands_in(segment))
        for line in reversed(commands):
            if line not in seen:
                seen.add(line)
                found.append(line)
        if len(found) >= _MAX_COMMANDS:
            break
    return found


def _commands_in(path: str) -> list[str]:
    try:
        with open(path, "rb") as file:
            lines = [raw for raw in file if _NEEDLE in raw]
    except OSError:
        return []
    commands: list[str] = []
    for raw in lines:
        try:
            entry = json.loads(raw)
            text = entry["content"][0]["text"]
        except (ValueError, KeyError, IndexError, TypeError):
            continue
        if isinstance(text, str) and text.startswith(_INPUT_OPEN) and text.endswith(_INPUT_CLOSE):
            command = text[len(_INPUT_OPEN) : -len(_INPUT_CLOSE)]
            private = isinstance(entry.get("shell"), dict) and entry["shell"].get("context") is False
            if command and "\n" not in command:
                commands.append(("!!" if private else "!") + command)
    return commands


def search_bang_history(buffer: Any, runtime: SessionRuntime) -> None:
    """Ctrl-R at an empty ``!`` line: add past ``!`` commands to *buffer*'s working lines, then search backward.

    The input history stays first (nearest); commands from the sessions that
    it does not hold go before it, newest nearest, so a backward search meets
    them newest first. Done once per prompt (prompt-toolkit rebuilds the
    working lines for each).
    """
    from prompt_toolkit.search import SearchDirection, start_search

    lines = buffer._working_lines  # prompt-toolkit's history view of this prompt
    if getattr(buffer, "_lime_bang_lines", None) is not lines:
        known = set(lines)
        extra = [line for line in past_bang_commands(runtime) if line not in known]
        if extra:
            text = buffer.text
            lines.extendleft(extra)  # extendleft reverses: the newest ends nearest the input history
            buffer.working_index = buffer.working_index + len(extra)
            buffer.cursor_position = len(text)
        buffer._lime_bang_lines = lines
    start_search(direction=SearchDirection.BACKWARD)
