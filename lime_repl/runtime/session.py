"""One running session: its log, its persistent shell, its agent and its context keeper.

:class:`SessionRuntime` is what every front end drives (the shape of Pi's
``AgentSession``, shared by its interactive, print and RPC modes): the REPL
and line mode (:mod:`lime_repl.repl`) and the JSON-RPC bridge
(:mod:`lime_repl.bridge`) only add their own I/O. Build one with
:meth:`SessionRuntime.start`, give it a session with :meth:`new_session`,
:meth:`resume`, :meth:`fork` or :meth:`adopt`, then call its operations. What
happens is reported to the front end's :class:`~lime_repl.runtime.events.Sink`
as typed events; entries come from the session's ``on_append`` hook. Every
operation raises a :class:`~lime_repl.errors.LimeError` for bad input or a
refused write (the log stays whole); nothing here prints or reads the terminal.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..context.memory import MemoryFile
from ..errors import LimeError, UsageError
from ..logsetup import get_logger
from ..outputs.redact import Redactor, use_rules_cache
from ..paths import cache_dir
from ..store.records import Entry
from ..store.segments import WriteFailed
from ..store.session import Session
from ..workspace import Workspace
from .edits import SessionEdits
from .events import EntryAppended, Notice, Sink
from .model import NO_PROVIDER_HINT, catalog_info, check_credentials, make_agent
from .shell_ops import ShellOperations
from .shell_port import BangShell, ShellFactory
from .writes import ShellOutcome, recording

if TYPE_CHECKING:  # a `!` line loads none of these: the model, context and command modules load when used
    from ..agent.loop import Agent, TurnOutcome
    from ..agent.providers.catalog import ModelInfo
    from ..context.scheduler import ContextKeeper
    from .commands import CommandResult
    from .titler import AutoTitler

__all__ = ["ShellOutcome", "SessionRuntime"]

log = get_logger()


class _Appended:
    """Entry ids appended while an operation ran (collected from ``on_append``)."""

    __slots__ = ("ids",)

    def __init__(self) -> None:
        self.ids: list[str] = []


class SessionRuntime(ShellOperations, SessionEdits):
    """Session, shell, agent and keeper of one running lime (see the module docstring).

    ``ephemeral`` (``--no-session``) keeps sessions in memory only. The shell
    starts at the first ``!`` command, in :attr:`start_dir`: lime's launch
    directory for a new session, where the session's shell last was for a
    resumed or forked one (:mod:`.resume`; a running shell is moved there with
    ``cd``). The keeper is built and started when a session is attached and a
    model is configured (else at the first compaction); :meth:`close` stops
    both. :attr:`titler` asks for automatic titles (:mod:`.titler`).
    """

    def __init__(self, workspace: Workspace, sink: Sink, *, ephemeral: bool, agent: Agent | None) -> None:
        self.workspace = workspace
        self.sink = sink
        self.ephemeral = ephemeral
        self.agent = agent
        #: ``--yolo``: tools run without asking (kept for an agent made later by ``/model``).
        self.yolo = agent.yolo if agent is not None else False
        self.session: Session | None = None
        self.shell: BangShell | None = None
        #: Builds the ``!`` shell (the interactive REPL's pseudo terminal); None: :class:`PersistentShell`.
        self.shell_factory: ShellFactory | None = None
        self.keeper: ContextKeeper | None = None
        self.memory: list[MemoryFile] = []
        self._model_recorded = False
        self._collectors: list[_Appended] = []
        use_rules_cache(cache_dir(workspace.env) / "redact-rules.json")  # no detect-secrets import per process
        self.redactor = None if workspace.config.get("redact", True) is False else Redactor(workspace.env)
        #: Where the shell starts (or was moved to) and the model's tools run while no shell is running.
        self.start_dir: Path = workspace.cwd
        #: Whether :attr:`titler` asks for automatic titles (``titles.auto``; off for ``--no-session``).
        self.titles_auto = not ephemeral and workspace.config.get("titles.auto", True) is not False
        self._titler: AutoTitler | None = None

    @property
    def titler(self) -> AutoTitler:
        """The automatic titles (:mod:`.titler`), made at first use, enabled by :attr:`titles_auto`."""
        if self._titler is None:
            from .titler import AutoTitler

            self._titler = AutoTitler(self.titles_auto)
        return self._titler

    @classmethod
    def start(
        cls,
        workspace: Workspace,
        sink: Sink,
        *,
        ephemeral: bool = False,
        provider: str | None = None,
        model: str | None = None,
        yolo: bool = False,
    ) -> SessionRuntime:
        """A runtime for ``workspace`` with the configured (or given) model; give it a session next."""
        runtime = cls(workspace, sink, ephemeral=ephemeral, agent=make_agent(workspace, provider, model, yolo))
        runtime.yolo = yolo
        return runtime

    # -- sessions --------------------------------------------------------
    @property
    def current(self) -> Session:
        """The attached session. Raises :class:`UsageError` when none is attached yet."""
        if self.session is None:
            raise UsageError("no session is open")
        return self.session

    def new_session(self, title: str | None = None) -> Session:
        """Close the current session and start a new one here (header written now), titled ``title``;
        the shell goes back to lime's launch directory (with a notice when it was elsewhere)."""
        prompt = self._system_prompt()
        session = (
            Session.ephemeral(str(self.workspace.cwd), prompt, guard=self.workspace.store_options.guard)
            if self.ephemeral
            else self.workspace.create_session(system_prompt=prompt)
        )
        self._attach(session)
        if self._move_shell(self.workspace.cwd):
            self.sink.emit(Notice("info", f"the shell is back in {self.workspace.cwd}, where lime was started"))
        if title:
            self.rename(title)
        return session

    def resume(self, path: Path) -> Session:
        """Close the current session and resume ``path`` as its writer. Raises a LimeError (3 when locked)."""
        if self.session is not None and self.session.path is not None and self.session.path == path:
            return self.session
        session = self.workspace.open_session(path)
        self._attach(session)
        self._continue_where_it_was(session)
        for warning in session.warnings:
            self.sink.emit(Notice("warning", warning))
            log.warning(warning)
        session.warnings.clear()
        if session.dropped_entries:
            self.sink.emit(
                Notice(
                    "info",
                    f"rotation dropped the {session.dropped_entries} earliest entries of this session; "
                    f"resuming from segment {session.first_segment}",
                )
            )
        return session

    def fork(self, path: Path, entry_id: str | None = None) -> Session:
        """Copy the stored session ``path``'s branch up to ``entry_id`` (default: its leaf) into a new
        session and continue there, in the directory its shell last was; the source is only read."""
        session = self.adopt(self.workspace.fork_session(path, entry_id))
        self._continue_where_it_was(session)
        return session

    def _continue_where_it_was(self, session: Session) -> None:
        """Move the shell to where ``session``'s shell last was (one notice when that is not the launch
        directory), then redraw its last exchanges (a :class:`~.events.Recap`)."""
        from .resume import recap_event, start_dir

        where, notice = start_dir(session, self.workspace.cwd)
        self._move_shell(where)
        recap = recap_event(session, self.workspace.config)
        if recap is not None:
            self.sink.emit(recap)
        if notice is not None:
            self.sink.emit(notice)

    def adopt(self, session: Session) -> Session:
        """Continue in ``session`` (a fork or clone, already open as its writer); closes the current one."""
        self._attach(session)
        return session

    def _attach(self, session: Session) -> None:
        session.redact = self.redactor
        session.on_prune = lambda path: self._before_prune(session, path)
        session.on_append.append(lambda entry: self._on_append(session, entry))
        old, self.session = self.session, session
        self._model_recorded = False
        if old is not None:
            old.on_append.clear()
            old.on_prune = None  # the two hooks' closures hold the session: a cycle would keep its files open
            self._record_title(old)
            self._close_session(old)
        self._scan_memory()
        if self.agent is not None:
            self.start_keeper()

    def _on_append(self, session: Session, entry: Entry) -> None:
        for collector in self._collectors:
            collector.ids.append(str(entry.get("id")))
        self.sink.emit(EntryAppended(session.session_id, entry))
        if entry.get("type") == "compaction":
            from .agent_events import CompactionFinished

            self.sink.emit(CompactionFinished(str(entry.get("trigger")), entry))

    @contextlib.contextmanager
    def collect(self) -> Iterator[list[str]]:
        """The ids of the entries appended while the block runs, in log order."""
        collector = _Appended()
        self._collectors.append(collector)
        try:
            yield collector.ids
        finally:
            self._collectors.remove(collector)

    def _close_session(self, session: Session) -> None:
        try:
            session.close()
        except WriteFailed as exc:
            self.sink.emit(Notice("error", str(exc)))

    def closing_notice(self) -> str | None:
        """The ``session … saved — resume with`` line, or None for an ephemeral session."""
        if self.session is None or self.session.path is None or self.session.discardable:
            return None  # an empty session is removed at close (Session.close), so nothing was saved
        short = self.session.short_id
        return f"session {short} saved — resume with: lime -r {short}"

    def sync(self) -> None:
        """End of a turn: fsync the log. A failure is reported as an error notice; the session stays usable."""
        if self.session is None:
            return
        try:
            self.session.sync()
        except WriteFailed as exc:
            self.sink.emit(Notice("error", str(exc)))

    def close(self) -> None:
        """Record an automatic title still on the way (waiting at most :data:`~.titler.CLOSE_WAIT` s),
        sync and close the session, stop the shell and the compaction worker; idempotent."""
        self._record_title(self.session, closing=True)
        if self.keeper is not None:
            self.keeper.stop()
        if self.shell is not None:
            shell, self.shell = self.shell, None
            shell.close()
        if self.session is not None:
            self._close_session(self.session)

    # -- context (microcompaction and compaction) ------------------------
    def start_keeper(self) -> ContextKeeper:
        """Build and start the context keeper once (attached to the agent). Raises UsageError for bad settings."""
        if self.keeper is None:
            from .keeper import build_keeper

            self.keeper = build_keeper(self.workspace, self.model_info(), self.agent)
            self.keeper.notify = self._compaction_notice
        if self.agent is not None:
            self.agent.context = self.keeper
        return self.keeper

    def _compaction_notice(self, phase: str, trigger: str, tokens: int) -> None:
        """The keeper's ``notify``: a compaction started, found nothing, or was cancelled (see ContextKeeper)."""
        from .agent_events import CompactionFinished, CompactionStarted

        if phase == "started":
            self.sink.emit(CompactionStarted(trigger, tokens))
        else:
            self.sink.emit(CompactionFinished(trigger, None, cancelled=phase == "cancelled"))

    def _before_prune(self, session: Session, path: Path) -> None:
        """The store is about to delete ``session``'s segment ``path``: compact its live entries first."""
        keeper = self.keeper
        from ..context.rotation import compact_before_prune

        entry = compact_before_prune(session, path, keeper.counter if keeper is not None else None)
        if entry is not None and keeper is not None:
            keeper.last_compaction = entry

    def observe(self) -> None:
        """Hand the keeper a snapshot after an operation, so it plans while the user types."""
        if self.keeper is not None and self.session is not None:
            self.keeper.observe(self.session.branch())

    def compact(self, hint: str | None = None) -> Entry | None:
        """Compact the active branch now (``trigger: "manual"``); the entry, or None when nothing to compact.

        Emits :class:`CompactionStarted`, then :class:`CompactionFinished`.
        ``KeyboardInterrupt`` propagates after a ``cancelled`` finish (nothing written).
        """
        from .agent_events import CompactionFinished, CompactionStarted

        keeper = self.start_keeper()
        session = self.current
        self.sink.emit(CompactionStarted("manual", keeper.tokens(session.branch())))
        try:
            with recording("the compaction was not recorded"):
                keeper.wait_idle(300)
                entry = keeper.compact_now(session, "manual", hint, announce=False)
        except KeyboardInterrupt:
            self.sink.emit(CompactionFinished("manual", None, cancelled=True))
            raise
        if entry is None:
            self.sink.emit(CompactionFinished("manual", None))
        self.sync()
        return entry

    def summarize_entries(self, entries: list[Entry], focus: str | None = None) -> tuple[str, bool]:
        """A summary of ``entries`` (branch summaries): ``(text, by_model)``; the extractive one when the model
        is not configured or fails (a warning notice then); never raises for provider errors."""
        from .keeper import summarize

        text, error = summarize(self.agent, entries, None, focus)
        if error is not None:
            self.sink.emit(Notice("warning", f"{error.message}; using an extractive summary"))
        return text, self.agent is not None and error is None

    # -- the model ---------------------------------------------------------
    def model_info(self) -> ModelInfo | None:
        """The catalog entry of the current model (user entries from config.toml included), or None."""
        return None if self.agent is None else catalog_info(self.workspace, self.agent.model)

    def switch_model(self, provider: str | None, model: str) -> None:
        """Use ``model`` (and ``provider``, or the catalog's, or the current one) from now on; records a
        ``model_change``.

        Raises :class:`UsageError` for a provider lime does not know, :class:`LimeError` when the
        provider has no key (:func:`~lime_repl.agent.providers.catalog.missing_credentials`); the
        model is unchanged then.
        """
        from ..agent.providers.catalog import choose_provider

        chosen = choose_provider(provider, model, {}, {})
        if chosen is None and self.agent is not None:  # a model the catalog does not know: same provider
            chosen = (self.agent.provider_name, model)
        if chosen is None:
            raise UsageError(f"no provider known for model {model!r}; give one: /model PROVIDER/MODEL")
        check_credentials(self.workspace, chosen[0], chosen[1], self.agent)
        if self.agent is None:
            self.agent = make_agent(self.workspace, chosen[0], chosen[1], self.yolo)
            if self.agent is not None and self.session is not None:
                self.start_keeper()
        else:
            self.agent.switch(*chosen)
        if self.keeper is not None:  # the new model's window and threshold from now on
            info = self.model_info()
            if info is not None:
                self.keeper.window, self.keeper.catalog_threshold = info.context_window, info.auto_compact_threshold
        self._record_model()

    def _record_model(self) -> None:
        session, agent = self.current, self.agent
        assert agent is not None
        last = None
        for entry in reversed(session.branch()):  # the newest one: read from the leaf back
            if entry.get("type") == "model_change" or (entry.get("type") == "message" and entry.get("model")):
                last = (entry.get("provider"), entry.get("model"))
                break
        if last != (agent.provider_name, agent.model):
            with recording("the model change was not recorded"):
                session.append({"type": "model_change", "provider": agent.provider_name, "model": agent.model})
        self._model_recorded = True

    def send_message(self, text: str) -> TurnOutcome:
        """One model turn for ``text``; its outcome, ``entries`` = the ids appended during the turn.

        Raises :class:`LimeError` (code 1, nothing recorded) when no provider is
        configured, :class:`StoreError` when the log refused an entry.
        """
        if self.agent is None:
            raise LimeError(NO_PROVIDER_HINT)
        session = self.current
        self._record_title(session)
        self.agent.tool_ctx.cwd = self.shell_cwd()
        self.start_keeper()
        with self.collect() as ids:
            try:
                with recording("the turn was not fully recorded"):
                    if not self._model_recorded:
                        self._record_model()
                    from .turn import SinkTurnUI

                    outcome = self.agent.run_turn(session, text, SinkTurnUI(self.sink))
            finally:
                self.sync()
        self.observe()
        outcome.entries = list(ids)
        if outcome.status == 0:
            self.titler.after_turn(session, self.agent)
        return outcome

    def _record_title(self, session: Session | None, *, closing: bool = False) -> None:
        """Record the automatic title that has arrived for ``session`` (``closing``: waiting at most
        :data:`~.titler.CLOSE_WAIT` s for one on the way); a refused write is an error notice.

        Nothing to do while :attr:`titler` was never used: no title can be on the way.
        """
        if self._titler is None:
            return
        from .titler import CLOSE_WAIT

        try:
            self._titler.record(session, wait=CLOSE_WAIT if closing else 0.0)
        except LimeError as exc:
            self.sink.emit(Notice("error", f"the automatic title was not recorded: {exc.message}"))

    def run_command(self, line: str, *, can_prefill: bool = False) -> CommandResult:
        """Run the slash command on ``line`` (``/name args``) from the registry; its result as data.

        ``can_prefill``: the front end can put text in the next prompt (the
        interactive REPL). Raises :class:`UsageError` for unknown commands.
        """
        self._record_title(self.session)
        from .commands import REGISTRY

        return REGISTRY.dispatch(self, line, can_prefill=can_prefill)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        sid = self.session.short_id if self.session is not None else "-"
        return f"<SessionRuntime {sid} {self.workspace.cwd}>"
