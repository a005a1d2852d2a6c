"""A `lime bridge` process driven over pipes (imported as ``support.bridge_client``)."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from typing import Any

from support.lime_env import LimeEnv


class BridgeClient:
    """One bridge process; :meth:`call` sends a request and returns (response, notifications before it)."""

    def __init__(self, lime_env: LimeEnv, *args: str, extra_env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lime_repl", "bridge", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=lime_env.cwd,
            env=dict(lime_env.env, **(extra_env or {})),
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(b"")

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_raw(self, timeout: float = 30) -> bytes:
        line = self.lines.get(timeout=timeout)
        assert line.endswith(b"\n"), f"the bridge ended its output: {line!r}"
        assert line.count(b"\n") == 1
        return line

    def read(self, timeout: float = 30) -> Any:
        return json.loads(self.read_raw(timeout))

    def request(self, method: str, params: Any = None) -> int:
        self.next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            message["params"] = params
        self.write(json.dumps(message).encode() + b"\n")
        return self.next_id

    def reply(self, request_id: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Read until the response to ``request_id``; every line before it must be a session.event."""
        events = []
        while True:
            message = self.read()
            assert message["jsonrpc"] == "2.0"
            if "id" in message:
                assert message["id"] == request_id, message
                return message, events
            assert message["method"] == "session.event" and "id" not in message
            assert message["params"]["kind"] in ("delta", "entry", "compaction")
            events.append(message["params"])

    def call(self, method: str, params: Any = None) -> tuple[Any, list[dict[str, Any]]]:
        """A request that must succeed: (result, events)."""
        response, events = self.reply(self.request(method, params))
        assert "error" not in response, response
        return response["result"], events

    def fail(self, method: str, params: Any = None) -> dict[str, Any]:
        """A request that must fail: its error object (no events before it)."""
        response, events = self.reply(self.request(method, params))
        assert "result" not in response and events == [], (response, events)
        return response["error"]

    def finish(self) -> tuple[int, bytes]:
        """Close stdin (end of input) and wait: (exit status, stderr)."""
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self.proc.stdin.close()
        status = self.proc.wait(timeout=30)
        return status, self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
