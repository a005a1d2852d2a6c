"""``lime data`` and ``lime uninstall``: the click commands over :mod:`lime_repl.datadirs`.

:func:`register` adds both to the top-level command group.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError

__all__ = ["data_command", "register", "uninstall_command"]


@click.command("data")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def data_command(fmt: str) -> None:
    """Show where lime keeps its data: each location with its file count and size in bytes."""
    from ..datadirs import locations, measure

    rows: list[dict[str, Any]] = []
    for location in locations(Path.cwd()):
        files, size, state = measure(location.path)
        rows.append(
            {
                "name": location.name,
                "path": str(location.path),
                "holds": location.holds,
                "files": files,
                "bytes": size,
                "state": state,
                "removed_by_uninstall": location.removable,
            }
        )
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    width = max(len(r["name"]) for r in rows)
    click.echo(f"{'NAME':<{width}}  {'FILES':>6}  {'BYTES':>12}  PATH")
    for r in rows:
        note = "" if r["state"] in ("dir", "file") else f"  ({r['state']})"
        click.echo(f"{r['name']:<{width}}  {r['files']:>6}  {r['bytes']:>12}  {r['path']}{note}")


@click.command("uninstall")
@click.option("--keep-data", is_flag=True, help="Keep sessions, history, logs and config; only show the pip command.")
@click.option("--yes", "-y", "assume_yes", is_flag=True, help="Remove the data without asking.")
def uninstall_command(keep_data: bool, assume_yes: bool) -> None:
    """Remove lime's data (unless --keep-data) and print the pip command that removes the package."""
    from ..datadirs import pip_uninstall_command, remove_data

    if not keep_data:
        if not assume_yes:
            if not (sys.stdin.isatty() and os.isatty(2)):
                raise UsageError("uninstall removes every session; with no terminal to confirm on, give --yes")
            click.echo("This deletes every session, the catalog, history, program log and config (see `lime data`).",
                       err=True)
            if not click.confirm("Remove lime's data?", default=False, err=True):
                click.echo("nothing removed", err=True)
                sys.exit(1)
        for line in remove_data(Path.cwd()):
            click.echo(line, err=True)
    click.echo("to remove the package, run:", err=True)
    click.echo(pip_uninstall_command())


def register(group: click.Group) -> None:
    """Add ``data`` and ``uninstall`` to ``group`` (the top-level ``lime`` command)."""
    group.add_command(data_command)
    group.add_command(uninstall_command)
