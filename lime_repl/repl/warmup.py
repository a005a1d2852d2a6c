"""The REPL's warm-up: the provider SDK is imported on a thread once the first prompt is on screen.

Importing an SDK (``openai``, ``anthropic``) takes a few hundred milliseconds;
done while the user types the first line, the first turn starts at once. The
:class:`WarmUp` owns that thread: it starts it at most once, logs what it
raised (the first turn reports a real problem to the user), and
:meth:`WarmUp.close` joins it when the REPL ends.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..logsetup import get_logger

if TYPE_CHECKING:
    from ..agent.loop import Agent

__all__ = ["WarmUp"]

log = get_logger()


class WarmUp:
    """The warm-up thread of one REPL for ``agent`` (None: nothing to warm up)."""

    def __init__(self, agent: Agent | None) -> None:
        self.agent = agent
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        """Start the warm-up thread (a ``pre_run`` hook: called before each prompt, starts once)."""
        if self.agent is None or self.thread is not None:
            return
        self.thread = threading.Thread(target=self._run, args=(self.agent,), name="lime-warm-up", daemon=True)
        self.thread.start()

    def _run(self, agent: Agent) -> None:
        try:
            agent.warm_up()
        except Exception as exc:  # the first turn reports it to the user; keep it for the program log
            self.error = exc
            log.warning("warming up the %s provider failed: %s", agent.provider_name, exc, exc_info=True)

    def close(self, timeout: float = 5.0) -> None:
        """Wait (up to ``timeout`` seconds) for the thread to end; logs when it is still running."""
        thread, self.thread = self.thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the provider warm-up did not finish within %.0f s; leaving it behind", timeout)
