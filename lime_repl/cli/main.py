"""The ``lime`` command line (click): options, subcommands and exit codes (DESIGN.md sections 1 and 7).

Exit codes: 0 success; 1 any error; 2 usage errors, including an unknown or
ambiguous session; 3 a session locked by another process. Errors are one line
on stderr; ``--debug`` writes tracebacks to the program log. Heavy modules
(prompt-toolkit, pygments, provider SDKs) are imported only by the commands
that need them, so ``lime --version`` and ``lime session list`` start fast.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..errors import EXIT_ERROR, UsageError
from ..logsetup import setup_logging
from ..textsafe import safe_text
from .common import complete_sessions as _complete_sessions
from .common import workspace as _workspace

__all__ = ["main"]


PICK = "\0pick"


def _catalog_warning(ws: Any) -> None:
    """At most one line when the catalog fell back to reading the files (e.g. a full disk)."""
    warning = ws.catalog_warning
    if warning:
        click.echo(f"lime: warning: {warning}", err=True)


class _Group(click.Group):
    """Turns an exception into one line and its exit code (:func:`.failures.exit_status`); click's own pass."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            from .failures import exit_status

            sys.exit(exit_status(exc))


@click.group(
    cls=_Group, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "-c", "--continue", "continue_", is_flag=True, help="Resume the most recent session of this directory."
)
@click.option(
    "-r",
    "--resume",
    "resume",
    shell_complete=_complete_sessions,
    is_flag=False,
    flag_value=PICK,
    default=None,
    metavar="[latest|ID|PATH]",
    help="Resume a session by 'latest', id prefix (8 chars are enough) or .jsonl path; no value: choose one.",
)
@click.option(
    "--fork", is_flag=True, help="With -c or -r: copy that session into a new one and continue there."
)
@click.option("--no-session", is_flag=True, help="Ephemeral: write no session file.")
@click.option(
    "-p",
    "--print",
    "prompt",
    metavar="TEXT",
    help="Print mode: one turn, the answer on stdout, then exit. Piped stdin is appended to TEXT; "
    "'-' reads TEXT from stdin.",
)
@click.option(
    "--provider", envvar="LIME_PROVIDER", help="Model provider: openai, openai-responses, anthropic."
)
@click.option("--model", envvar="LIME_MODEL", help="Model name.")
@click.option("--yolo", is_flag=True, help="Run tools without asking for approval.")
@click.option("--debug", is_flag=True, help="Log DEBUG messages and tracebacks to the program log.")
@click.version_option(__version__, "-V", "--version", prog_name="lime", message="%(prog)s %(version)s")
@click.pass_context
def cli(
    ctx: click.Context,
    continue_: bool,
    resume: str | None,
    fork: bool,
    no_session: bool,
    prompt: str | None,
    provider: str | None,
    model: str | None,
    yolo: bool,
    debug: bool,
) -> None:
    """lime: a terminal REPL for coding-agent models where every conversation is a durable session.

    \b
    Inside the REPL:
      !command        run in your shell (cd and export persist), recorded in the session
      /command        lime commands: /help lists them
      anything else   a message to the model
    When stdin is not a terminal, lime reads it line by line (line mode) and
    exits with the status of the last line.

    \b
    Examples:
      lime                           new session in this directory
      lime -c                        continue the latest session here
      lime -r 1a2b3c4d               resume by id prefix
      printf '!ls\\n' | lime          line mode
      lime session list --format json
    """
    setup_logging(debug)
    if ctx.invoked_subcommand is not None:
        if continue_ or resume or fork or no_session or prompt:
            raise UsageError(
                "-c, -r, --fork, --no-session and -p belong to plain 'lime', not to a subcommand"
            )
        return
    gc.disable()  # start-up makes no garbage worth a collector pass; start() turns it back on
    from ..repl.main import start

    status = start(
        continue_=continue_,
        resume=resume,
        fork=fork,
        no_session=no_session,
        prompt=prompt,
        provider=provider,
        model=model,
        yolo=yolo,
        pick=resume == PICK,
    )
    sys.exit(status)


# -- lime session ... ---------------------------------------------------------
@cli.group()
def session() -> None:
    """List, show, search, keep and delete sessions."""


@session.command("list")
@click.option("-n", "limit", type=click.IntRange(min=1), default=None, help="Show at most N sessions.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--all", "everywhere", is_flag=True, help="Every directory's sessions, not just this one's.")
def session_list(limit: int | None, fmt: str, everywhere: bool) -> None:
    """List sessions, newest first."""
    from .printers import print_sessions

    ws = _workspace()
    sessions = ws.list_sessions(everywhere)
    print_sessions(sessions[:limit] if limit else sessions, fmt, everywhere)
    _catalog_warning(ws)


@session.command("show")
@click.argument("ref", metavar="ID", shell_complete=_complete_sessions)
def session_show(ref: str) -> None:
    """Print a session as readable text (ID: 'latest', an id prefix or a path)."""
    from .printers import print_transcript

    ws = _workspace()
    session = ws.load_session(ws.resolve(ref))
    for warning in session.warnings:
        click.echo(safe_text(f"lime: warning: {warning}"), err=True)
    print_transcript(session)


@session.command("rm")
@click.argument("ref", metavar="ID", shell_complete=_complete_sessions)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def session_rm(ref: str, yes: bool) -> None:
    """Delete a session and all its segment files."""
    from ..store.remove import remove_session

    ws = _workspace()
    path = ws.resolve(ref)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("refusing to delete without confirmation: pass --yes")
        click.confirm(f"delete session {path.name.split('.')[0]} and its segments?", abort=True)
    for removed in remove_session(path):
        click.echo(f"removed {removed}", err=True)


@session.command("keep")
@click.argument("ref", metavar="ID", shell_complete=_complete_sessions)
def session_keep(ref: str) -> None:
    """Keep every segment of a session from now on: rotation prunes nothing more of it."""
    ws = _workspace()
    session = ws.open_session(ws.resolve(ref))
    try:
        if session.retain == 0:
            click.echo(f"session {session.short_id} already keeps every segment", err=True)
            return
        session.keep_all()
        session.sync()
    except OSError as exc:
        from ..errors import StoreError

        raise StoreError(f"cannot record the retention of {session.short_id}: {exc}") from None
    finally:
        session.close()
    click.echo(f"session {session.short_id} now keeps every segment", err=True)


@session.command("search")
@click.argument("pattern")
@click.option("--all", "everywhere", is_flag=True, help="Search every directory's sessions.")
@click.option("-i", "ignore_case", is_flag=True, help="Ignore case.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def session_search(pattern: str, everywhere: bool, ignore_case: bool, fmt: str) -> None:
    """Print the entries whose text matches the regular expression PATTERN (exit 1: no match).

    Messages and ! commands are searched through the catalog's full-text
    index; PATTERN uses the syntax of Python's regex module.
    """
    from .printers import search_sessions

    ws = _workspace()
    found = search_sessions(ws, pattern, everywhere=everywhere, ignore_case=ignore_case, fmt=fmt)
    _catalog_warning(ws)
    if not found:
        sys.exit(1)


# -- lime logs ----------------------------------------------------------------
@cli.command("logs")
@click.argument("ref", metavar="[ID]", default="latest", shell_complete=_complete_sessions)
@click.option(
    "--path", "path_only", is_flag=True, help="Print the file paths (active first) instead of the log."
)
@click.option(
    "--follow", "-f", is_flag=True, help="Keep printing lines as they are appended, across rotations."
)
def logs(ref: str, path_only: bool, follow: bool) -> None:
    """Print a session's JSONL log (all surviving segments, oldest first)."""
    from .printers import follow_log, print_log

    ws = _workspace()
    path = ws.resolve(ref)
    if path_only:
        from ..store.segments import segment_paths

        for p in reversed(segment_paths(path)):
            click.echo(str(p))
        return
    if follow:
        follow_log(path, env=ws.env)
    else:
        print_log(path, env=ws.env)


# -- lime doctor --------------------------------------------------------------
@cli.command("doctor")
@click.argument("ref", metavar="[ID]", required=False, shell_complete=_complete_sessions)
@click.option("--all", "everywhere", is_flag=True, help="Check every directory's sessions.")
@click.option("--repair", is_flag=True, help="Fix what is safe to fix (torn tails, stale catalog) and say so.")
def doctor(ref: str | None, everywhere: bool, repair: bool) -> None:
    """Check session logs (headers, checkpoints, tree, torn lines, catalog); exit 1 if problems remain."""
    from ..plural import plural
    from ..store.doctor import examine_directory, format_finding

    ws = _workspace()
    if ref is not None and everywhere:
        raise UsageError("give a session ID or --all, not both")
    if ref is not None:
        path = ws.resolve(ref)
        jobs: list[tuple[Path, str, list[str] | None]] = [(path.parent, "", [path.name.split(".jsonl")[0]])]
    else:
        jobs = [(d, s, None) for d, s in (ws.all_dirs() if everywhere else ws.local_dirs())]
    checked, remaining = 0, 0
    for directory, scope, only in jobs:
        count, findings = examine_directory(directory, scope, ws.catalog, only=only, repair=repair)
        checked += count
        for finding in findings:
            click.echo(safe_text(format_finding(finding)))
            remaining += finding.open
    summary = f"checked {plural(checked, 'session')}: {plural(remaining, 'problem', zero='no')}"
    click.echo(summary + (" left" if repair else ""), err=True)
    if remaining:
        sys.exit(EXIT_ERROR)


# -- lime bridge --------------------------------------------------------------
@cli.command("bridge")
@click.option("--provider", "bridge_provider", help="Model provider: openai, openai-responses, anthropic.")
@click.option("--model", "bridge_model", help="Model name.")
@click.option(
    "--yolo", "bridge_yolo", is_flag=True, help="Run tools that need approval; without it they are refused."
)
@click.pass_context
def bridge(ctx: click.Context, bridge_provider: str | None, bridge_model: str | None, bridge_yolo: bool) -> None:
    """JSON-RPC 2.0 on stdin/stdout, one JSON object per line, for editors and web front ends.

    Methods: session.create, resume, list, send, tree, setLeaf, label, rename,
    fork, clone, compact, export, close; events arrive as session.event
    notifications. End of input closes every session. See docs/bridge.md.
    """
    from ..bridge.server import run_bridge

    top = ctx.parent.params if ctx.parent is not None else {}
    sys.exit(
        run_bridge(
            provider=bridge_provider or top.get("provider"),
            model=bridge_model or top.get("model"),
            yolo=bridge_yolo or bool(top.get("yolo")),
        )
    )


from .data_commands import register as _register_data_commands  # noqa: E402 - after the group exists
from .exchange_commands import register as _register_exchange_commands  # noqa: E402

_register_exchange_commands(cli)  # lime export, lime import
_register_data_commands(cli)  # lime data, lime uninstall


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point.

    At exit every object is frozen (``gc.freeze``): the interpreter's own
    collections at shutdown would scan them all to free nothing the process
    exit does not free; lime closes its sessions and files itself.
    """
    try:
        cli.main(args=argv, prog_name="lime")
    finally:
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
