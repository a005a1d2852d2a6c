"""Typed errors and their exit codes (DESIGN.md section 7).

Every error lime reports to a user is a :class:`LimeError`: one line of text
and an exit code. ``cli.main`` prints the line on stderr and exits with the
code; nothing below ``cli`` and ``repl`` prints.
"""

from __future__ import annotations

__all__ = [
    "EXIT_ERROR",
    "EXIT_LOCKED",
    "EXIT_USAGE",
    "LimeError",
    "SessionLockedError",
    "SessionNotFoundError",
    "StoreError",
    "UsageError",
]

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3


class LimeError(Exception):
    """An error with a one-line message and an exit code (1 unless a subclass says otherwise)."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(LimeError):
    """Bad command-line use or an unknown or ambiguous session: exit 2."""

    exit_code = EXIT_USAGE


class SessionNotFoundError(UsageError):
    """No session matches the id, prefix, 'latest' or path that was given: exit 2."""


class SessionLockedError(LimeError):
    """Another process holds the session's writer lock: exit 3.

    ``pid`` is the holder's process id when it could be read from the lock file.
    """

    exit_code = EXIT_LOCKED

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class StoreError(LimeError):
    """The session log could not be written or read (disk full, permissions): exit 1."""
