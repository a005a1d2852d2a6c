"""Sessions out to the terminal: ``session list/show/rm/search`` and ``logs``.

Table output adapts to a terminal; JSON and raw JSONL output are meant for
pipes and are printed without colour or decoration.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SessionLockedError, UsageError
from ..store.catalog import SessionInfo
from ..store.records import text_of
from ..store.segments import segment_paths
from ..store.session import Session, is_locked

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = [
    "follow_log",
    "print_log",
    "print_sessions",
    "print_transcript",
    "remove_session",
    "search_sessions",
]


def _write(text: str) -> None:
    sys.stdout.write(text)


def print_sessions(sessions: list[SessionInfo], fmt: str, everywhere: bool) -> None:
    """Print ``sessions`` as a JSON array (DESIGN.md section 1 fields) or an aligned table."""
    if fmt == "json":
        _write(json.dumps([s.to_json() for s in sessions], ensure_ascii=False, indent=2) + "\n")
        return
    if not sessions:
        print(
            "no sessions" + ("" if everywhere else " in this directory; --all lists every directory's"),
            file=sys.stderr,
        )
        return
    lines = [
        f"{'ID':<8}  {'UPDATED':<16}  {'ENTRIES':>7}  {'SIZE':>8}  TITLE" + ("  CWD" if everywhere else "")
    ]
    for s in sessions:
        label = s.title or (s.first_message or "").replace("\n", " ")[:40] or "-"
        row = f"{s.id[:8]:<8}  {s.updated[:16].replace('T', ' '):<16}  {s.entries:>7}  {_size(s.bytes):>8}  {label}"
        lines.append(row + (f"  {s.cwd}" if everywhere else ""))
    _write("\n".join(lines) + "\n")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def print_transcript(session: Session) -> None:
    """Print the active branch of ``session`` as readable text."""
    out = [
        f"session {session.session_id}",
        f"title   {session.title or '(untitled)'}",
        f"cwd     {session.cwd}",
    ]
    if session.dropped_entries:
        out.append(f"note    rotation dropped the {session.dropped_entries} earliest entries")
    out.append("")
    for entry in session.branch():
        kind = entry.get("type")
        if kind == "message":
            text = text_of(entry)
            shell = entry.get("shell")
            if isinstance(shell, dict):
                for tag in ("bash-input", "bash-stdout", "bash-stderr"):
                    if text.startswith(f"<{tag}>"):
                        body = text[len(tag) + 2 : -(len(tag) + 3)]
                        if tag == "bash-input":
                            out.append(f"$ {body}")
                        elif body:
                            out.append(body.rstrip("\n"))
                        if tag == "bash-stderr" and shell.get("exitCode"):
                            out.append(f"[exit {shell.get('exitCode')}]")
                continue
            out.append(f"{entry.get('role', '?')}: {text}")
        elif kind == "compaction":
            out.append(f"[compaction] {entry.get('summary', '')}")
        elif kind == "branch_summary":
            out.append(f"[branch summary] {entry.get('summary', '')}")
        elif kind == "model_change":
            out.append(f"[model] {entry.get('provider')}/{entry.get('model')}")
    _write("\n".join(out) + "\n")


def remove_session(workspace: Workspace, path: Path) -> list[Path]:
    """Delete every segment, the lock and ``.torn`` file of a session. Raises SessionLockedError (exit 3)."""
    pid = is_locked(path)
    if pid is not None:
        raise SessionLockedError(f"session {path.name[:8]} is open in pid {pid}; close it first", pid=pid)
    removed = []
    for p in [*segment_paths(path), Path(f"{path}.torn"), Path(f"{path}.lock")]:
        try:
            p.unlink()
            removed.append(p)
        except FileNotFoundError:
            continue
    return removed


def search_sessions(workspace: Workspace, pattern: str, *, everywhere: bool, ignore_case: bool) -> int:
    """Print ``id  title: matching text`` for each matching message; returns the number of matches.

    The pattern is a ``regex`` (the PCRE-like module) regular expression; it is
    tried first on the raw bytes of each line, so non-matching lines are not decoded.
    Raises :class:`UsageError` for a bad pattern.
    """
    import regex

    flags = regex.IGNORECASE if ignore_case else 0
    try:
        raw_re = regex.compile(pattern.encode("utf-8"), flags)
        text_re = regex.compile(pattern, flags)
    except regex.error as exc:
        raise UsageError(f"bad pattern {pattern!r}: {exc}") from None
    count = 0
    for info in workspace.list_sessions(everywhere):
        for seg in reversed(info.segments):
            try:
                data = seg.read_bytes()
            except OSError:
                continue
            for line in data.splitlines():
                if not raw_re.search(line):
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                text = text_of(entry) if isinstance(entry, dict) else ""
                match = text_re.search(text)
                if match is None:
                    continue
                count += 1
                start = max(0, match.start() - 40)
                snippet = text[start : match.end() + 40].replace("\n", " ")
                _write(f"{info.id[:8]}  {info.title or '-'}: {snippet}\n")
    return count


def print_log(path: Path) -> None:
    """Copy every surviving segment, oldest first, to stdout byte for byte (whole lines only)."""
    out = sys.stdout.buffer
    for seg in segment_paths(path):
        try:
            data = seg.read_bytes()
        except FileNotFoundError:
            continue
        out.write(data[: data.rfind(b"\n") + 1])
    out.flush()


def follow_log(path: Path, poll: float = 0.2) -> None:
    """Print whole lines appended to the active file until interrupted.

    The open file is kept while following, so the lines written just before a
    rotation are read from the renamed file before switching to the new one.
    """
    out = sys.stdout.buffer
    fh = None
    pending = b""

    def drain() -> None:
        nonlocal pending
        assert fh is not None
        chunk = fh.read()
        if chunk:
            pending += chunk
            end = pending.rfind(b"\n") + 1
            if end:
                out.write(pending[:end])
                out.flush()
                pending = pending[end:]

    try:
        try:
            fh = open(path, "rb")
            data = fh.read()
            pending = data[data.rfind(b"\n") + 1 :]
        except FileNotFoundError:
            fh = None
        while True:
            if fh is not None:
                drain()
            try:
                st = os.stat(path)
            except FileNotFoundError:
                time.sleep(poll)
                continue
            if fh is None or st.st_ino != os.fstat(fh.fileno()).st_ino:
                if fh is not None:
                    drain()
                    fh.close()
                fh, pending = open(path, "rb"), b""
                continue
            time.sleep(poll)
    except KeyboardInterrupt:
        return
    finally:
        if fh is not None:
            fh.close()
