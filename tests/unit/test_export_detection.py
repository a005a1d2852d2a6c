"""lime's format detection never takes a lime log for pi's, nor a pi export for lime's.

pi accepts a file whose first line has ``type: "session"`` and a string ``id``
(``session-manager.ts`` ``isValidSessionFile``), and migrates it in place
when ``version`` is below 3. lime's header also has ``type: "session"`` and an
``id`` (with ``version: 1``), so lime never writes its own log where pi looks:
``--install`` writes only the pi export, whose header is ``version: 3`` and has
no ``sessionId``. lime tells the two apart by ``sessionId``.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.exchange_helpers import make_workspace

from lime_repl.exchange.export import foreign_bytes
from lime_repl.exchange.import_ import read_bytes


def test_lime_log_and_pi_export_are_told_apart(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    session = ws.create_session(system_prompt="be brief")
    session.append({"type": "message", "role": "user", "content": [{"type": "text", "text": "hi"}]})
    session.close()
    assert session.path is not None
    lime_log = session.path.read_bytes()
    header = json.loads(lime_log.splitlines()[0])
    assert header["type"] == "session" and isinstance(header["id"], str)  # pi's own check would accept it
    assert read_bytes(lime_log, "log", cap=1 << 20, fallback="2026-01-01T00:00:00.000Z").tool == "lime"
    exported = foreign_bytes("pi", ws.load_session(session.path))
    pi_header = json.loads(exported.splitlines()[0])
    assert pi_header["version"] == 3 and "sessionId" not in pi_header  # pi runs no migration on it
    imported = read_bytes(exported, "pi", cap=1 << 20, fallback="2026-01-01T00:00:00.000Z")
    assert imported.tool == "pi" and imported.source_id == pi_header["id"]
