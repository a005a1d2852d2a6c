"""The slash-command registry (DESIGN.md section 5).

Each command is registered once with its name, aliases, argument hint, help
text (the handler's docstring, as in aider's commands) and an argument
completer; ``/help`` and tab completion are generated from the registry, and
dispatch is a dictionary look-up (the shape of litecli's special commands).
A handler takes the :class:`~lime_repl.repl.controller.Controller` and the
argument string and returns a status (0 ok, 1 failure, 2 usage error).
"""

from __future__ import annotations

import inspect
import shlex
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..textsafe import safe_line

if TYPE_CHECKING:
    from .controller import Controller

__all__ = ["REGISTRY", "Command", "Registry"]

Handler = Callable[["Controller", str], int]
ArgCompleter = Callable[["Controller", str], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class Command:
    """One slash command: ``name`` without the slash, ``aliases``, ``args`` hint, ``help`` line."""

    name: str
    handler: Handler
    aliases: tuple[str, ...] = ()
    args: str = ""
    help: str = ""
    complete: ArgCompleter | None = None


@dataclass
class Registry:
    """Commands by name and alias."""

    commands: dict[str, Command] = field(default_factory=dict)
    by_name: dict[str, Command] = field(default_factory=dict)

    def register(
        self,
        name: str,
        *,
        aliases: tuple[str, ...] = (),
        args: str = "",
        complete: ArgCompleter | None = None,
    ) -> Callable[[Handler], Handler]:
        def wrap(handler: Handler) -> Handler:
            doc = inspect.getdoc(handler) or ""
            command = Command(name, handler, aliases, args, doc.splitlines()[0] if doc else "", complete)
            self.commands[name] = command
            for key in (name, *aliases):
                self.by_name[key] = command
            return handler

        return wrap

    def lookup(self, word: str) -> Command | None:
        return self.by_name.get(word.lstrip("/"))

    def dispatch(self, controller: Controller, line: str) -> int:
        """Run the command on ``line`` (``/name args``). Unknown commands are a usage error (2)."""
        word, _, rest = line.strip().partition(" ")
        command = self.lookup(word)
        if command is None:
            raise UsageError(f"unknown command {word}; /help lists the commands")
        return command.handler(controller, rest.strip())


REGISTRY = Registry()


def _session_ids(controller: Controller, prefix: str) -> Iterable[tuple[str, str]]:
    yield ("latest", "the most recent session here")
    for info in controller.workspace.list_sessions():
        if info.id.startswith(prefix):
            yield (info.id[:8], safe_line(info.title or (info.first_message or "")[:40] or info.updated))


@REGISTRY.register("help", aliases=("?",))
def cmd_help(ctl: Controller, args: str) -> int:
    """Show the commands and what they do."""
    console = ctl.console
    console.out(
        "Lines: !command runs in your shell; /command is a lime command; anything else goes to the model."
    )
    for command in REGISTRY.commands.values():
        names = " ".join(f"/{n}" for n in (command.name, *command.aliases))
        usage = f"{names} {command.args}".strip()
        console.out(f"  {usage:<44} {command.help}")
    return 0


@REGISTRY.register("new", aliases=("clear",))
def cmd_new(ctl: Controller, args: str) -> int:
    """Start a new session in this directory."""
    session = ctl.new_session()
    ctl.console.notice(f"new session {session.short_id}")
    return 0


@REGISTRY.register("resume", aliases=("sessions", "continue"), args="[latest|ID]", complete=_session_ids)
def cmd_resume(ctl: Controller, args: str) -> int:
    """Resume a session by 'latest' or id prefix; without one, choose in the session picker."""
    if not args and ctl.console.interactive:
        from .picker import pick_session

        picked = pick_session(ctl.workspace, current=ctl.session)
        if picked is None:
            return 0
        args = str(picked)
    if not args:
        sessions = ctl.workspace.list_sessions()
        if not sessions:
            ctl.console.out("no sessions in this directory yet")
            return 0
        for info in sessions[:20]:
            mark = "*" if ctl.session is not None and info.id == ctl.session.session_id else " "
            ctl.console.out(
                f"{mark} {info.id[:8]}  {info.updated[:16]}  {info.entries:>5}  {safe_line(info.title or '')}"
            )
        ctl.console.notice("resume one with /resume ID")
        return 0
    path = ctl.workspace.resolve(args)
    session = ctl.resume(path)
    ctl.console.notice(f"resumed session {session.short_id} ({len(session.entries)} entries)")
    return 0


@REGISTRY.register("rename", aliases=("name", "title"), args="<title>")
def cmd_rename(ctl: Controller, args: str) -> int:
    """Set the session's title."""
    if not args:
        raise UsageError("usage: /rename <title>")
    assert ctl.session is not None
    ctl.session.rename(args)
    ctl.console.notice(f"session {ctl.session.short_id} is now titled {args!r}")
    return 0


@REGISTRY.register("status", aliases=("session",))
def cmd_status(ctl: Controller, args: str) -> int:
    """Show the session id, files, segments, entries and workspace."""
    session = ctl.session
    assert session is not None
    ws = ctl.workspace
    files = session.segment_files()
    out = ctl.console.out
    out(f"session    {session.session_id}")
    out(f"title      {session.title or '(untitled)'}")
    out(f"file       {session.path or '(not saved: --no-session)'}")
    out(f"segments   {len(files)} (active: segment {session.segment})")
    for path in files[1:]:
        out(f"           {path}")
    out(
        f"entries    {len(session.entries)}"
        + (f" (+{session.dropped_entries} dropped by rotation)" if session.dropped_entries else "")
    )
    if session.path is not None:
        from ..store.retention import holding

        held = holding(session.path)
        keeps = "all rotated segments" if session.retain == 0 else f"{session.retain} rotated segments"
        out(f"holds      {held.bytes:,} bytes; rotation dropped {held.dropped} entries so far; keeps {keeps}")
    out(f"leaf       {session.leaf_id or '-'}")
    out(f"workspace  {ws.cwd} ({ws.scope} sessions in {ws.sessions_dir})")
    if ctl.shell is not None:
        out(f"shell cwd  {ctl.shell.cwd}")
    info = ctl.model_info()
    if ctl.agent is None or info is None:
        out("model      none configured (a recorded shell: set OPENAI_API_KEY or ANTHROPIC_API_KEY)")
        return 0
    out(f"model      {ctl.agent.model} ({ctl.agent.provider_name})")
    usage = session_usage(session)
    context = ctl.agent.last_usage or {}
    used = int(context.get("input_tokens", 0)) + int(context.get("output_tokens", 0))
    window = info.context_window
    out(
        f"context    {used:,} / {window:,} tokens ({100 * used / window:.1f}%)"
        if window
        else f"context    {used:,}"
    )
    out(
        f"tokens     {usage['input_tokens']:,} in, {usage['output_tokens']:,} out, "
        f"{usage['cache_read_tokens']:,} cached"
    )
    out(f"cost       ${sum(_cost(ctl, m) for m in session.entries.values()):.4f}")
    keeper = ctl.keeper
    last = keeper.last_compaction or session.compaction
    auto = f"auto at {keeper.threshold:,} tokens" if keeper.settings.auto else "auto off"
    out(f"compaction {keeper.state}, {auto}, context ≈ {keeper.tokens(session.branch()):,} tokens")
    if last is not None:
        out(f"           last: {last.get('trigger')} at {str(last.get('timestamp', ''))[:19]}, "
            f"{last.get('tokensBefore', 0):,} → {last.get('tokensAfter', 0):,} tokens")
    return 0


def session_usage(session: Any) -> dict[str, int]:
    """Token totals over every assistant message of the session (all branches)."""
    totals = {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0}
    for entry in session.entries.values():
        usage = entry.get("usage")
        if entry.get("type") == "message" and isinstance(usage, dict):
            for key in totals:
                value = usage.get(key)
                totals[key] += value if isinstance(value, int) else 0
    return totals


def _cost(ctl: Controller, entry: dict[str, Any]) -> float:
    usage = entry.get("usage")
    if (
        entry.get("type") != "message"
        or not isinstance(usage, dict)
        or not isinstance(entry.get("model"), str)
    ):
        return 0.0
    from ..agent.providers.catalog import model_info_for

    try:
        return float(model_info_for(ctl.workspace.config, entry["model"]).cost(usage))
    except (TypeError, ValueError):
        return 0.0


def _models(ctl: Controller, prefix: str) -> Iterable[tuple[str, str]]:
    from ..agent.providers.catalog import load_catalog

    for name, info in sorted(load_catalog().items()):
        yield name, info.provider


@REGISTRY.register("model", args="[PROVIDER/]NAME", complete=_models)
def cmd_model(ctl: Controller, args: str) -> int:
    """Show the model, or switch to another one (recorded as a model_change)."""
    if not args:
        if ctl.agent is None:
            ctl.console.out("no model configured; /model NAME picks one (its provider needs a key)")
        else:
            ctl.console.out(f"{ctl.agent.model} ({ctl.agent.provider_name})")
        return 0
    provider, _, model = args.rpartition("/")
    ctl.switch_model(provider or None, model)
    assert ctl.agent is not None
    ctl.console.notice(f"model: {ctl.agent.model} ({ctl.agent.provider_name})")
    return 0


@REGISTRY.register("compact", aliases=("summarize",), args="[hint]")
def cmd_compact(ctl: Controller, args: str) -> int:
    """Compact the context now; the hint says what the summary must keep."""
    assert ctl.session is not None
    keeper = ctl.keeper
    try:
        with ctl.console.spinner("compacting"):
            keeper.wait_idle(300)
            entry = keeper.compact_now(ctl.session, "manual", args or None)
    except KeyboardInterrupt:
        ctl.console.notice("compaction cancelled; nothing was written")
        return 130
    if entry is None:
        ctl.console.notice("nothing to compact yet")
        return 0
    ctl.console.notice(f"compacted: {entry['tokensBefore']:,} → {entry['tokensAfter']:,} tokens")
    return 0


@REGISTRY.register("memory")
def cmd_memory(ctl: Controller, args: str) -> int:
    """List the instruction files (AGENTS.md, LIME.md) in the system prompt."""
    if not ctl.memory:
        ctl.console.out(
            "no memory files (AGENTS.md or LIME.md in the profile, project root or this directory)"
        )
        return 0
    for memory in ctl.memory:
        ctl.console.out(f"{memory.path}  ({memory.size} bytes)")
    return 0


@REGISTRY.register("logs")
def cmd_logs(ctl: Controller, args: str) -> int:
    """Show the session's JSONL file and segments; page it with $PAGER in a terminal."""
    session = ctl.session
    assert session is not None
    files = session.segment_files()
    if not files:
        ctl.console.out("this session is not saved (--no-session)")
        return 0
    for path in files:
        ctl.console.out(str(path))
    if ctl.console.interactive and ctl.console.stdout.isatty():
        ctl.sync()
        pager = shlex.split(ctl.workspace.env.get("PAGER") or "less -R")
        try:
            subprocess.run([*pager, str(files[0])], check=False)
        except OSError as exc:
            ctl.console.error(f"cannot run the pager {pager[0]}: {exc.strerror}")
            return 1
    return 0


def _entry_ids(ctl: Controller, prefix: str) -> Iterable[tuple[str, str]]:
    from ..views.tree import preview

    if ctl.session is not None:
        for entry in ctl.session.branch():
            yield entry["id"], preview(entry)[:60]


@REGISTRY.register("tree", args="[ID]", complete=_entry_ids)
def cmd_tree(ctl: Controller, args: str) -> int:
    """Navigate the session tree: move the leaf, edit an earlier message, label, fold, filter."""
    from .branching import tree_command

    return tree_command(ctl, args)


@REGISTRY.register("fork", args="[N|ID]")
def cmd_fork(ctl: Controller, args: str) -> int:
    """Start a new session from before an earlier user message of this branch."""
    from .branching import fork_command

    return fork_command(ctl, args)


@REGISTRY.register("clone")
def cmd_clone(ctl: Controller, args: str) -> int:
    """Copy the active branch into a new session and continue there."""
    from .branching import clone_command

    return clone_command(ctl, args)


@REGISTRY.register("label", args="[text]")
def cmd_label(ctl: Controller, args: str) -> int:
    """Label the leaf (a bookmark for /tree); no text clears the label."""
    from .branching import label_command

    return label_command(ctl, args)


def _export_formats(ctl: Controller, prefix: str) -> Iterable[tuple[str, str]]:
    from .export_command import complete_formats

    return complete_formats(ctl, prefix)


@REGISTRY.register("export", args="[jsonl|json|md|html|zip|pi|claude|codex] [PATH]", complete=_export_formats)
def cmd_export(ctl: Controller, args: str) -> int:
    """Export this session to PATH (default: lime-<id8>-<time>.<ext> here); the format defaults to md."""
    from .export_command import export_command

    return export_command(ctl, args, None)


@REGISTRY.register("export-md", args="[PATH]")
def cmd_export_md(ctl: Controller, args: str) -> int:
    """Export this session as Markdown (the same as /export md)."""
    from .export_command import export_command

    return export_command(ctl, args, "md")


@REGISTRY.register("quit", aliases=("exit",))
def cmd_quit(ctl: Controller, args: str) -> int:
    """Save and leave lime."""
    ctl.running = False
    return ctl.last_status
