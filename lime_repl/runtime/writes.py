"""How the runtime writes: the one mapping of a refused write to a user-facing line, and the bash triple.

The store leaves the log whole when it refuses a write (the entry guard and
the segment writer, DESIGN.md section 3) and raises its
:class:`~lime_repl.store.files.WriteFailed`; :func:`recording` is where the
runtime words it for the user.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import StoreError
from ..outputs.redact import Redactor
from ..store.records import Entry
from ..store.segments import WriteFailed
from ..store.session import Session
from .shell import ShellResult
from .shell_port import RecordedRun

__all__ = ["ShellOutcome", "record_bash", "recording"]


@contextlib.contextmanager
def recording(what: str) -> Iterator[None]:
    """Turn the store's refused write into the one :class:`StoreError` line: ``<reason>; <what>``.

    ``what`` says what was lost, e.g. ``"the label was not recorded"``.

    The only place a refused write becomes a user-facing error.
    """
    try:
        yield
    except WriteFailed as exc:
        raise StoreError(f"{exc.strerror or exc}; {what}") from None


@dataclass
class ShellOutcome:
    """A finished ``!`` command: its 3 entry ids, exit code, shell cwd afterwards, and whether SIGINT cut it."""

    entry_ids: list[str]
    exit_code: int
    cwd: str
    interrupted: bool = False


def record_bash(
    session: Session,
    command: str,
    result: ShellResult | RecordedRun,
    scrub: Redactor | None,
    *,
    context: bool = True,
) -> list[Entry]:
    """Record a finished ``!command`` as the bash triple (outputs redacted by ``scrub``); the 3 entries.

    ``shell`` gets ``interrupted: true`` when SIGINT cut the command,
    ``interactive: true`` for a full-screen program (a :class:`RecordedRun`
    that used the alternate screen) and ``context: false`` for a ``!!command``,
    which the transcript builder leaves out (DESIGN.md section 3).

    Raises :class:`StoreError` ("the command ran but was not recorded") when the log refuses it.
    """
    # Only the log is redacted (before the cut): the front end has already shown the real output.
    if isinstance(result, ShellResult):
        stdout, stderr = result.stdout.text(scrub), result.stderr.text(scrub)
        truncated = {"stdout": result.stdout.truncated, "stderr": result.stderr.truncated}
        interactive = False
    else:
        stdout, stderr = result.recorded(scrub)
        truncated = result.truncated_bytes
        interactive = result.interactive
    flags = {
        name: value
        for name, value, shown in (
            ("interrupted", True, result.interrupted),
            ("interactive", True, interactive),
            ("context", False, not context),
        )
        if shown
    }
    with recording("the command ran but was not recorded"):
        return session.append_bash(
            command,
            stdout,
            stderr,
            exit_code=result.exit_code,
            duration_ms=result.duration_ms,
            truncated_bytes=truncated,
            cwd=result.cwd,
            flags=flags,
        )
