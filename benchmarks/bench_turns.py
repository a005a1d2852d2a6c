"""Turn figures (issue "Fast at any size"): ``print_turn``, ``resume_turn_10mb`` and ``resume_turn_50mb``.

* ``print_turn``: ``lime -p hi`` against the loopback server, against a short
  Python script that posts the same request body with the SDKs' HTTP client
  (``httpx2``) and reads the stream to the end. Goal <= 2.0, peak <= 60 MiB.
* ``resume_turn_NNmb``: ``lime -r ID -p hi`` on a session of that size kept
  whole (``LIME_SESSION_BACKUPS=0``: nothing pruned), made as a real import
  makes it: pi's ``large-session.jsonl`` (from the test corpus) repeated with
  a fresh session id until it reaches the size, then ``lime import``. The
  floor is one script that ``json.loads`` every line of the session's segment
  files and then posts lime's request body with ``httpx2`` and reads the
  stream. Goal <= 3.0, peak <= 200 MiB.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_util import REPO, Run, bench_env, figure, hwm_peak_mib, lime_command, measure, run_child
from bench_util import own_peaks as _own_peaks

__all__ = ["TURN_FIGURES", "make_pi_session", "print_turn", "resume_turn_10mb", "resume_turn_50mb"]

PI_SESSION = REPO / "tests" / "data" / "real" / "pi" / "large-session.jsonl"

_POST = """
import sys, httpx2
url, body_file = sys.argv[1], sys.argv[2]
for name in sys.argv[3:]:
    import json
    with open(name, "rb") as fh:
        for line in fh:
            if line.strip():
                json.loads(line)
body = open(body_file, "rb").read()
headers = {"Authorization": "Bearer test-key", "Content-Type": "application/json"}
with httpx2.Client() as client:
    with client.stream("POST", url, content=body, headers=headers) as response:
        for _ in response.iter_bytes():
            pass
"""


def make_pi_session(path: Path, size: int) -> Path:
    """A pi v1 session of at least ``size`` bytes: the corpus session's entries repeated under a fresh id."""
    if path.exists() and path.stat().st_size >= size:
        return path
    lines = PI_SESSION.read_bytes().splitlines(keepends=True)
    header, body = lines[0], b"".join(lines[1:])
    sid = str(uuid.uuid4())
    header = header.replace(b"d703a1a9-1b7b-4fb1-b512-c9738b1fe617", sid.encode())
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        out.write(header)
        written = len(header)
        while written < size:
            out.write(body)
            written += len(body)
    return path


def _whole(env: dict[str, str]) -> None:
    """Configure the profile so that the turn compacts nothing: a context window no session fills."""
    config = Path(env["LIME_HOME"]) / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[models."gpt-5.4"]\ncontext_window = 1000000000\n')


def _imported(data: Path, env: dict[str, str], size: int, mib: int) -> str:
    """The id of the ``size``-byte session in this profile, importing it on first use."""
    marker = Path(env["LIME_HOME"]) / f"resume-{mib}mb.id"
    if marker.exists():
        return marker.read_text().strip()
    source = make_pi_session(data / f"pi-{mib}mb.jsonl", size)
    done = subprocess.run(
        [*lime_command(), "import", str(source)], env=env, capture_output=True, text=True, check=True
    )
    sid = done.stdout.split()[0]
    marker.write_text(sid)
    return sid


def _segments(env: dict[str, str], sid: str) -> list[str]:
    """The session's segment files (rotated copies first), as written by lime."""
    home = Path(env["LIME_HOME"])
    files = sorted(p for p in home.rglob(f"*{sid}*") if p.is_file() and ".jsonl" in p.name)
    return [str(p) for p in files]


def _floor_argv(server: Any, data: Path, name: str, segments: list[str]) -> list[str]:
    body = data / f"{name}.body.json"
    body.write_bytes(server.calls[-1].raw)
    url = server.openai_base_url + "/chat/completions"
    return [sys.executable, "-c", _POST, url, str(body), *segments]


def _floor_run(server: Any, data: Path, name: str, segments: list[str]) -> Run:
    """One run of the floor, posting the body lime sent last."""
    return run_child(_floor_argv(server, data, name, segments), env=bench_env(data, "home-floor"))


def _alternating(mine: Callable[[], Run], base: Callable[[], Run], repeat: int) -> tuple[list[Run], list[Run]]:
    """``repeat`` runs of each side in turn, after one warm-up pair, so that the machine's load falls on
    both alike. Raises if a run fails."""
    runs: tuple[list[Run], list[Run]] = ([], [])
    for index in range(1 + repeat):
        for side, once in zip(runs, (mine, base), strict=True):
            run = once()
            if run.status != 0:
                raise RuntimeError(f"{run.command or 'a measured command'} exited {run.status}")
            if index:
                side.append(run)
    return runs


def _floor(server: Any, data: Path, name: str, segments: list[str], repeat: int) -> list[Any]:
    argv = _floor_argv(server, data, name, segments)
    return measure(lambda: run_child(argv, env=bench_env(data, "home-floor")), repeat)


def print_turn(s: Any) -> dict[str, Any]:
    """``lime -p hi`` against a post of the same body with httpx2."""
    sys.path.insert(0, str(REPO / "tests"))
    from support.fake_providers import FakeProviderServer, Reply

    cwd = s.data / "cwd" / "print"
    cwd.mkdir(parents=True, exist_ok=True)
    with FakeProviderServer(default=Reply(text="Hello from the benchmark server.")) as server:
        env = bench_env(s.data, "home-print", **server.env("openai", "gpt-5.4"))
        lime = measure(lambda: run_child([*lime_command(), "-p", "hi"], env=env, cwd=cwd), s.repeat)
        floor = _floor(server, s.data, "print", [], s.repeat)
        requests = len(server.requests)
        peaks = (
            hwm_peak_mib([*lime_command(), "-p", "hi"], env, cwd),
            hwm_peak_mib(_floor_argv(server, s.data, "print", []), bench_env(s.data, "home-floor")),
        )
    result = figure(
        "lime -p hi against a 127.0.0.1 OpenAI-compatible server",
        ("lime -p hi", lime),
        ("python: httpx2 POST of the same body, stream read to the end", floor),
        2.0,
    )
    _own_peaks(result, *peaks)
    peak = result["measured"]["peak_mib"]
    result.update(max_peak_mib=60, memory_ok=peak <= 60, requests_served=requests)
    result["ok"] = result["ok"] and peak <= 60
    return result


def _resume_turn(s: Any, size: int) -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "tests"))
    from support.fake_providers import FakeProviderServer, Reply

    mib = size >> 20
    cwd = s.data / "cwd" / "resume-turn"
    cwd.mkdir(parents=True, exist_ok=True)
    with FakeProviderServer(default=Reply(text="Hello from the benchmark server.")) as server:
        env = bench_env(
            s.data, f"home-resume-{mib}mb", LIME_SESSION_BACKUPS="0", **server.env("openai", "gpt-5.4")
        )
        _whole(env)
        sid = _imported(s.data, env, size, mib)
        segments = _segments(env, sid)
        # Each run appends one short turn (a few hundred bytes): the size stays as measured.
        argv = [*lime_command(), "-r", sid, "-p", "hi"]
        lime, floor = _alternating(
            lambda: run_child(argv, env=env, cwd=cwd),
            lambda: _floor_run(server, s.data, f"resume-{mib}mb", segments),
            s.repeat,
        )
        sent = len(server.calls[-1].raw)
        server.calls.clear()  # the bodies kept so far are not part of the next child's peak
        peaks = (
            hwm_peak_mib(argv, env, cwd),
            hwm_peak_mib(_floor_argv(server, s.data, f"resume-{mib}mb", segments), bench_env(s.data, "home-floor"))
            if server.calls
            else 0.0,
        )
    result = figure(
        f"lime -r ID -p hi on a {mib} MB session kept whole (imported from pi's format)",
        ("lime -r ID -p hi", lime),
        ("python: json.loads of every segment line + httpx2 POST of the same body", floor),
        3.0,
    )
    _own_peaks(result, *peaks)
    peak = result["measured"]["peak_mib"]
    result.update(
        max_peak_mib=200,
        memory_ok=peak <= 200,
        session_bytes=sum(Path(p).stat().st_size for p in segments),
        segments=len(segments),
        request_bytes=sent,
    )
    result["ok"] = result["ok"] and peak <= 200
    return result


def resume_turn_10mb(s: Any) -> dict[str, Any]:
    """``lime -r ID -p hi`` on a 10 MB session."""
    return _resume_turn(s, 10 << 20)


def resume_turn_50mb(s: Any) -> dict[str, Any]:
    """``lime -r ID -p hi`` on a 50 MB session (full run only)."""
    return _resume_turn(s, 50 << 20)


TURN_FIGURES = {
    "print_turn": print_turn,
    "resume_turn_10mb": resume_turn_10mb,
    "resume_turn_50mb": resume_turn_50mb,
}
FULL_ONLY = {"resume_turn_50mb"}
