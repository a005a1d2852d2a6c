"""The user's own shell in ``!`` lines: a snapshot of an interactive bash's aliases, functions and options.

Claude Code's approach (its "shell snapshot"): one ``bash -i -c`` is run with
the user's environment (``HOME`` decides which ``~/.bashrc`` is read), its
stdin ``/dev/null``, its stdout and stderr discarded, so an rc file that
prints text or starts programs shows nothing. After the rc file it writes
``alias -p``, ``declare -f`` and ``shopt -p`` to a pipe; that text is
the snapshot, which :class:`lime_repl.repl.ptyshell.shell.PtyShell` feeds to its
bash at start-up (errors discarded), then turns ``expand_aliases`` on.

The interactive bash runs in a session of its own (no controlling
terminal), so it cannot take lime's terminal; after *timeout* seconds it is
killed, process group and all, and the snapshot is empty.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping

__all__ = ["SNAPSHOT_TIMEOUT", "take_snapshot"]

SNAPSHOT_TIMEOUT = 5.0
"""Seconds the interactive bash may take to read the rc file and write the snapshot."""

_DUMP = "{{ builtin alias -p; builtin declare -f; builtin shopt -p; }} >&{fd} 2>/dev/null; builtin exit 0"
_MAX = 8 << 20  # bytes of snapshot kept at most


def take_snapshot(
    env: Mapping[str, str], *, cwd: str | None = None, shell: str = "bash", timeout: float = SNAPSHOT_TIMEOUT
) -> str:
    """The snapshot text (bash source: ``alias`` lines, function definitions, ``shopt`` lines); "" on failure.

    Args:
        env: the environment of the interactive bash (its ``HOME`` picks the rc file).
        cwd: its working directory.
        shell: the bash executable.
        timeout: seconds before it is killed (the snapshot is then empty).
    """
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            [shell, "-i", "-c", _DUMP.format(fd=write_end)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(write_end,),
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
        )
    except OSError:
        os.close(read_end)
        return ""
    finally:
        os.close(write_end)
    data = bytearray()
    deadline = time.monotonic() + timeout
    os.set_blocking(read_end, False)
    complete = False
    with selectors.DefaultSelector() as sel:
        sel.register(read_end, selectors.EVENT_READ)
        while time.monotonic() < deadline and len(data) < _MAX:
            if not sel.select(min(0.1, max(0.0, deadline - time.monotonic()))):
                if proc.poll() is not None:  # done; a program the rc file started may hold the pipe
                    complete = proc.returncode == 0
                    break
                continue
            try:
                chunk = os.read(read_end, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                complete = proc.wait() == 0
                break
            data += chunk
    os.close(read_end)
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return data.decode("utf-8", "surrogateescape") if complete else ""
