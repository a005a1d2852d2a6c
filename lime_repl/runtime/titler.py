"""Automatic session titles, asked for in the background and recorded between operations.

After the first exchange of a session that has no title, :meth:`AutoTitler.after_turn`
sends one small request (:mod:`lime_repl.context.title`: no tools, the
first prompt and answer only) on a daemon thread, so the prompt comes back
at once. The answer is recorded by :meth:`AutoTitler.record`, which the
runtime calls on its own thread before its next operation and when it
closes (waiting at most :data:`CLOSE_WAIT` seconds for an answer still on
the way), as a ``title`` entry ``{"title": …, "auto": true}``.

A ``/rename`` always wins: no request is made for a session that has a
``title`` entry, and an answer is dropped when the session got a title (or
a ``title`` entry that cleared one) while it was on the way. A failed
request is logged, never shown; the session's listing keeps its first
prompt as before. The setting ``titles.auto = false`` turns this off; the
runtime turns it off itself for ``--no-session``, print mode and line mode,
where nothing stays open long enough to receive the answer without
delaying the exit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..context.title import TITLE_SYSTEM, clean_title, first_exchange, title_request
from ..errors import LimeError
from ..logsetup import get_logger
from ..store.records import Entry
from ..store.session import Session

if TYPE_CHECKING:  # a `!` line loads no agent: the provider types load when a title is asked for
    from ..agent.loop import Agent

__all__ = ["CLOSE_WAIT", "AutoTitler", "has_title_entry"]

log = get_logger()

#: Seconds :meth:`AutoTitler.record` waits, at close, for a title request still on the way.
CLOSE_WAIT = 3.0


def has_title_entry(session: Session) -> bool:
    """True when ``session`` has a title, or any ``title`` entry (one that cleared a title included)."""
    return bool(session.title) or any(e.get("type") == "title" for e in session.entries.values())


@dataclass
class _Pending:
    session_id: str
    done: threading.Event = field(default_factory=threading.Event)
    title: str | None = None


class AutoTitler:
    """The automatic title of the runtime's sessions (see the module docstring); ``enabled`` may be
    switched off by the front end before the first turn."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._pending: _Pending | None = None
        self._asked: set[str] = set()

    def after_turn(self, session: Session, agent: Agent | None) -> None:
        """Ask for a title of ``session``'s first exchange, once per session, if it has none yet."""
        if not self.enabled or agent is None or session.session_id in self._asked or has_title_entry(session):
            return
        exchange = first_exchange(session.branch())
        if exchange is None:
            return
        self._asked.add(session.session_id)
        pending = _Pending(session.session_id)
        self._pending = pending
        messages = title_request(*exchange)
        model = agent.model
        provider = agent.provider
        from ..agent.providers.base import TextDelta, TurnEnd

        def ask() -> None:
            try:
                text: list[str] = []
                for event in provider.stream(TITLE_SYSTEM, messages, [], model, None):
                    if isinstance(event, TextDelta):
                        text.append(event.text)
                    elif isinstance(event, TurnEnd):
                        blocks = [b for b in event.content if isinstance(b, dict) and b.get("type") == "text"]
                        text = [str(b.get("text", "")) for b in blocks] or text
                pending.title = clean_title("".join(text))
            except LimeError as exc:
                log.warning("the automatic title was not made: %s", exc.message)
            except Exception:  # a daemon thread must not die with a traceback on the terminal
                log.exception("the automatic title was not made")
            finally:
                pending.done.set()

        threading.Thread(target=ask, name="lime-title", daemon=True).start()

    def record(self, session: Session | None, *, wait: float = 0.0) -> Entry | None:
        """Write the title that has arrived for ``session`` (waiting up to ``wait`` seconds); the entry, or None.

        Nothing is written when no answer is due for this session, none came,
        or the session got a title meanwhile. Store errors propagate.
        """
        pending = self._pending
        if pending is None or session is None or pending.session_id != session.session_id:
            return None
        if not pending.done.wait(wait):
            return None
        self._pending = None
        if pending.title is None or has_title_entry(session):
            return None
        return session.append({"type": "title", "title": pending.title, "auto": True})
