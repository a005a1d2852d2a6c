"""Imported text is stored redacted, like every text lime stores; re-import matches the redacted entries.

Drives the real ``lime import`` in a private ``LIME_HOME`` with a pi session
whose user message, tool call and tool result hold ``sk-…`` and ``ghp_…`` keys.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.lime_env import LimeEnv

SK = "sk-" + "Q7w9E2r4T6y8U1i3O5p7A9s2D4f6G8h1J3k5"
GHP = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def _pi_lines(turns: int) -> list[str]:
    lines = [
        {"type": "session", "id": "pi-secret-1", "timestamp": "2026-04-06T04:00:00.000Z", "cwd": "/tmp/p"},
    ]
    for n in range(turns):
        lines += [
            {
                "type": "message",
                "timestamp": f"2026-04-06T04:00:0{n}.100Z",
                "message": {"role": "user", "content": [{"type": "text", "text": f"deploy {n} with {SK}"}]},
            },
            {
                "type": "message",
                "timestamp": f"2026-04-06T04:00:0{n}.200Z",
                "message": {
                    "role": "assistant",
                    "content": [
                        {"type": "toolCall", "id": f"call_{n}", "name": "bash",
                         "arguments": {"command": f"git push https://x:{GHP}@example.com/r"}},
                    ],
                    "stopReason": "toolUse",
                },
            },
            {
                "type": "message",
                "timestamp": f"2026-04-06T04:00:0{n}.300Z",
                "message": {"role": "toolResult", "toolCallId": f"call_{n}", "toolName": "bash",
                            "content": [{"type": "text", "text": f"token {GHP} ok"}], "isError": False},
            },
        ]
    return [json.dumps(line) for line in lines]


def _write(path: Path, turns: int) -> Path:
    path.write_text("\n".join(_pi_lines(turns)) + "\n", encoding="utf-8")
    return path


def _stored(lime_env: LimeEnv) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in lime_env.session_files())


def _tool_results(lime_env: LimeEnv) -> int:
    return _stored(lime_env).count('"tool_result"')


def test_an_imported_session_is_stored_redacted_and_re_import_adds_only_new_turns(
    lime_env: LimeEnv, tmp_path: Path
) -> None:
    source = _write(tmp_path / "pi.jsonl", 2)
    ran = lime_env.run("import", str(source))
    assert ran.returncode == 0, ran.stderr
    text = _stored(lime_env)
    assert SK not in text and GHP not in text
    assert "deploy 0 with [REDACTED]" in text and "token [REDACTED] ok" in text
    assert _tool_results(lime_env) == 2
    again = lime_env.run("import", str(source))
    assert again.returncode == 0, again.stderr
    assert _tool_results(lime_env) == 2, "a re-import of the same source must write nothing"
    _write(source, 3)
    grown = lime_env.run("import", str(source))
    assert grown.returncode == 0, grown.stderr
    text = _stored(lime_env)
    assert SK not in text and GHP not in text and "deploy 2 with [REDACTED]" in text
    assert _tool_results(lime_env) == 3 and len(lime_env.session_files()) == 1


def test_an_import_with_redact_false_keeps_the_keys(lime_env: LimeEnv, tmp_path: Path) -> None:
    lime_env.home.mkdir(parents=True, exist_ok=True)
    (lime_env.home / "config.toml").write_text("redact = false\n")
    source = _write(tmp_path / "pi.jsonl", 2)
    ran = lime_env.run("import", str(source))
    assert ran.returncode == 0, ran.stderr
    text = _stored(lime_env)
    assert f"deploy 0 with {SK}" in text and f"token {GHP} ok" in text
