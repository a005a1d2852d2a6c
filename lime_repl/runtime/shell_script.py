r"""What lime says to the persistent bash and how bash answers (the framing of :mod:`.shell`).

Running a command
    bash reads its script from a pipe. Per command lime writes one line
    (:func:`command_line`): the text as a single-quoted assignment to
    ``__lime_cmd``, then ``. /dev/fd/62 62<<<'eval "$__lime_cmd"' </dev/null``,
    then ``__lime_done $?``. Quoted whole, a heredoc, trailing backslash or
    unbalanced quote cannot swallow the stream: ``eval`` reports a syntax error
    on stderr with status 2. Sourcing (not a function) keeps ``declare``
    global and lets the interrupt trap ``return`` out of the whole command.

Status framing
    bash gets a pipe on fd 63 (:data:`STATUS_FD`); ``__lime_done`` writes
    ``S<status>\0<$PWD>\0``, the exported variables as ``declare -px`` lists
    them (:mod:`.shell_env`: one builtin, no fork), then ``\0`` to it. On
    ``exit N`` the EXIT trap writes the same record with ``X`` in place of
    ``S``. :func:`status_complete` says when an ``S`` record is whole,
    :func:`parse_status` reads one. ``__lime_*`` and fds 62 and 63 are
    reserved.
"""

from __future__ import annotations

import os
import re

from .shell_env import parse_exports

__all__ = ["PRELUDE", "STATUS_FD", "command_line", "parse_status", "status_complete"]

STATUS_FD = 63
"""The fd bash writes its status records to."""

# Surrogates that are not surrogateescape bytes (U+DC80..U+DCFF); compiled at first use (re's cache).
_LONE_SURROGATE = "[\ud800-\udc7f\udd00-\udfff]"
# The braces with 2>/dev/null keep lime's own lines out of a user's `set -x` trace.
_RUN_PREFIX = b"{ __lime_cmd="
_RUN_SUFFIX = (
    b"; __lime_ic=0; } 2>/dev/null; . /dev/fd/62 62<<<'eval \"$__lime_cmd\"' </dev/null;"
    b" { __lime_done $?; } 2>/dev/null\n"
)
PRELUDE = r"""__lime_ic=0
__lime_env() { { builtin declare -px; builtin printf '\0'; } >&63; }
__lime_done() { builtin printf 'S%d\0%s\0' "$1" "$PWD" >&63; __lime_env; }
__lime_exit() {
  local __lime_s=$?
  builtin printf 'X%d\0%s\0' "$__lime_s" "$PWD" >&63
  __lime_env
}
trap __lime_exit EXIT
trap 'if (( __lime_ic++ )); then exit 130; fi; return 130 2>/dev/null' INT
"""
"""Defines the status and interrupt functions; written to bash once, after it starts."""


def command_line(command: str) -> bytes:
    """The one line of script that runs *command* (bash syntax, as typed) and writes its status record.

    *command* is encoded as UTF-8; ``surrogateescape`` code points (bytes that
    were not UTF-8 when read) go to bash as those bytes, any other lone
    surrogate (a JSON ``\\ud800`` escape) as U+FFFD. Raises ValueError when
    *command* contains NUL (bash cannot receive it).
    """
    if "\0" in command:
        raise ValueError("a shell command cannot contain a NUL character")
    try:
        raw = command.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = re.sub(_LONE_SURROGATE, "\ufffd", command).encode("utf-8", "surrogateescape")
    return _RUN_PREFIX + b"'" + raw.replace(b"'", b"'\\''") + b"'" + _RUN_SUFFIX


def status_complete(status: bytearray) -> bool:
    """True when ``status`` holds a whole ``S`` record: ``S<code>\\0<cwd>\\0<declare -px listing>\\0``.

    Neither the path nor the listing can hold a NUL, so the third one ends the record.
    """
    return status[:1] == b"S" and status.endswith(b"\0") and status.count(0) >= 3


def parse_status(status: bytes) -> tuple[int | None, str | None, dict[str, str] | None]:
    """``(exit code, cwd, exported environment)`` of a status record; None for what it lacks.

    The environment is given only when the record ends it with ``\\0``; names
    and values are ``os.fsdecode``-d (:func:`~.shell_env.parse_exports`).
    """
    fields = status.split(b"\0", 3)
    if fields[0][:1] not in (b"S", b"X") or len(fields) < 3:
        return None, None, None
    cwd = os.fsdecode(fields[1]) if fields[1] else None
    env = parse_exports(fields[2]) if len(fields) > 3 else None
    return int(fields[0][1:]), cwd, env
