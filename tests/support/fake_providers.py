"""A scripted model server on 127.0.0.1 that speaks the real provider wire protocols.

One :class:`FakeProviderServer` answers all three wires, so any test (provider
unit tests, print mode, the agent loop, benchmarks) can point lime at it:

* ``POST /v1/chat/completions`` -- OpenAI Chat Completions (SSE ``data:`` lines, ``data: [DONE]``)
* ``POST /v1/responses`` -- OpenAI Responses (SSE ``event:`` + ``data:``, ``response.completed``)
* ``POST /v1/messages`` -- Anthropic Messages (SSE ``event:`` + ``data:``, ``message_stop``)
* ``GET /v1/models`` -- a model list in the OpenAI or Anthropic shape

(the same paths without ``/v1`` work too). Replies come from a FIFO queue and
are rendered in the wire of whichever endpoint is called; every request is
recorded. Example::

    with FakeProviderServer() as server:
        server.reply_tool_call("bash", {"command": "ls"}).reply_text("done")
        env = server.env("openai")          # OPENAI_API_KEY / OPENAI_BASE_URL
        ...run lime or a provider...
        assert server.requests[1]["messages"][-1]["role"] == "tool"

``requests`` holds the parsed JSON bodies, ``calls`` the full
:class:`RecordedRequest` (method, path, headers, body). Error replies carry
``x-should-retry: false`` so SDK retries never consume the next reply. With
the queue empty the server answers with ``default`` (a :class:`Reply`) or, when
that is None, a 500 error naming the problem.

lime's automatic-title request (its system prompt is
``lime_repl.context.title.TITLE_SYSTEM``) is a side request that may come at
any time after a first exchange, so it never takes a reply from the queue
and is not in ``calls``/``requests``: it is kept in ``title_calls`` and
answered with ``title_reply`` (None, the default: a 500 error, so no title
is recorded), after ``title_gate`` is set when a test holds it back.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lime_repl.context.title import TITLE_SYSTEM

from .fake_wire import OVERFLOW, Render, Reply, ToolCall, error_body

__all__ = ["FakeProviderServer", "RecordedRequest", "Reply", "ToolCall"]


@dataclass
class RecordedRequest:
    """A request the server received; ``body`` is the parsed JSON (None when empty or not JSON), ``raw`` its bytes."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes = b""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        owner = self.server.owner
        owner._record(RecordedRequest("GET", self.path, dict(self.headers.items()), None))
        if self.path.rstrip("/").split("?")[0] not in ("/v1/models", "/models"):
            self._send_json(
                404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}}
            )
            return
        if "anthropic-version" in self.headers:
            data = [
                {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                for m in owner.models
            ]
            self._send_json(
                200,
                {
                    "data": data,
                    "has_more": False,
                    "first_id": data[0]["id"] if data else None,
                    "last_id": data[-1]["id"] if data else None,
                },
            )
        else:
            data = [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"} for m in owner.models
            ]
            self._send_json(200, {"object": "list", "data": data})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        owner = self.server.owner
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        recorded = RecordedRequest("POST", self.path, dict(self.headers.items()), body, raw)
        title = TITLE_SYSTEM.encode() in raw
        if title:
            with owner._lock:
                owner.title_calls.append(recorded)
            if owner.title_gate is not None:
                owner.title_gate.wait(30)
        else:
            owner._record(recorded)
        route = self.path.split("?")[0].rstrip("/")
        wire = {
            "/v1/chat/completions": "chat",
            "/chat/completions": "chat",
            "/v1/responses": "responses",
            "/responses": "responses",
            "/v1/messages": "anthropic",
            "/messages": "anthropic",
        }.get(route)
        if wire is None:
            self._send_json(
                404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}}
            )
            return
        if title:
            reply = owner.title_reply or Reply(status=500, error_message="fake provider: no title scripted")
        else:
            reply = owner._next_reply(wire, body)
        if reply.status != 200:
            headers = {} if reply.retry else {"x-should-retry": "false"}
            if reply.status == 429:
                headers["retry-after"] = "0"
            self._send_json(reply.status, error_body(wire, reply), headers)
            return
        render = Render(reply, body if isinstance(body, dict) else {}, owner._ids)
        if not (isinstance(body, dict) and body.get("stream")):
            full = {
                "chat": render.chat_body,
                "responses": render.response_body,
                "anthropic": lambda: render.anthropic_message(render.anthropic_content(), False),
            }[wire]()
            self._send_json(200, full)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for count, event in enumerate(getattr(render, wire)()):
                if reply.cut_after is not None and count >= reply.cut_after:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
                if reply.chunk_delay:
                    time.sleep(reply.chunk_delay)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: FakeProviderServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up (cancelled streams, closed pools) are expected


class FakeProviderServer:
    """The scripted server; ``start()``/``stop()`` or use it as a context manager. See the module docstring."""

    def __init__(self, default: Reply | None = None, models: list[str] | None = None) -> None:
        self.default = default
        #: ``responder(wire, body) -> Reply | None``: answers a request by its content before the queue.
        self.responder: Callable[[str, Any], Reply | None] | None = None
        self.models = models or ["gpt-5.4", "gpt-5.4-mini", "claude-sonnet-5-5"]
        self.calls: list[RecordedRequest] = []
        #: lime's automatic-title requests (kept out of ``calls``), their answer, and a gate that holds them.
        self.title_calls: list[RecordedRequest] = []
        self.title_reply: Reply | None = None
        self.title_gate: threading.Event | None = None
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----
    def start(self) -> FakeProviderServer:
        """Bind 127.0.0.1 on a free port and serve on a daemon thread."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", 0), _Handler)
            self._server.owner = self
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name="fake-provider",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (the Anthropic base URL)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` (the OpenAI base URL)."""
        return self.url + "/v1"

    def env(self, provider: str = "openai", model: str | None = None) -> dict[str, str]:
        """Environment variables that point lime's ``provider`` at this server (plus LIME_PROVIDER/LIME_MODEL)."""
        if provider == "anthropic":
            env = {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": self.url}
        else:
            env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": self.openai_base_url}
        env["LIME_PROVIDER"] = provider
        if model:
            env["LIME_MODEL"] = model
        return env

    # ---- scripting ----
    def reply(self, reply: Reply) -> FakeProviderServer:
        """Queue any :class:`Reply`; returns self so calls chain."""
        with self._lock:
            self._queue.append(reply)
        return self

    def reply_text(self, text: str | list[str], **kw: Any) -> FakeProviderServer:
        """Queue a text answer; keywords are :class:`Reply` fields (``reasoning``, ``usage``, ...)."""
        return self.reply(Reply(text=text, **kw))

    def reply_tool_call(
        self, name: str, arguments: dict[str, Any] | str | None = None, *, id: str | None = None, **kw: Any
    ) -> FakeProviderServer:
        """Queue one tool call (``text`` and ``reasoning`` may come with it)."""
        return self.reply(
            Reply(tool_calls=[ToolCall(name, arguments if arguments is not None else {}, id)], **kw)
        )

    def reply_error(
        self, status: int, message: str | None = None, *, code: str | None = None, **kw: Any
    ) -> FakeProviderServer:
        """Queue an HTTP error with the wire's error JSON (``code`` overrides the error code / Anthropic type)."""
        return self.reply(Reply(status=status, error_message=message, error_code=code, **kw))

    def reply_context_overflow(self) -> FakeProviderServer:
        """Queue the 400 each provider sends when the prompt exceeds the context window."""
        return self.reply(Reply(status=400, error_code="__overflow__"))

    def pending(self) -> int:
        """Replies still queued."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[Any]:
        """Parsed JSON bodies of the POST requests, in arrival order."""
        with self._lock:
            return [c.body for c in self.calls if c.method == "POST"]

    @property
    def last(self) -> Any:
        """The body of the last POST request."""
        bodies = self.requests
        return bodies[-1] if bodies else None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.calls.append(request)

    def _next_reply(self, wire: str, body: Any = None) -> Reply:
        if self.responder is not None:
            chosen = self.responder(wire, body)
            if chosen is not None:
                return chosen
        with self._lock:
            reply = self._queue.popleft() if self._queue else None
        if reply is None:
            return self.default or Reply(status=500, error_message="fake provider: no scripted reply left")
        if reply.error_code == "__overflow__":
            code, message = OVERFLOW[wire]
            return Reply(status=400, error_code=code, error_message=message)
        return reply
