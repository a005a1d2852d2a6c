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
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..context.memory import MemoryFile, build_system_prompt, find_memory_files
from ..errors import LimeError, UsageError
from ..outputs.redact import Redactor, use_rules_cache
from ..paths import cache_dir, find_project_root
from ..store.records import Entry
from ..store.segments import WriteFailed
from ..store.session import Session
from ..workspace import Workspace
from .events import CompactionFinished, CompactionStarted, EntryAppended, Notice, ShellOutput, Sink
from .model import NO_PROVIDER_HINT, catalog_info, make_agent
from .shell import PersistentShell, ShellResult
from .writes import ShellOutcome, record_bash, recording

if TYPE_CHECKING:  # a `!` line loads none of these: the model, context and command modules load when used
    from ..agent.loop import Agent, TurnOutcome
    from ..agent.providers.catalog import ModelInfo
    from ..context.scheduler import ContextKeeper
    from .commands import CommandResult

__all__ = ["ShellOutcome", "SessionRuntime"]

log = logging.getLogger("lime")


@dataclass
class _Appended:
    """Entry ids appended while an operation ran (collected from ``on_append``)."""

    ids: list[str] = field(default_factory=list)


class SessionRuntime:
    """Session, shell, agent and keeper of one running lime (see the module docstring).

    ``ephemeral`` (``--no-session``) keeps sessions in memory only. The shell
    starts at the first ``!`` command; the keeper is built and started when a
    session is attached and a model is configured (else at the first
    compaction); :meth:`close` stops both.
    """

    def __init__(self, workspace: Workspace, sink: Sink, *, ephemeral: bool, agent: Agent | None) -> None:
        self.workspace = workspace
        self.sink = sink
        self.ephemeral = ephemeral
        self.agent = agent
        self.session: Session | None = None
        self.shell: PersistentShell | None = None
        self.keeper: ContextKeeper | None = None
        self.memory: list[MemoryFile] = []
        self._model_recorded = False
        self._collectors: list[_Appended] = []
        use_rules_cache(cache_dir(workspace.env) / "redact-rules.json")  # no detect-secrets import per process
        self.redactor = None if workspace.config.get("redact", True) is False else Redactor(workspace.env)

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
        return cls(workspace, sink, ephemeral=ephemeral, agent=make_agent(workspace, provider, model, yolo))

    # -- sessions --------------------------------------------------------
    @property
    def current(self) -> Session:
        """The attached session. Raises :class:`UsageError` when none is attached yet."""
        if self.session is None:
            raise UsageError("no session is open")
        return self.session

    def new_session(self, title: str | None = None) -> Session:
        """Close the current session and start a new one here (header written now), titled ``title``."""
        prompt = self._system_prompt()
        session = (
            Session.ephemeral(str(self.workspace.cwd), prompt, guard=self.workspace.store_options.guard)
            if self.ephemeral
            else self.workspace.create_session(system_prompt=prompt)
        )
        self._attach(session)
        if title:
            self.rename(title)
        return session

    def resume(self, path: Path) -> Session:
        """Close the current session and resume ``path`` as its writer. Raises a LimeError (3 when locked)."""
        if self.session is not None and self.session.path is not None and self.session.path == path:
            return self.session
        session = self.workspace.open_session(path)
        self._attach(session)
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
        session and continue there; the source is only read."""
        return self.adopt(self.workspace.fork_session(path, entry_id))

    def copy_branch(self, upto: str | None) -> Session:
        """A new session holding the active branch up to ``upto`` (None: nothing), ``forkedFrom`` set; not adopted."""
        source = self.current
        self.sync()
        forked_from = {"sessionId": source.session_id, "entryId": upto or ""}
        if source.path is None:  # --no-session: the copy lives in memory too
            copy = Session.ephemeral(str(self.workspace.cwd), source.system_prompt, guard=source.output_guard)
            copy.header["forkedFrom"] = forked_from
            for entry in source.branch(upto) if upto else []:
                copy.append_copy(entry)
            return copy
        if upto is None:
            return self.workspace.create_session(system_prompt=source.system_prompt, forked_from=forked_from)
        return self.workspace.fork_session(source.path, upto)

    def clone(self) -> Session:
        """Copy the active branch up to the leaf into a new session and continue there."""
        return self.adopt(self.copy_branch(self.current.leaf_id))

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
            self._close_session(old)
        self._scan_memory()
        if self.agent is not None:
            self.start_keeper()

    def _on_append(self, session: Session, entry: Entry) -> None:
        for collector in self._collectors:
            collector.ids.append(str(entry.get("id")))
        self.sink.emit(EntryAppended(session.session_id, entry))
        if entry.get("type") == "compaction":
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
        """Sync and close the session, stop the shell and the compaction worker; idempotent."""
        if self.keeper is not None:
            self.keeper.stop()
        if self.shell is not None:
            shell, self.shell = self.shell, None
            shell.close()
        if self.session is not None:
            self._close_session(self.session)

    # -- memory and the system prompt ------------------------------------
    def _scan_memory(self) -> list[MemoryFile]:
        ws = self.workspace
        self.memory = find_memory_files(ws.home, find_project_root(ws.cwd, ws.env), ws.cwd)
        return self.memory

    def _system_prompt(self) -> str:
        return build_system_prompt(self._scan_memory(), self.workspace.cwd)

    def memory_files(self) -> list[MemoryFile]:
        """The memory files as they are on disk now (paths and current sizes)."""
        return self._scan_memory()

    def reload_memory(self) -> Entry:
        """Rebuild the system prompt from the memory files and record it as a ``system_prompt`` entry {``text``}.

        The transcript uses the newest ``system_prompt`` entry on the branch
        (DESIGN.md section 4), so the next request and every resume carry it.
        """
        prompt = self._system_prompt()
        with recording("the new system prompt was not recorded"):
            return self.current.append({"type": "system_prompt", "text": prompt})

    # -- context (microcompaction and compaction) ------------------------
    def start_keeper(self) -> ContextKeeper:
        """Build and start the context keeper once (attached to the agent). Raises UsageError for bad settings."""
        if self.keeper is None:
            from .keeper import build_keeper

            self.keeper = build_keeper(self.workspace, self.model_info(), self.agent)
        if self.agent is not None:
            self.agent.context = self.keeper
        return self.keeper

    def _before_prune(self, session: Session, path: Path) -> None:
        """The store is about to delete ``session``'s segment ``path``: compact its live entries first."""
        from ..context.rotation import compact_before_prune

        keeper = self.keeper
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
        keeper = self.start_keeper()
        session = self.current
        self.sink.emit(CompactionStarted("manual"))
        try:
            with recording("the compaction was not recorded"):
                keeper.wait_idle(300)
                entry = keeper.compact_now(session, "manual", hint)
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
        """Use ``model`` (and ``provider``, or the catalog's) from now on; records a ``model_change``."""
        from ..agent.providers.catalog import choose_provider

        chosen = choose_provider(provider, model, {}, {})
        if chosen is None:
            raise UsageError(f"no provider known for model {model!r}; give one: /model PROVIDER/MODEL")
        if self.agent is None:
            self.agent = make_agent(self.workspace, chosen[0], chosen[1], False)
            if self.agent is not None and self.session is not None:
                self.start_keeper()
        else:
            self.agent.switch(*chosen)
        self._record_model()

    def _record_model(self) -> None:
        session, agent = self.current, self.agent
        assert agent is not None
        last = None
        for entry in session.branch():
            if entry.get("type") == "model_change" or (entry.get("type") == "message" and entry.get("model")):
                last = (entry.get("provider"), entry.get("model"))
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
        if self.shell is not None:
            self.agent.tool_ctx.cwd = Path(self.shell.cwd)
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
        return outcome

    # -- the ``!`` shell -----------------------------------------------------
    def ensure_shell(self) -> PersistentShell:
        """The persistent shell, started in the workspace's directory on first use."""
        if self.shell is None:
            shell = PersistentShell(self.workspace.cwd, env=dict(self.workspace.env))
            shell.start()
            self.shell = shell
        return self.shell

    def shell_cwd(self) -> Path:
        """Where the user is: the shell's working directory, else the workspace's."""
        return Path(self.shell.cwd) if self.shell is not None and self.shell.cwd else self.workspace.cwd

    def run_shell(self, command: str) -> ShellOutcome:
        """Run ``command`` in the persistent shell, streaming :class:`ShellOutput`; record the bash triple.

        Raises :class:`UsageError` for an empty command, :class:`StoreError`
        when the log refuses the triple (the command has run).
        """
        if not command:
            raise UsageError("'!' needs a command, e.g. !ls")
        shell = self.ensure_shell()
        emit = self.sink.emit
        result = shell.run(
            command,
            on_stdout=lambda data: emit(ShellOutput("stdout", data)),
            on_stderr=lambda data: emit(ShellOutput("stderr", data)),
        )
        if result.interrupted:
            emit(Notice("info", "^C interrupted; the command was recorded as cancelled"))
        entries = self._record_bash(command, result)
        self.sync()
        self.observe()
        return ShellOutcome([str(e["id"]) for e in entries], result.exit_code, result.cwd, result.interrupted)

    def _record_bash(self, command: str, result: ShellResult) -> list[Entry]:
        scrub = self.redactor
        if scrub is not None and self.shell is not None:
            scrub.learn(self.shell.env)  # secrets exported by this command are known from now on
        return record_bash(self.current, command, result, scrub)

    # -- small writes ----------------------------------------------------------
    def set_leaf(self, entry_id: str | None) -> Entry:
        """Move the leaf to ``entry_id`` (None: before the first entry) with a ``leaf`` entry."""
        with recording("the move was not recorded"):
            return self.current.set_leaf(entry_id)

    def label(self, entry_id: str, label: str | None) -> Entry:
        """Label ``entry_id`` (None or '' clears) with a ``label`` entry."""
        with recording("the label was not recorded"):
            return self.current.label(entry_id, label or None)

    def rename(self, title: str | None) -> Entry:
        """Set the session's title (None or '' clears) with a ``title`` entry."""
        with recording("the title was not recorded"):
            return self.current.rename(title)

    def branch_summary(self, from_id: str | None, summary: str, parent_id: str | None) -> Entry:
        """Write a ``branch_summary`` entry {``fromId``, ``summary``} under ``parent_id``; the leaf moves to it."""
        with recording("the branch summary was not recorded"):
            return self.current.append(
                {"type": "branch_summary", "fromId": from_id, "summary": summary}, parent_id=parent_id
            )

    def export(self, fmt: str | None, path: str | None, *, cwd: Path | None = None) -> Path:
        """Export the session (synced first) as ``fmt`` to ``path`` (relative to ``cwd``, default the shell's);
        see :func:`lime_repl.exchange.export.export_session` for formats, names and errors."""
        session = self.current
        self.sync()
        saved = session.path is not None and session.path.exists()
        from ..exchange.export import export_session

        return export_session(
            session.path if saved else None,
            fmt,
            path,
            cwd=cwd or self.shell_cwd(),
            env=self.workspace.env,
            session=None if saved else session,
        )

    def run_command(self, line: str, *, can_prefill: bool = False) -> CommandResult:
        """Run the slash command on ``line`` (``/name args``) from the registry; its result as data.

        ``can_prefill``: the front end can put text in the next prompt (the
        interactive REPL). Raises :class:`UsageError` for unknown commands.
        """
        from .commands import REGISTRY

        return REGISTRY.dispatch(self, line, can_prefill=can_prefill)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        sid = self.session.short_id if self.session is not None else "-"
        return f"<SessionRuntime {sid} {self.workspace.cwd}>"
