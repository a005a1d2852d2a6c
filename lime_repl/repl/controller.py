"""One running lime: its session, its persistent shell, and what each input line does.

The interactive REPL and line mode share this object and only add their own
I/O (the shape of Pi's agent session shared by its modes). A line is a
``!command`` (run in the persistent shell and recorded as a bash triple), a
``/command`` (looked up in :mod:`lime_repl.repl.commands`) or text for the model.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from ..context.memory import MemoryFile, build_system_prompt, find_memory_files
from ..errors import LimeError, StoreError, UsageError
from ..paths import find_project_root
from ..store.segments import WriteFailed
from ..store.session import Session
from ..workspace import Workspace
from .console import Console

__all__ = ["NO_PROVIDER_HINT", "Controller"]

log = logging.getLogger("lime")

NO_PROVIDER_HINT = (
    "no model provider is configured: set OPENAI_API_KEY, ANTHROPIC_API_KEY or OPENAI_BASE_URL "
    "(or --provider/--model); '!command' lines work without one"
)


class Controller:
    """Session, shell and line dispatch for one lime process.

    ``ephemeral`` (``--no-session``) keeps the session in memory only. The
    shell starts lazily, at the first ``!`` line, and is closed by :meth:`close`.
    """

    def __init__(
        self,
        workspace: Workspace,
        console: Console,
        *,
        ephemeral: bool = False,
        provider: str | None = None,
        model: str | None = None,
        yolo: bool = False,
    ) -> None:
        self.workspace = workspace
        self.console = console
        self.ephemeral = ephemeral
        self.session: Session | None = None
        self.shell = None  # PersistentShell, started at the first ``!`` line
        self.running = True
        self.last_status = 0
        self.memory: list[MemoryFile] = []
        self.agent = self._make_agent(provider, model, yolo)
        self._model_recorded = False
        self._keeper = None
        self.next_input: str | None = None  # pre-filled text for the next prompt (/tree, /fork)

    # -- context (microcompaction and compaction) ------------------------
    @property
    def keeper(self):  # type: ignore[no-untyped-def]
        """The session's :class:`~lime_repl.context.scheduler.ContextKeeper`, built and started on first use."""
        if self._keeper is None:
            from ..context.compaction import load_settings
            from ..context.scheduler import ContextKeeper

            try:
                settings = load_settings(self.workspace.config.data, self.workspace.env)
            except (TypeError, ValueError) as exc:
                raise UsageError(f"bad [compaction] setting: {exc}") from None
            info = self.model_info()
            keeper = ContextKeeper(
                settings,
                window=info.context_window if info is not None else 128_000,
                catalog_threshold=info.auto_compact_threshold if info is not None else None,
                summarize=self._quiet_summary,
            )
            keeper.start()
            self._keeper = keeper
            if self.agent is not None:
                self.agent.context = keeper
        return self._keeper

    def _quiet_summary(self, entries: list, previous: str | None, hint: str | None) -> str:
        """Summarizer for the background worker: the model if reachable, else extractive; logs, never prints."""
        from ..context.summary import extractive_summary

        if self.agent is not None:
            try:
                return self.agent.summarize(entries, previous, hint)
            except LimeError as exc:
                log.warning("compaction summary by the model failed (%s); using an extractive summary", exc)
        return extractive_summary(entries, previous, hint)

    def _before_prune(self, session: Session, path: Path) -> None:
        """The store is about to delete ``session``'s segment ``path``: compact its live entries first.

        The summary is extractive (:mod:`lime_repl.context.rotation` says why).
        """
        from ..context.rotation import compact_before_prune

        keeper = self._keeper
        entry = compact_before_prune(session, path, keeper.counter if keeper is not None else None)
        if entry is not None and keeper is not None:
            keeper.last_compaction = entry

    def observe(self) -> None:
        """Hand the keeper a snapshot after a line, so it plans while the user types."""
        if self._keeper is not None and self.session is not None:
            self._keeper.observe(self.session.branch())

    # -- the model -----------------------------------------------------
    def _make_agent(self, provider: str | None, model: str | None, yolo: bool):  # type: ignore[no-untyped-def]
        """The agent for the configured provider, or None when none is configured (a recorded shell)."""
        from ..agent.providers.catalog import choose_provider

        ws = self.workspace
        config = ws.config
        chosen = choose_provider(provider, model, ws.env, config.data)
        if chosen is None:
            return None
        from ..agent.loop import Agent

        def factory(name: str):  # type: ignore[no-untyped-def]
            from ..agent.providers.catalog import make_provider

            options = config.get(f"providers.{name}", {})
            return make_provider(name, ws.env, options if isinstance(options, dict) else {})

        agent = Agent(chosen[0], chosen[1], factory, cwd=ws.cwd, env=dict(ws.env), yolo=yolo)
        agent.redact = config.get("redact", True) is not False
        return agent

    def model_info(self):  # type: ignore[no-untyped-def]
        """The catalog entry of the current model (user entries from config.toml included), or None."""
        if self.agent is None:
            return None
        from ..agent.providers.catalog import model_info_for

        return model_info_for(self.workspace.config, self.agent.model)

    def switch_model(self, provider: str | None, model: str) -> None:
        """Use ``model`` (and ``provider``, or the catalog's) from now on; records a ``model_change``."""
        from ..agent.providers.catalog import choose_provider

        chosen = choose_provider(provider, model, {}, {})
        if chosen is None:
            raise UsageError(f"no provider known for model {model!r}; give one: /model PROVIDER/MODEL")
        if self.agent is None:
            self.agent = self._make_agent(chosen[0], chosen[1], False)
        else:
            self.agent.switch(*chosen)
        self._record_model()

    def summarize_entries(
        self, entries: list[dict], focus: str | None = None, previous: str | None = None
    ) -> tuple[str, bool]:
        """A summary of ``entries`` (branch summaries, compaction): ``(text, by_model)``.

        Uses the model when one is configured and reachable, else the
        deterministic extractive summary; never raises for provider errors.
        """
        from ..context.summary import extractive_summary

        if self.agent is not None:
            try:
                return self.agent.summarize(entries, previous, focus), True
            except LimeError as exc:
                self.console.warn(f"{exc.message}; using an extractive summary")
        return extractive_summary(entries, previous, focus), False

    def _record_model(self) -> None:
        assert self.session is not None and self.agent is not None
        last = None
        for entry in self.session.branch():
            if entry.get("type") == "model_change" or (entry.get("type") == "message" and entry.get("model")):
                last = (entry.get("provider"), entry.get("model"))
        if last != (self.agent.provider_name, self.agent.model):
            self.session.append(
                {"type": "model_change", "provider": self.agent.provider_name, "model": self.agent.model}
            )
        self._model_recorded = True

    # -- sessions ------------------------------------------------------
    def _system_prompt(self) -> str:
        ws = self.workspace
        self.memory = find_memory_files(ws.home, find_project_root(ws.cwd, ws.env), ws.cwd)
        return build_system_prompt(self.memory, ws.cwd)

    def new_session(self) -> Session:
        """Close the current session and start a new one (header written now)."""
        prompt = self._system_prompt()
        session = (
            Session.ephemeral(str(self.workspace.cwd), prompt, guard=self.workspace.store_options.guard)
            if self.ephemeral
            else self.workspace.create_session(system_prompt=prompt)
        )
        self._switch(session)
        return session

    def resume(self, path: Path) -> Session:
        """Close the current session and resume ``path`` as its writer. Raises a LimeError."""
        if self.session is not None and self.session.path is not None and self.session.path == path:
            return self.session
        session = self.workspace.open_session(path)
        self._switch(session)
        self._system_prompt()
        for warning in session.warnings:
            self.console.warn(warning)
            log.warning(warning)
        session.warnings.clear()
        if session.dropped_entries:
            self.console.notice(
                f"rotation dropped the {session.dropped_entries} earliest entries of this session; "
                f"resuming from segment {session.first_segment}"
            )
        return session

    def adopt(self, session: Session) -> Session:
        """Continue in ``session`` (a fork or clone, already open as its writer); closes the current one."""
        self._switch(session)
        self._system_prompt()
        return session

    def _switch(self, session: Session) -> None:
        session.redact = self.redactor
        old, self.session = self.session, session
        session.on_prune = lambda path: self._before_prune(session, path)
        if old is not None:
            self._close_session(old)

    def _close_session(self, session: Session) -> None:
        try:
            session.close()
        except WriteFailed as exc:
            self.console.error(str(exc))

    def closing_notice(self) -> str | None:
        """The ``session … saved — resume with`` line, or None for an ephemeral session."""
        if self.session is None or self.session.path is None:
            return None
        short = self.session.short_id
        return f"session {short} saved — resume with: lime -r {short}"

    def close(self) -> None:
        """Sync and close the session, stop the shell and the compaction worker; idempotent."""
        if self._keeper is not None:
            self._keeper.stop()
        if self.shell is not None:
            shell, self.shell = self.shell, None
            shell.close()
        if self.session is not None:
            self._close_session(self.session)

    # -- lines ---------------------------------------------------------
    def handle_line(self, line: str) -> int:
        """Handle one input line; returns its status (the exit code of a ``!`` command, 0/1/2 otherwise)."""
        text = line.rstrip("\r\n")
        stripped = text.strip()
        if not stripped:
            return self.last_status
        try:
            if stripped.startswith("!"):
                status = self.run_bang(stripped[1:].strip())
            elif stripped.startswith("/"):
                from .commands import REGISTRY

                status = REGISTRY.dispatch(self, stripped)
            else:
                status = self.send_text(text)
        except LimeError as exc:
            self.console.error(exc.message)
            status = exc.exit_code
        self.last_status = status
        self.sync()
        self.observe()
        return status

    def sync(self) -> None:
        """End of a turn: fsync the log. A failure is reported, and the REPL keeps running."""
        if self.session is None:
            return
        try:
            self.session.sync()
        except WriteFailed as exc:
            self.console.error(str(exc))

    def ensure_shell(self):  # type: ignore[no-untyped-def]
        """The persistent shell, started in the session's working directory on first use."""
        if self.shell is None:
            from .shell import PersistentShell

            shell = PersistentShell(self.workspace.cwd, env=dict(self.workspace.env))
            shell.start()
            self.shell = shell
        return self.shell

    def run_bang(self, command: str) -> int:
        """Run ``command`` in the persistent shell, stream its output, record the bash triple."""
        if not command:
            self.console.error("'!' needs a command, e.g. !ls")
            return 2
        shell = self.ensure_shell()
        result = shell.run(command, on_stdout=self.console.stdout_bytes, on_stderr=self.console.stderr_bytes)
        if result.interrupted:
            self.console.notice("^C interrupted; the command was recorded as cancelled")
        self.record_bash(command, result)
        return result.exit_code

    @property
    def redactor(self):  # type: ignore[no-untyped-def]
        """The session's :class:`~lime_repl.outputs.redact.Redactor` (None when ``redact = false``), built once."""
        if self.workspace.config.get("redact", True) is False:
            return None
        if getattr(self, "_redactor", None) is None:
            from ..outputs.redact import Redactor

            self._redactor = Redactor(self.workspace.env)
        return self._redactor

    def record_bash(self, command: str, result) -> list[dict]:  # type: ignore[no-untyped-def]
        """Record a finished ``!command`` (a ``ShellResult``) as the bash triple; returns the 3 entries.

        Shared by ``run_bang`` and the bridge. Raises :class:`StoreError` when the log refuses the write.
        """
        assert self.session is not None
        scrub = self.redactor
        if scrub is not None and self.shell is not None:
            scrub.learn(self.shell.env)  # secrets exported by this command are known from now on
        # Only the log is redacted (before the cut): the terminal has already shown the real output.
        stdout, stderr = result.stdout.text(scrub), result.stderr.text(scrub)
        try:
            return self.session.append_bash(
                command,
                stdout,
                stderr,
                exit_code=result.exit_code,
                duration_ms=result.duration_ms,
                truncated_bytes={"stdout": result.stdout.truncated, "stderr": result.stderr.truncated},
                cwd=result.cwd,
            )
        except WriteFailed as exc:
            raise StoreError(f"{exc.strerror or exc}; the command ran but was not recorded") from None

    def send_text(self, text: str) -> int:
        """A message for the model. With no provider configured: one explanatory line, nothing recorded."""
        if self.agent is None:
            self.console.error(NO_PROVIDER_HINT)
            return 1
        assert self.session is not None
        from .render import TerminalUI

        ui = TerminalUI(self.console, can_ask=self.console.interactive or sys.stdin.isatty())
        if self.shell is not None:
            self.agent.tool_ctx.cwd = Path(self.shell.cwd)
        self.keeper  # noqa: B018 - builds and starts the keeper, attaches it to the agent
        try:
            if not self._model_recorded:
                self._record_model()
            outcome = self.agent.run_turn(self.session, text, ui)
        except WriteFailed as exc:
            raise StoreError(f"{exc.strerror or exc}; the turn was not fully recorded") from None
        if outcome.status == 130:
            self.console.notice("^C cancelled; the partial answer was recorded")
        if outcome.error:
            self.console.error(outcome.error)
        return outcome.status
