"""The ``picker_open`` figure: how fast ``lime -r`` (no value) shows its session picker.

Issue 5 asks that the picker opens within 2x the time of ``lime session
list`` over the same sessions, because it reads the catalog, not the logs.
Measured: ``lime -r`` in a pseudo terminal (stdlib ``pty``, 40x120), from
spawn until the picker's header shows ``of N`` (N sessions listed), then Esc.
Floor: ``lime session list`` in the same directory (the same N sessions).
Both run with the catalog index warm. The sessions (a header, a prompt, an
answer; every tenth titled) are written straight with lime's serializer
under ``<data>/picker-N/`` and reused by later runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench_util import Run, bench_env, figure, lime_command, measure, run_child, run_in_pty

__all__ = ["picker_open"]


def _sessions(directory: Path, cwd: Path, count: int) -> None:
    from lime_repl.store.records import dumps, new_entry_id, new_session_id, now_rfc3339, session_header

    done = directory / ".complete"
    if done.exists() and done.read_text() == str(count):
        return
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for old in directory.glob("*.jsonl*"):
        old.unlink()
    for i in range(count):
        sid = new_session_id()
        lines = [dumps(session_header(new_entry_id(), sid, str(cwd), created=now_rfc3339()))]
        parent = None
        for role, text in (("user", f"task {i:05d}: look at module {i % 97}"), ("assistant", "done")):
            entry_id = new_entry_id()
            lines.append(
                dumps(
                    {
                        "type": "message",
                        "id": entry_id,
                        "parentId": parent,
                        "timestamp": now_rfc3339(),
                        "role": role,
                        "content": [{"type": "text", "text": text}],
                    }
                )
            )
            parent = entry_id
        if i % 10 == 0:
            title = {"type": "title", "id": new_entry_id(), "parentId": parent, "timestamp": now_rfc3339()}
            lines.append(dumps({**title, "title": f"Session {i:05d}"}))
        path = directory / f"{sid}.jsonl"
        path.write_bytes(b"".join(lines))
        path.chmod(0o600)
    done.write_text(str(count))


def _pty_picker(env: dict[str, str], cwd: Path, marker: bytes) -> Run:
    # Esc cancels the picker, which exits 0.
    return run_in_pty([*lime_command(), "-r"], env, cwd, marker, b"\x1b", "lime -r (pty)")


def picker_open(s: Any) -> dict[str, Any]:
    """The figure for ``s`` (a ``bench_figures.Settings``): 2,000 sessions (fewer in a smoke run)."""
    count = min(2000, s.tree_sessions)
    env = bench_env(s.data, f"picker-{count}")
    cwd = s.data / "cwd" / f"picker-{count}"
    cwd.mkdir(parents=True, exist_ok=True)
    from lime_repl.workspace import Workspace

    _sessions(Workspace(cwd, env).sessions_dir, cwd, count)
    run_child([*lime_command(), "session", "list"], env=env, cwd=cwd)  # builds the catalog index
    marker = f"of {count}".encode()
    lime = measure(lambda: _pty_picker(env, cwd, marker), s.repeat)
    floor = measure(lambda: run_child([*lime_command(), "session", "list"], env=env, cwd=cwd), s.repeat)
    return figure(
        f"session picker open over {count} sessions",
        ("lime -r (pty, until the list shows)", lime),
        ("lime session list (same directory)", floor),
        2.0,
        sessions=count,
    )
