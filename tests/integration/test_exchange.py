"""``lime export`` / ``lime import`` / ``/export`` end to end: the real CLI, a loopback HTTP server, headless Chromium."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.exchange_helpers import FOREIGN, make_workspace
from support.lime_env import LimeEnv

from lime_repl.exchange.guard import ImportRefused
from lime_repl.exchange.import_ import import_source


def _session_files(env: LimeEnv) -> list[Path]:
    return sorted(p for p in env.home.glob("sessions/**/*") if p.is_file())


def _one_line_error(result: subprocess.CompletedProcess[bytes], code: int, fragment: str) -> None:
    err = result.stderr.decode()
    assert result.returncode == code, err
    assert err.count("\n") == 1 and err.startswith("lime: ") and fragment in err, err
    assert "Traceback" not in err


def test_import_then_export_every_format(lime_env: LimeEnv):
    result = lime_env.run("import", str(FOREIGN / "claude-code/sample_session.jsonl"))
    assert result.returncode == 0, result.stderr
    session_id = result.stdout.decode().strip()
    assert re.fullmatch(r"[0-9a-f]{32}", session_id)
    assert f"as {session_id[:8]}" in result.stderr.decode() and "claude-code" in result.stderr.decode()
    listed = json.loads(lime_env.run("session", "list", "--format", "json").stdout)
    assert [(s["id"], s["title"]) for s in listed] == [(session_id, "Test session for JSONL parsing")]
    for fmt in ("jsonl", "json", "md", "html", "zip"):
        out = lime_env.run("export", "--format", fmt)  # no ID: this directory's latest
        assert out.returncode == 0, out.stderr
        path = Path(out.stdout.decode().strip())
        assert path.parent == lime_env.cwd and re.fullmatch(
            rf"lime-{session_id[:8]}-\d{{8}}-\d{{6}}\.{fmt}", path.name
        )
    raw = lime_env.run("export", session_id[:8], "--format", "jsonl", "-o", "-")
    assert raw.stdout == _session_files(lime_env)[0].read_bytes()
    (lime_env.cwd / "out").mkdir()
    into = lime_env.run("export", "latest", "-o", "out/page.html")
    assert into.returncode == 0 and (lime_env.cwd / "out/page.html").read_text().startswith("<!DOCTYPE html>")


def test_cli_errors_are_one_line_with_the_design_exit_codes(lime_env: LimeEnv, tmp_path: Path):
    _one_line_error(lime_env.run("export"), 2, "no session in this directory")
    _one_line_error(lime_env.run("export", "deadbeef"), 2, "deadbeef")
    _one_line_error(lime_env.run("import", str(tmp_path / "missing.jsonl")), 2, "no such file")
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"type":"session","id":"p"}\n' + "[" * 1000 + "]" * 1000 + "\n")
    _one_line_error(lime_env.run("import", str(deep)), 1, "nested deeper than")
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"type":"session","id":"p"}\n"\xc3\x28"\n')
    _one_line_error(lime_env.run("import", str(bad)), 1, "invalid UTF-8")
    assert _session_files(lime_env) == []


def test_slash_export_in_line_mode(lime_env: LimeEnv):
    script = "!echo from-the-shell\n/export html page.html\n/export-md\n/export json\n/export pdf x y\n"
    result = lime_env.run(input=script)
    err = result.stderr.decode()
    assert "exported session" in err and "unknown export format 'pdf'" in err
    names = sorted(p.name for p in lime_env.cwd.iterdir())
    assert (
        "page.html" in names
        and any(n.endswith(".md") for n in names)
        and any(n.endswith(".json") for n in names)
    )
    md = next(p for p in lime_env.cwd.iterdir() if p.suffix == ".md").read_text()
    assert "$ echo from-the-shell\nfrom-the-shell\n" in md
    doc = json.loads(next(p for p in lime_env.cwd.iterdir() if p.suffix == ".json").read_text())
    assert doc["entries"][0]["content"][0]["text"] == "<bash-input>echo from-the-shell</bash-input>"


# -- URL import -----------------------------------------------------------------------
@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, bytes]]]:
    routes: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.path == "/slow":
                time.sleep(1.5)
            body = routes.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", routes
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_import_from_a_url(lime_env: LimeEnv, server):
    base, routes = server
    routes["/pi.jsonl"] = (FOREIGN / "pi/prompt-cache-replay-session.jsonl").read_bytes()
    result = lime_env.run("import", f"{base}/pi.jsonl")
    assert result.returncode == 0, result.stderr
    header = json.loads(_session_files(lime_env)[0].read_bytes().split(b"\n")[0])
    assert header["importedFrom"]["tool"] == "pi" and header["importedFrom"]["path"] == f"{base}/pi.jsonl"
    _one_line_error(lime_env.run("import", f"{base}/missing"), 1, "HTTP 404")


def test_url_size_cap_and_timeout(tmp_path: Path, server):
    base, routes = server
    ws = make_workspace(tmp_path, LIME_IMPORT_MAX_BYTES="1000")
    routes["/big"] = b'{"type":"session","id":"x"}\n' * 100
    with pytest.raises(ImportRefused, match="over the import cap"):
        import_source(ws, f"{base}/big")
    routes["/slow"] = b'{"type":"session","id":"x"}\n'
    with pytest.raises(ImportRefused, match="timed out"):
        import_source(ws, f"{base}/slow", timeout=0.3)
    assert not (ws.home / "sessions").exists()


# -- headless Chromium ------------------------------------------------------------------
def _chromium() -> str:
    """The chromium binary, installed with apt-get when missing; the test fails if that cannot be done."""
    found = shutil.which("chromium")
    if found is None:
        subprocess.run(["apt-get", "update", "-qq"], check=False, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, timeout=1200)
        found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed and 'apt-get install -y chromium' did not install it")
    return found


def test_exported_html_in_headless_chromium(lime_env: LimeEnv, tmp_path: Path):
    chromium = _chromium()
    attack = "<script>document.title='pwned';document.body.setAttribute('data-pwned','1')</script>"
    messages = [
        {
            "type": "session",
            "version": 3,
            "id": "html-check",
            "timestamp": "2026-01-01T00:00:00.000Z",
            "cwd": "/w",
        },
        {
            "type": "message",
            "id": "00000001",
            "parentId": None,
            "timestamp": "2026-01-01T00:00:01.000Z",
            "message": {
                "role": "user",
                "content": f"First message {attack} </textarea><img src=x onerror=\"document.title='img'\">",
            },
        },
        {
            "type": "message",
            "id": "00000002",
            "parentId": "00000001",
            "timestamp": "2026-01-01T00:00:02.000Z",
            "message": {
                "role": "assistant",
                "content": [{"type": "text", "text": "```html\n" + attack + "\n```"}],
            },
        },
        {
            "type": "session_info",
            "id": "00000003",
            "parentId": "00000002",
            "timestamp": "2026-01-01T00:00:03.000Z",
            "name": "Chromium <check>",
        },
    ]
    source = tmp_path / "pi.jsonl"
    source.write_text("".join(json.dumps(m) + "\n" for m in messages))
    assert lime_env.run("import", str(source)).returncode == 0
    page = tmp_path / "page.html"
    assert lime_env.run("export", "--format", "html", "-o", str(page)).returncode == 0
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout.decode()
    assert re.search(r"<title>Chromium &lt;check&gt;</title>", text), text[:500]
    assert "First message &lt;script&gt;document.title=" in text
    assert "data-pwned" not in text.split("<body", 1)[1].split(">", 1)[0]
    assert "<script" not in text.lower() and "<img" not in text.lower()
    shot = tmp_path / "shot.png"
    run = subprocess.run(
        [chromium, *flags, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000
