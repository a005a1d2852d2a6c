"""Completion of a ``!`` line's last word by bash itself, in a helper bash.

:func:`complete_bang` starts a short-lived ``bash --norc --noprofile`` in the
persistent shell's directory and environment (never the persistent shell: a
completion must not disturb its state) and asks it for the completions of
the word under the cursor:

* the command word: ``compgen -c`` (commands, aliases and functions of the
  rc snapshot when one is given, builtins, keywords) plus paths when the
  word holds a ``/``;
* a word starting with ``$``: ``compgen -v`` (variables);
* any other word: the user's programmable completion for the command when
  bash-completion is installed (``/usr/share/bash-completion/bash_completion``,
  its loader then finds the command's completion file), else ``compgen -f``
  (paths); directories get a trailing ``/``.

Source: bash(1), "Programmable Completion" and the ``compgen``/``complete`` builtins.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping

__all__ = ["BASH_COMPLETION", "COMPLETION_TIMEOUT", "complete_bang"]

COMPLETION_TIMEOUT = 2.0
"""Seconds the helper bash may take; after that there are no completions."""

BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
"""Where Debian's bash-completion package installs its entry point."""

_SCRIPT = r"""
__lime_paths() {
  local c; while IFS= read -r c; do
    [[ -d $c ]] && c+=/; builtin printf '%s\0' "$c"
  done < <(compgen -f -- "$1")
}
__lime_word=$1; __lime_mode=$2; shift 2
case $__lime_mode in
  command) { compgen -c -- "$__lime_word" | sort -u | while IFS= read -r c; do printf '%s\0' "$c"; done
             [[ $__lime_word == */* ]] && __lime_paths "$__lime_word"; } ;;
  variable) compgen -v -- "${__lime_word#\$}" | while IFS= read -r c; do printf '$%s\0' "$c"; done ;;
  *) COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
     __lime_spec=
     if [[ -r $__lime_bc ]] && . "$__lime_bc" 2>/dev/null; then
       __load_completion "$1" 2>/dev/null || _completion_loader "$1" 2>/dev/null
       __lime_spec=$(complete -p -- "$1" 2>/dev/null)
     fi
     if [[ $__lime_spec == *" -F "* ]]; then
       __lime_f=${__lime_spec##* -F }; __lime_f=${__lime_f%% *}
       COMPREPLY=(); "$__lime_f" "$1" "$__lime_word" "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null
       if (( ${#COMPREPLY[@]} )); then
         for c in "${COMPREPLY[@]}"; do [[ -d $c && $c != */ ]] && c+=/; printf '%s\0' "$c"; done
         exit 0
       fi
     fi
     __lime_paths "$__lime_word" ;;
esac
"""


def complete_bang(
    line: str,
    cwd: str,
    env: Mapping[str, str] | None = None,
    *,
    snapshot: str = "",
    timeout: float = COMPLETION_TIMEOUT,
) -> tuple[int, list[str]]:
    """Complete the last word of the ``!`` line *line* (the text after ``!``, up to the cursor).

    Returns ``(start, candidates)``: the offset in *line* where the completed
    word begins, and the candidates (sorted, unique) that replace it; ``[]``
    when there are none, the helper failed or took over *timeout* seconds.
    *snapshot* is the rc snapshot (:func:`lime_repl.repl.ptyshell.rc.take_snapshot`),
    so that aliases and functions complete as commands.
    """
    words = _split(line)
    word = "" if not words or line[-1:].isspace() else words[-1]
    start = len(line) - len(word)
    if line[-1:].isspace():
        words.append("")
    if len(words) <= 1 and not word.startswith("$"):
        mode = "command"
    elif word.startswith("$"):
        mode = "variable"
    else:
        mode = "argument"
    script = (
        (snapshot + "\n" if snapshot and mode == "command" else "")
        + f"__lime_bc={shlex.quote(BASH_COMPLETION)}\n"
        + _SCRIPT
    )
    try:
        done = subprocess.run(
            ["bash", "--norc", "--noprofile", "-c", script, "bash", word, mode, *words],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            cwd=cwd,
            env=dict(os.environ if env is None else env),
            timeout=timeout,
            start_new_session=True,
        )
    except (OSError, subprocess.TimeoutExpired):
        return start, []
    found = {os.fsdecode(item) for item in done.stdout.split(b"\0") if item}
    return start, sorted(c for c in found if c.startswith(word) or mode == "argument")


def _split(line: str) -> list[str]:
    """Words of *line* as bash would split them, tolerating an unfinished quote."""
    for tail in ("", '"', "'"):
        try:
            return shlex.split(line + tail)
        except ValueError:
            continue
    return line.split()
