"""``lime export`` and ``lime import``: a session out to a file (lime's formats or another tool's log,
``--install`` where that tool looks) and another tool's log or a lime export in (DESIGN.md section 5)."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import UsageError
from ..textsafe import safe_line, safe_text
from .common import complete_sessions, workspace

__all__ = ["export", "import_", "register"]


@click.command("export")
@click.argument("ref", metavar="[ID]", required=False, shell_complete=complete_sessions)
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "json", "md", "html", "zip", "pi", "claude", "codex"]),
    default=None, help="Output format (default: from -o's extension, else md); pi, claude, codex: that tool's log.",
)
@click.option("-o", "--output", metavar="PATH", help="File or directory to write; '-' for stdout.")
@click.option(
    "--install", is_flag=True,
    help="With --format pi, claude or codex: write where that tool looks and print the command that resumes it.",
)
def export(ref: str | None, fmt: str | None, output: str | None, install: bool) -> None:
    """Export a session (default: this directory's latest) as jsonl, json, md, html, zip, pi, claude or codex.

    Prints the path written. Default name: lime-<id8>-<YYYYmmdd-HHMMSS>.<ext>.
    """
    from ..exchange.export import export_bytes, export_session, format_for
    from ..paths import log_path

    ws = workspace()
    if ref is None:
        path = ws.latest()
        if path is None:
            raise UsageError("no session in this directory to export; give an ID (lime session list --all)")
    else:
        path = ws.resolve(ref)
    if install:
        _install(ws, path, fmt, output)
        return
    if output == "-":
        data = export_bytes(fmt or "md", path=path, log=log_path())
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    click.echo(str(export_session(path, fmt or format_for(output), output, cwd=ws.cwd, env=ws.env)))


def _install(ws: Any, path: Any, fmt: str | None, output: str | None) -> None:
    from ..exchange.export import FOREIGN_FORMATS, foreign_bytes
    from ..exchange.install import install_export

    if fmt not in FOREIGN_FORMATS:
        raise UsageError("--install needs --format pi, claude or codex")
    if output is not None:
        raise UsageError("--install chooses the file itself; leave out -o")
    session = ws.load_session(path)
    target, command = install_export(fmt, session, foreign_bytes(fmt, session), ws.env)
    click.echo(f"lime: installed for {fmt} — resume with: {command}", err=True)
    click.echo(str(target))


@click.command("import")
@click.argument("source", metavar="FILE|URL")
def import_(source: str) -> None:
    """Import a session: a lime export; a pi, Kimi, Claude Code, Codex, Gemini CLI, opencode or aider log; a URL.

    Prints the session's id, one line per session (an aider history holds several); refused input
    (exit 1) writes nothing. Importing a source again updates the session imported from it (new
    entries are added) instead of copying it twice.
    """
    from ..exchange.reimport import import_or_update

    ws = workspace()
    outcome = import_or_update(ws, source)
    result = outcome.result
    for warning in result.warnings:
        click.echo(safe_text(f"lime: warning: {warning}"), err=True)
    for one in [outcome, *outcome.more]:
        done, short = one.result, one.result.session_id[:8]
        if one.status == "unchanged":
            click.echo(f"lime: already imported as {short} — resume with: lime -r {short}", err=True)
        elif one.status == "updated":
            click.echo(f"lime: added {one.added} entries to {short} — resume with: lime -r {short}", err=True)
        else:
            origin = f" {safe_line(done.source_id)}" if done.source_id else ""
            click.echo(
                f"lime: imported {done.tool} session{origin} as {short} ({done.entries} entries) "
                f"— resume with: lime -r {short}",
                err=True,
            )
        click.echo(done.session_id)


def register(group: click.Group) -> None:
    """Add ``export`` and ``import`` to the top-level ``lime`` group."""
    group.add_command(export)
    group.add_command(import_)
