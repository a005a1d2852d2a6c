"""Small things a new user met in the first hour: counts, grammar, /export of an unknown format, the man page."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def test_fifty_output_lines_show_as_first_plus_49(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    server.reply_tool_call("bash", {"command": "seq 50"})
    server.reply_tool_call("bash", {"command": "seq 2"})
    server.reply_tool_call("bash", {"command": "echo one"})
    server.reply_text("done")
    result = lime_env.run("--yolo", "-p", "count", extra_env=server.env("openai", "gpt-5.4"))
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode()
    assert "✓ 1 (+49 lines)" in err, err
    assert "✓ 1 (+1 line)" in err, err
    assert re.search(r"✓ one\n", err), err


def test_export_of_an_unknown_format_is_refused_with_the_known_ones(lime_env: LimeEnv) -> None:
    result = lime_env.run(input="!echo hi\n/export pdf\n")
    assert result.returncode == 2
    lines = [line for line in result.stderr.decode().splitlines() if "pdf" in line]
    assert lines == ["lime: unknown export format 'pdf'; choose one of jsonl, json, md, html, zip, pi, claude, codex"]
    assert not (lime_env.cwd / "pdf").exists() and list(lime_env.cwd.iterdir()) == []
    [path] = lime_env.session_files()
    named = lime_env.run("-r", path.name[:8], input="/export ./notes\n")
    assert named.returncode == 0, named.stderr
    assert "## Turn 1" in (lime_env.cwd / "notes").read_text(), "a path that says it is a path is still a file"
    cli = lime_env.run("export", path.name[:8], "--format", "pdf")
    assert cli.returncode == 2 and b"Traceback" not in cli.stderr


def test_counts_of_one_are_singular(lime_env: LimeEnv) -> None:
    assert lime_env.run(input="!echo once\n").returncode == 0
    doctor = lime_env.run("doctor")
    assert doctor.returncode == 0 and b"checked 1 session: no problems" in doctor.stderr, doctor.stderr
    [path] = lime_env.session_files()
    md = lime_env.run("export", path.name[:8], "--format", "md", "-o", "-").stdout.decode()
    assert "1 `!` command," in md and "0 tool calls" in md and "0 compactions" in md, md[:600]
    html = lime_env.run("export", path.name[:8], "--format", "html", "-o", "-").stdout.decode()
    assert "1 ! command," in html and "1 ! commands" not in html


def test_man_page_synopsis_lists_the_model_options() -> None:
    page = (REPO / "man" / "lime.1").read_text()
    synopsis = page.split(".SH SYNOPSIS", 1)[1].split(".SH", 1)[0]
    for option in (r"\-p", r"\-\-print", r"\-\-provider", r"\-\-model", r"\-\-yolo", "lime data", "lime uninstall"):
        assert option in synopsis, option
    rendered = subprocess.run(["groff", "-man", "-Tutf8", "-ww", str(REPO / "man" / "lime.1")], capture_output=True)
    assert rendered.returncode == 0 and b"warning" not in rendered.stderr, rendered.stderr
