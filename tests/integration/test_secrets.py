"""Secrets are never stored in clear: exported variables, token shapes, titles, labels, tool input.

Each test drives the real ``lime`` in a private ``LIME_HOME`` and then reads
every file lime wrote. ``redact = false`` turns it all off, which is checked
with the same inputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv

EXPORTED = "notskshaped_supersecret_123"
SK = "sk-" + "Q7w9E2r4T6y8U1i3O5p7A9s2D4f6G8h1J3k5"  # 40 characters
AWS = "AKIA" + "Z7Q2W4E6R8T1Y3U5"
GHP = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GHPAT = "github_pat_" + "11ABCDEFG0" + "x" * 20 + "_" + "Yz" * 20
SLACK = "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1x2y3z\nq9w8e7r6t5y4\n-----END RSA PRIVATE KEY-----"
SHAPES = (SK, AWS, GHP, GHPAT, SLACK, JWT)


def stored_text(lime_env: LimeEnv) -> str:
    """Everything lime wrote under LIME_HOME that is text (the catalog is a binary cache)."""
    return "".join(
        p.read_bytes().decode("utf-8")
        for p in sorted(lime_env.home.rglob("*"))
        if p.is_file() and not p.name.startswith("index.sqlite")
    )


def pieces(secret: str, width: int = 8) -> list[str]:
    """Every ``width``-character part of ``secret``: none may be stored, not even a cut part."""
    return [secret[i : i + width] for i in range(len(secret) - width + 1)]


def no_part_of(secret: str, text: str) -> bool:
    return not any(piece in text for piece in pieces(secret))


def _redact_off(lime_env: LimeEnv) -> None:
    lime_env.home.mkdir(parents=True, exist_ok=True)
    (lime_env.home / "config.toml").write_text("redact = false\n")


EXPORT_LINE = f"!export MY_SERVICE_TOKEN={EXPORTED}; echo $MY_SERVICE_TOKEN\n!echo again $MY_SERVICE_TOKEN\n"


def test_a_variable_exported_in_the_session_is_never_stored(lime_env: LimeEnv) -> None:
    ran = lime_env.run(input=EXPORT_LINE)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == f"{EXPORTED}\nagain {EXPORTED}\n".encode()  # the terminal shows it
    text = stored_text(lime_env)
    assert EXPORTED not in text
    assert "<bash-input>export MY_SERVICE_TOKEN=[REDACTED]; echo $MY_SERVICE_TOKEN</bash-input>" in text
    assert "<bash-stdout>again [REDACTED]\\n</bash-stdout>" in text


def test_token_shapes_in_commands_outputs_titles_and_labels_are_redacted(lime_env: LimeEnv) -> None:
    lines = [f"!echo {s}" for s in SHAPES]
    lines += [f"!printf '%s\\n' '{PEM.replace(chr(10), '/')}' | tr / '\\n'"]
    lines += [f"/rename deploy {SK}", f"/label {GHP} here"]
    ran = lime_env.run(input="\n".join(lines) + "\n")
    assert ran.returncode == 0, ran.stderr
    text = stored_text(lime_env)
    for secret in SHAPES:
        assert secret not in text, secret
    assert "MIIEpAIBAAKCAQEA1x2y3z" not in text and "BEGIN RSA PRIVATE KEY" not in text
    assert '"title":"deploy [REDACTED]"' in text and '"label":"[REDACTED] here"' in text
    listed = lime_env.run("session", "list")
    assert SK.encode() not in listed.stdout and b"deploy [REDACTED]" in listed.stdout


def test_a_key_straddling_the_head_cut_keeps_no_characters(lime_env: LimeEnv) -> None:
    # 16,384 - 14 bytes of filler, then the 40-character key: the head cut falls 14 characters into it.
    script = f"import sys; sys.stdout.write('x' * 16369 + ' ' + '{SK}' + ' ' + 'y' * 60000)"
    ran = lime_env.run(input=f'!python3 -c "{script}" | cat\n')
    assert ran.returncode == 0, ran.stderr
    assert SK.encode() in ran.stdout  # the terminal got the whole output
    text = stored_text(lime_env)
    assert "bytes truncated" in text and "[REDACTED]" in text
    [stdout] = [line for line in text.splitlines() if '"text":"<bash-stdout>' in line]
    assert "bytes truncated" in stdout and no_part_of(SK, stdout)


def test_redact_false_stores_everything_in_clear(lime_env: LimeEnv) -> None:
    _redact_off(lime_env)
    lines = [EXPORT_LINE.strip(), f"!echo {AWS} {GHP}", f"/rename deploy {SK}", f"/label {GHPAT}"]
    ran = lime_env.run(input="\n".join(lines) + "\n")
    assert ran.returncode == 0, ran.stderr
    text = stored_text(lime_env)
    assert text.count(EXPORTED) == 3  # the first command line and both outputs
    for secret in (AWS, GHP, SK, GHPAT):
        assert secret in text, secret


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def _tool_run(lime_env: LimeEnv, server: FakeProviderServer) -> str:
    server.reply_tool_call("bash", {"command": f"echo {GHP}; echo {AWS}"}).reply_text(f"done {SK}")
    ran = lime_env.run("-p", f"use {SLACK}", "--yolo", extra_env=server.env("openai", "gpt-5.4"))
    assert ran.returncode == 0, ran.stderr
    return stored_text(lime_env)


def test_tool_input_output_and_the_conversation_are_redacted(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    text = _tool_run(lime_env, server)
    for secret in (GHP, AWS, SK, SLACK):
        assert secret not in text, secret
    entries = [json.loads(line) for p in lime_env.session_files() for line in p.read_text().splitlines()]
    calls = [
        b for e in entries if e["type"] == "message" for b in e["content"] if b.get("type") == "tool_use"
    ]
    assert calls and calls[0]["input"]["command"] == "echo [REDACTED]; echo [REDACTED]"
    # The next request to the model was built from the stored (redacted) entries.
    assert GHP not in json.dumps(server.requests[1]) and AWS not in json.dumps(server.requests[1])


def test_tool_secrets_are_kept_when_redaction_is_off(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    _redact_off(lime_env)
    text = _tool_run(lime_env, server)
    for secret in (GHP, AWS, SK, SLACK):
        assert secret in text, secret


def test_the_zip_bundles_only_log_records_that_name_this_session(lime_env: LimeEnv, tmp_path: Path) -> None:
    import zipfile

    ran = lime_env.run(input="!echo hi\n")
    assert ran.returncode == 0, ran.stderr
    [log] = lime_env.session_files()
    sid = log.name.split(".")[0]
    program_log = lime_env.home / "logs" / "lime.log"
    program_log.parent.mkdir(exist_ok=True)
    from datetime import datetime

    now = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    program_log.write_text(
        f"{now},001 1 ERROR lime: internal error in another command\nTraceback (most recent call last):\n"
        f"  File x, line 1\nKeyError: {GHP}\n"
        f"{now},002 2 WARNING lime: {log}: ignored a torn last line of 3 bytes\n"
    )
    out = tmp_path / "bundle.zip"
    exported = lime_env.run("export", sid[:8], "--format", "zip", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    with zipfile.ZipFile(out) as archive:
        bundled = archive.read("logs/lime.log").decode("utf-8")
    assert "ignored a torn last line" in bundled
    assert "another command" not in bundled and "Traceback" not in bundled and GHP not in bundled
