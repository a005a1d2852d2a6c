"""A tool's output is redacted before it is capped: a key straddling the 16 KiB cut leaves no part of itself.

The real ``lime -p --yolo`` talks to the loopback provider; its ``bash`` tool
prints 16 KiB of filler with a 40-character key over the head cut. Neither the
log nor the model's next request may hold any 8-character piece of the key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv

SK = "sk-" + "Q7w9E2r4T6y8U1i3O5p7A9s2D4f6G8h1J3k5"  # 40 characters


def _pieces(secret: str, width: int = 8) -> list[str]:
    return [secret[i : i + width] for i in range(len(secret) - width + 1)]


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def _straddling_run(lime_env: LimeEnv, server: FakeProviderServer, where: str) -> tuple[str, str]:
    # 16,384 - 14 bytes of filler, then the key: the head cut falls 14 characters into it.
    script = f"import sys; sys.stdout.write('x' * 16369 + ' ' + '{SK}' + ' ' + 'y' * 60000)"
    command = f'python3 -c "{script}"' + (" >&2; exit 3" if where == "stderr" else "")
    server.reply_tool_call("bash", {"command": command}).reply_text("done")
    ran = lime_env.run("-p", "print it", "--yolo", extra_env=server.env("openai", "gpt-5.4"))
    assert ran.returncode == 0, ran.stderr
    log = "".join(p.read_text(encoding="utf-8") for p in lime_env.session_files())
    return log, json.dumps(server.requests[1])


@pytest.mark.parametrize("where", ["stdout", "stderr"])
def test_a_key_straddling_the_tool_output_cut_is_redacted_whole(
    lime_env: LimeEnv, server: FakeProviderServer, where: str
) -> None:
    log, request = _straddling_run(lime_env, server, where)
    [result] = [
        block
        for line in log.splitlines()
        for block in (json.loads(line).get("content") or [])
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]
    assert "bytes truncated" in result["content"] and "[REDACTED]" in result["content"]
    assert (result["is_error"] is True) == (where == "stderr")
    for piece in _pieces(SK):
        assert piece not in log, piece
        assert piece not in request, piece
    assert "[REDACTED]" in request


def test_the_tool_output_is_stored_in_clear_when_redaction_is_off(
    lime_env: LimeEnv, server: FakeProviderServer
) -> None:
    lime_env.home.mkdir(parents=True, exist_ok=True)
    (lime_env.home / "config.toml").write_text("redact = false\n")
    log, request = _straddling_run(lime_env, server, "stdout")
    assert "[REDACTED]" not in log and SK[:14] in log and SK[:14] in request
