"""Running microcompaction and compaction: a background worker plus the turn-boundary swap-in.

:class:`ContextKeeper` owns the policy settings, the token counter and one
worker thread. The worker is started and stopped explicitly and waits on an
Event (no busy-waiting). After each turn, and after each assistant message
inside a turn, the caller hands it a snapshot of the active branch; the
worker plans microcompaction and, above the auto-compaction threshold,
summarizes the entries before the cut (with the model, or the extractive
fallback), while the turn keeps streaming and the prompt keeps taking input.

Nothing is written from the worker: at the next turn boundary
:meth:`ContextKeeper.boundary` (main thread) appends the pending
``microcompaction``/``compaction`` entries only if the snapshot is still a
prefix of the active branch (the branch has not moved), the way aider swaps
in a summary only if the messages did not change meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..logsetup import get_logger
from ..store.records import Entry
from ..store.session import Session
from .compaction import CompactionPlan, CompactionSettings, compaction_entry, plan_compaction
from .microcompact import MicroPlan, MicroSettings, plan_microcompaction
from .tokens import TokenCounter, calibrate_from_usage, context_tokens
from .transcript import ids_of, live_start

__all__ = ["ContextKeeper", "Summarizer"]

log = get_logger()

#: ``summarize(entries, previous_summary, hint) -> text``; must not raise (fall back internally).
Summarizer = Callable[[list[Entry], "str | None", "str | None"], str]

#: ``notify(phase, trigger, tokens_before)``: a synchronous compaction ``started``, found ``nothing`` to
#: compact, or was ``cancelled``; called on the main thread (a written compaction is its own entry).
Notifier = Callable[[str, str, int], None]


def _latest_summary(branch: Sequence[Entry]) -> str | None:
    _, found = live_start(branch)
    return str(branch[found].get("summary")) if found is not None else None


@dataclass
class _Pending:
    micro: tuple[set[str], MicroPlan] | None = None
    compaction: tuple[set[str], CompactionPlan, str] | None = None


@dataclass
class ContextKeeper:
    """Context policy for one session: ``window`` and ``catalog_threshold`` in tokens, ``clock`` in seconds."""

    settings: CompactionSettings
    window: int
    catalog_threshold: int | None
    summarize: Summarizer
    clock: Callable[[], float] = time.time
    counter: TokenCounter = field(default_factory=TokenCounter)
    state: str = "idle"
    last_compaction: Entry | None = None
    notify: Notifier | None = None

    def __post_init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Condition()
        self._snapshot: Sequence[Entry] | None = None
        self._pending = _Pending()
        self._busy = False
        self._thread: threading.Thread | None = None

    # -- figures -------------------------------------------------------
    @property
    def threshold(self) -> int:
        return self.settings.threshold(self.window, self.catalog_threshold)

    @property
    def micro_settings(self) -> MicroSettings:
        return MicroSettings(
            window=self.window,
            reserved=self.settings.reserved_tokens,
            keep_recent_tokens=self.settings.keep_tokens(self.threshold),
            soft_trim_ratio=self.settings.soft_trim_ratio,
            hard_clear_ratio=self.settings.hard_clear_ratio,
            idle_minutes=self.settings.idle_minutes,
            enabled=self.settings.prune,
            threshold=self.threshold,
        )

    def tokens(self, branch: Sequence[Entry]) -> int:
        """Context tokens of ``branch`` (usage plus estimates)."""
        return context_tokens(branch, self.counter)

    # -- the worker ----------------------------------------------------
    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="lime-compaction", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker and join it; a summary in flight is abandoned."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join(timeout)

    def observe(self, branch: Sequence[Entry]) -> None:
        """Hand the worker a snapshot of the active branch (a copy is not needed: entries never change).

        A slice, not a list: a :class:`~lime_repl.store.entries.Branch` stays undecoded until the worker reads it.
        """
        with self._lock:
            self._snapshot = branch[:]
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            with self._lock:
                snapshot, self._snapshot = self._snapshot, None
                if snapshot is None:
                    continue
                self._busy = True
            try:
                self._work(snapshot)
            except Exception:  # never let the worker die silently
                log.exception("background compaction failed")
            finally:
                with self._lock:
                    self._busy = False
                    self.state = "idle"
                    self._lock.notify_all()

    def _work(self, snapshot: Sequence[Entry]) -> None:
        ids = {str(entry_id) for entry_id in ids_of(snapshot)}
        calibrate_from_usage(snapshot, self.counter)
        tokens = self.tokens(snapshot)
        self.state = "microcompacting"
        micro = plan_microcompaction(
            snapshot, tokens, self.micro_settings, now=self.clock(), counter=self.counter
        )
        if micro is not None:
            with self._lock:
                self._pending.micro = (ids, micro)
            tokens -= micro.tokens_saved
        if not self.settings.auto or tokens < self.threshold or self._pending.compaction is not None:
            return
        plan = plan_compaction(snapshot, tokens, self.settings.keep_tokens(self.threshold), self.counter)
        if plan is None:
            return
        self.state = "compacting"
        summary = self.summarize(list(plan.to_summarize), plan.previous_summary, None)
        with self._lock:
            self._pending.compaction = (ids, plan, summary)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the worker has nothing in hand; False on timeout. KeyboardInterrupt propagates."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._busy or self._snapshot is not None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._lock.wait(0.1 if remaining is None else min(0.1, remaining))
        return True

    @property
    def busy(self) -> bool:
        return self._busy or self._snapshot is not None

    # -- the turn boundary (main thread) -------------------------------
    def boundary(self, session: Session) -> list[Entry]:
        """Before a model request: apply microcompaction and compaction as needed; returns entries written.

        Waits for an in-flight background compaction only when the context is
        over the threshold. Raises the store's ``WriteFailed`` on disk errors.
        """
        written: list[Entry] = []
        branch = session.branch()
        calibrate_from_usage(branch, self.counter)
        announced = False
        if self.settings.auto and self.tokens(branch) >= self.threshold and self.busy:
            self.state = "compacting"
            self._notify("started", "auto", self.tokens(branch))
            announced = True
            self.wait_idle(300)
        branch_ids = {str(entry_id) for entry_id in ids_of(branch)}
        with self._lock:
            pending, self._pending = self._pending, _Pending()
        micro = None
        if pending.micro is not None and pending.micro[0] <= branch_ids:
            micro = pending.micro[1]
        if micro is None:
            micro = plan_microcompaction(
                branch, self.tokens(branch), self.micro_settings, now=self.clock(), counter=self.counter
            )
        if micro is not None:
            written.append(session.append(micro.entry()))
        compaction = (
            pending.compaction if pending.compaction and pending.compaction[0] <= branch_ids else None
        )
        if compaction is not None and compaction[1].previous_summary != _latest_summary(session.branch()):
            compaction = None  # planned before a newer compaction (e.g. one written before a rotation)
        if compaction is not None:
            if not announced:
                self._notify("started", "auto", compaction[1].tokens_before)
            written.append(self._write_compaction(session, compaction[1], compaction[2], "auto", None))
        elif self.settings.auto and self.tokens(session.branch()) >= self.threshold:
            entry = self.compact_now(session, "auto", announce=True, announced=announced)
            if entry is not None:
                written.append(entry)
        elif announced:
            self._notify("nothing", "auto", self.tokens(session.branch()))
        self.state = "idle"
        return written

    def compact_now(
        self,
        session: Session,
        trigger: str,
        hint: str | None = None,
        *,
        announce: bool = True,
        announced: bool = False,
    ) -> Entry | None:
        """Compact synchronously (``/compact``, overflow recovery, a boundary over threshold); None if nothing to do.

        With ``announce``, :attr:`notify` hears ``started`` before the summary is asked for (not
        again when ``announced`` already), ``nothing`` when there is nothing to summarize and
        ``cancelled`` when it is interrupted.
        """
        branch = session.branch()
        tokens = self.tokens(branch)
        plan = plan_compaction(branch, tokens, self.settings.keep_tokens(self.threshold), self.counter)
        if plan is None:
            if announce:
                self._notify("nothing", trigger, tokens)
            return None
        if announce and not announced:
            self._notify("started", trigger, tokens)
        self.state = "compacting"
        try:
            summary = self.summarize(list(plan.to_summarize), plan.previous_summary, hint)
            return self._write_compaction(session, plan, summary, trigger, hint)
        except BaseException:
            if announce:
                self._notify("cancelled", trigger, tokens)
            raise
        finally:
            self.state = "idle"

    def _notify(self, phase: str, trigger: str, tokens: int) -> None:
        if self.notify is not None:
            self.notify(phase, trigger, tokens)

    def _write_compaction(
        self, session: Session, plan: CompactionPlan, summary: str, trigger: str, hint: str | None
    ) -> Entry:
        probe = dict(compaction_entry(plan, summary, trigger=trigger, hint=hint, tokens_after=0), id="probe")
        after = self.tokens(session.branch() + [probe])
        entry = session.append(
            compaction_entry(plan, summary, trigger=trigger, hint=hint, tokens_after=after)
        )
        self.last_compaction = entry
        return entry
