"""The session's own slash commands: ``/help``, ``/new``, ``/resume``, ``/rename``, ``/status``, ``/model``,
``/compact``, ``/memory``, ``/logs`` and ``/quit`` (DESIGN.md section 5).

Each handler returns a :class:`~lime_repl.runtime.commands.registry.CommandResult`.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ...agent.providers.catalog import load_catalog, model_info_for
from ...context.tokens import TokenCounter, context_basis, context_tokens
from ...context.transcript import live_start
from ...errors import UsageError
from ...plural import plural
from ...store.retention import holding
from ...textsafe import safe_line
from ...views.listing import updated_cell
from .registry import REGISTRY, CommandResult, Table

if TYPE_CHECKING:
    from ..session import SessionRuntime

__all__ = ["session_usage"]


def _session_ids(rt: SessionRuntime, prefix: str) -> Iterable[tuple[str, str]]:
    yield ("latest", "the most recent session here")
    for info in rt.workspace.list_sessions():
        if info.id.startswith(prefix):
            yield (info.id[:8], safe_line(info.title or (info.first_message or "")[:40] or info.updated))


@REGISTRY.register("help", aliases=("?",))
def cmd_help(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Show the commands and what they do."""
    result = CommandResult()
    width = max(shutil.get_terminal_size().columns, 40)
    intro = (
        "Lines: !command runs in your shell; !!command too, kept out of the model's context;"
        " /command is a lime command; anything else goes to the model."
    )
    for line in _wrap(intro, width, "", "  "):
        result.out(line)
    for command in REGISTRY.commands.values():
        names = " ".join(f"/{n}" for n in (command.name, *command.aliases))
        usage = f"{names} {command.args}".strip()
        for line in _help_entry(usage, command.help, width):
            result.out(line)
    return result


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    """``text`` wrapped at word boundaries to ``width`` columns; a word longer than a line stays whole."""
    return textwrap.wrap(
        text,
        width,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def _help_entry(usage: str, text: str, width: int) -> list[str]:
    """One ``/help`` entry of lines at most ``width`` columns (a single word longer than that excepted).

    The description starts in column ``min(47, 2/5 of width)`` with a hanging indent under it;
    a usage too long for the field gets a line of its own, the description below it. On a
    terminal narrower than 50 columns every description goes below its usage, indented by six.
    """
    column = min(_HELP_COLUMN, width * 2 // 5)
    if column >= 20 and len(usage) <= column - 3:
        return _wrap(text, width, f"  {usage:<{column - 3}} ", " " * column)
    indent = " " * (column if column >= 20 else 6)
    return [*_wrap(usage, width, "  ", "    "), *_wrap(text, width, indent, indent)]


_HELP_COLUMN = 47  # two spaces, a 44-column usage field, one space: the layout on wide terminals


@REGISTRY.register("new", aliases=("clear",))
def cmd_new(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Start a new session in this directory."""
    session = rt.new_session()
    return CommandResult(notices=[f"new session {session.short_id}"])


@REGISTRY.register(
    "resume",
    aliases=("sessions", "continue"),
    args="[latest|ID] [--fork]",
    complete=_session_ids,
    needs_terminal=True,
)
def cmd_resume(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Resume a session by 'latest' or id prefix (--fork: continue in a copy); without one, choose in the picker."""
    result = CommandResult()
    words = args.split()
    fork = "--fork" in words
    words = [w for w in words if w != "--fork"]
    if fork:
        if len(words) != 1:
            raise UsageError("usage: /resume ID --fork")
        source = rt.workspace.resolve(words[0])
        session = rt.fork(source)
        result.notice(f"forked {source.name[:8]} into new session {session.short_id}")
        return result
    if not args:
        sessions = rt.workspace.list_sessions()
        if not sessions:
            result.out("no sessions in this directory yet")
            return result
        current = rt.session.session_id if rt.session is not None else None
        for info in sessions[:20]:
            mark = "*" if info.id == current else " "
            when = updated_cell(info.updated)  # the picker's and session list's formatter
            result.out(f"{mark} {info.id[:8]}  {when}  {info.entries:>5}  {safe_line(info.title or '')}")
        result.notice("resume one with /resume ID")
        return result
    session = rt.resume(rt.workspace.resolve(args))
    result.notice(f"resumed session {session.short_id} ({len(session.entries)} entries)")
    return result


@REGISTRY.register("rename", aliases=("name", "title"), args="<title>")
def cmd_rename(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Set the session's title."""
    if not args:
        raise UsageError("usage: /rename <title>")
    rt.rename(args)
    return CommandResult(notices=[f"session {rt.current.short_id} is now titled {args!r}"])


@REGISTRY.register("status", aliases=("session",))
def cmd_status(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Show the session id, files, segments, entries and workspace."""
    session = rt.current
    ws = rt.workspace
    files = session.segment_files()
    result = CommandResult()
    out = result.out
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
        held = holding(session.path)
        keeps = "all rotated segments" if session.retain == 0 else f"{session.retain} rotated segments"
        out(f"holds      {held.bytes:,} bytes; rotation dropped {held.dropped} entries so far; keeps {keeps}")
    out(f"leaf       {session.leaf_id or '-'}")
    out(f"workspace  {ws.cwd} ({ws.scope} sessions in {ws.sessions_dir})")
    if rt.shell is not None:
        out(f"shell cwd  {rt.shell.cwd}")
    info = rt.model_info()
    if rt.agent is None or info is None:
        out("model      none configured (a recorded shell: set OPENAI_API_KEY or ANTHROPIC_API_KEY)")
        return result
    out(f"model      {rt.agent.model} ({rt.agent.provider_name})" + ("" if info.known else " (not in the model catalog)"))
    usage = session_usage(session)
    out(f"context    {_context_figure(rt, info)}")
    out(
        f"tokens     {usage['input_tokens']:,} in, {usage['output_tokens']:,} out, "
        f"{usage['cache_read_tokens']:,} cached"
    )
    out(f"cost       {_cost_line(rt.workspace.config, session.entries.values())}")
    keeper = rt.keeper
    if keeper is not None:
        last = keeper.last_compaction or session.compaction
        auto = f"auto at {keeper.threshold:,} tokens" if keeper.settings.auto else "auto off"
        out(f"compaction {keeper.state}, {auto}")
        if last is not None:
            out(
                f"           last: {last.get('trigger')} at {str(last.get('timestamp', ''))[:19]}, "
                f"{last.get('tokensBefore', 0):,} → {last.get('tokensAfter', 0):,} tokens"
            )
    return result


def _context_figure(rt: SessionRuntime, info: Any) -> str:
    """``1,234 / 200,000 tokens, 0.6% (reported by the provider + estimate since)``: the one context figure.

    The count is :func:`~lime_repl.context.tokens.context_tokens` (the keeper's, calibrated), the same
    figure the toolbar and auto-compaction use; the window is the catalog's (with ``[models]`` entries).
    """
    branch = rt.current.branch()
    counter = rt.keeper.counter if rt.keeper is not None else TokenCounter()
    used = context_tokens(branch, counter)
    how = context_basis(branch)
    if not info.known:
        how += f"; window assumed, {info.name} is not in the model catalog"
    window = info.context_window
    share = f", {100 * used / window:.1f}%" if window else ""
    return f"{used:,} / {window:,} tokens{share} ({how})"


def _cost_line(config: Any, entries: Iterable[dict[str, Any]]) -> str:
    """``$0.0123``, or ``unknown for NAME: …`` naming the models the catalog does not know (USD, all branches)."""
    total, unknown = 0.0, set()
    for entry in entries:
        usage = entry.get("usage")
        model = entry.get("model")
        if entry.get("type") != "message" or not isinstance(usage, dict) or not isinstance(model, str):
            continue
        try:
            info = model_info_for(config, model)
            total += float(info.cost(usage))
        except (TypeError, ValueError):
            continue
        if not info.known:
            unknown.add(model)
    if not unknown:
        return f"${total:.4f}"
    names = ", ".join(sorted(unknown))
    known = f"${total:.4f} for the priced models; " if total else ""
    return f"{known}unknown for {names}: not in the model catalog (add prices under [models] in config.toml)"


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


def _models(rt: SessionRuntime, prefix: str) -> Iterable[tuple[str, str]]:
    for name, info in sorted(load_catalog().items()):
        yield name, info.provider


@REGISTRY.register("model", args="[PROVIDER/]NAME", complete=_models)
def cmd_model(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Show the model, or switch to another one (recorded as a model_change)."""
    result = CommandResult()
    if not args:
        if rt.agent is None:
            result.out("no model configured; /model NAME picks one (its provider needs a key)")
        else:
            result.out(f"{rt.agent.model} ({rt.agent.provider_name})")
        return result
    provider, _, model = args.rpartition("/")
    rt.switch_model(provider or None, model)
    assert rt.agent is not None
    result.notice(f"model: {rt.agent.model} ({rt.agent.provider_name})")
    info = rt.model_info()
    if info is not None and not info.known:
        result.notice(
            f"{info.name} is not in the model catalog: lime assumes a {info.context_window:,}-token window "
            f'and its cost is unknown (describe it under [models."{info.name}"] in config.toml)'
        )
    return result


@REGISTRY.register("compact", aliases=("summarize",), args="[hint]")
def cmd_compact(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Compact the context now; the hint says what the summary must keep."""
    try:
        entry = rt.compact(args or None)
    except KeyboardInterrupt:
        return CommandResult(status=130, notices=["compaction cancelled; nothing was written"])
    if entry is None:
        return CommandResult(notices=[_nothing_to_compact(rt)])
    return CommandResult(notices=[f"compacted (manual): {entry['tokensBefore']:,} → {entry['tokensAfter']:,} tokens"])


def _nothing_to_compact(rt: SessionRuntime) -> str:
    """Why ``/compact`` wrote nothing: the latest compaction on the branch (what, when) or "nothing yet"."""
    branch = rt.current.branch()
    _, found = live_start(branch)
    if found is None:
        return "nothing to compact yet: the conversation is shorter than what compaction keeps"
    last = branch[found]
    kept = str(last.get("firstKeptEntryId") or "")
    ids = [str(e.get("id")) for e in branch]
    covered = ids.index(kept) if kept in ids else found
    summarized = sum(1 for e in branch[:covered] if e.get("type") in ("message", "branch_summary"))
    when = _when(str(last.get("timestamp") or ""))
    return (
        f"nothing new to compact: the {last.get('trigger', 'last')} compaction {when} summarized "
        f"{plural(summarized, 'earlier message')} ({last.get('tokensBefore', 0):,} → "
        f"{last.get('tokensAfter', 0):,} tokens); what came since is within what compaction keeps"
    )


def _when(timestamp: str) -> str:
    """``at 19:51:02 (3 minutes ago)`` for an ISO timestamp (``at TIMESTAMP`` when it does not parse)."""
    from datetime import UTC, datetime

    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return f"at {timestamp or 'an unknown time'}"
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    seconds = max(0, int((datetime.now(UTC) - then).total_seconds()))
    ago = (
        "just now" if seconds < 5 else f"{plural(seconds, 'second')} ago" if seconds < 120
        else f"{plural(seconds // 60, 'minute')} ago" if seconds < 7200 else f"{plural(seconds // 3600, 'hour')} ago"
    )  # fmt: skip
    return f"at {then.astimezone().strftime('%H:%M:%S')} ({ago})"


@REGISTRY.register("memory", args="[reload]")
def cmd_memory(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """List the instruction files (AGENTS.md, LIME.md) with their sizes; 'reload' rebuilds the system prompt."""
    if args not in ("", "reload"):
        raise UsageError("usage: /memory [reload]")
    result = CommandResult()
    if args == "reload":
        entry = rt.reload_memory()
        files = rt.memory
        result.notice(
            f"system prompt rebuilt from {len(files)} memory file{'s' if len(files) != 1 else ''} "
            f"({len(str(entry['text'])):,} characters); the next request sends it"
        )
        return result
    files = rt.memory_files()
    if not files:
        result.out("no memory files (AGENTS.md or LIME.md in the profile, project root or this directory)")
        return result
    result.table = Table(["file", "bytes"])
    for memory in files:
        result.table.add(str(memory.path), memory.size)
    return result


@REGISTRY.register("logs", needs_terminal=True)
def cmd_logs(rt: SessionRuntime, args: str, can_prefill: bool) -> CommandResult:
    """Show the session's JSONL file and segments; page it with $PAGER in a terminal."""
    files = rt.current.segment_files()
    if not files:
        return CommandResult(lines=["this session is not saved (--no-session)"])
    return CommandResult(lines=[str(path) for path in files])
