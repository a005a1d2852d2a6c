"""``lime bridge``: drive sessions with JSON-RPC 2.0 over stdio (DESIGN.md section 4c; docs/bridge.md).

One JSON object per line in each direction, lines split on LF only
(:mod:`lime_repl.bridge.protocol`). Requests are handled one at a time, in
the order they arrive, so responses come back in request order and every
``session.event`` notification of a call is written before its response.
SIGINT cancels the running call the way Ctrl-C does in the REPL (a ``!``
command is interrupted and recorded with exit code 130, a model turn keeps
its partial answer with ``stopReason: "cancelled"``); while idle, SIGINT is
ignored. End of input closes every open session (sync, release the lock)
and ends the process with status 0.

Sessions: ``session.create``, ``session.resume``, ``session.fork`` and
``session.clone`` open a session in the bridge, which then holds its writer
lock until ``session.close`` or the end of input. Methods that write
(``send``, ``setLeaf``, ``label``, ``rename``, ``compact``) need an open
session; methods that only read (``tree``, ``fork``, ``clone``, ``export``)
also take any session id, prefix, ``latest`` or path, and never lock or
write the source. A ``sessionId`` is matched against the open sessions
first (full id or unique prefix), then resolved like ``lime -r``.

Errors: the JSON-RPC codes for bad messages (-32700, -32600, -32601,
-32602), and application errors with the exit code of DESIGN.md section 7 as
``code`` (2 unknown or ambiguous session or entry, 3 locked, 1 anything
else) and the line the command line would print as ``message``.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any, BinaryIO

from ..agent.providers.catalog import PROVIDERS, normalize_provider_name
from ..errors import LimeError, SessionLockedError, UsageError
from ..logsetup import get_logger
from ..paths import log_path
from ..runtime.session import SessionRuntime
from ..workspace import Workspace
from .events import BridgeSink, TurnFailed
from .methods import SessionMethods
from .protocol import (
    METHOD_NOT_FOUND,
    LineWriter,
    Request,
    RpcError,
    error_response,
    parse_line,
    read_lines,
    result_response,
)
from .registry import OpenSessions

__all__ = ["Bridge", "run_bridge"]

log = get_logger()


class Bridge:
    """The JSON-RPC server: open sessions by id, the method table, and the read loop.

    ``workspace`` is the bridge's own directory (where ``latest`` and id
    prefixes are resolved and ``session.list`` looks); ``provider``,
    ``model`` and ``yolo`` are the command line's. The methods
    (:class:`~lime_repl.bridge.methods.SessionMethods`) take a request's
    ``params`` and return its ``result`` (docs/bridge.md gives the shapes);
    they raise :class:`RpcError` for bad params and a LimeError for
    application errors, which :meth:`handle` turns into error objects.
    """

    def __init__(
        self,
        writer: LineWriter,
        workspace: Workspace,
        *,
        provider: str | None = None,
        model: str | None = None,
        yolo: bool = False,
    ) -> None:
        self.writer = writer
        self.workspace = workspace
        self.provider, self.model, self.yolo = provider, model, yolo
        self.busy = False
        self.open = OpenSessions(workspace, self._new_engine)
        self._methods = SessionMethods(self.open, workspace).table()

    # -- the loop --------------------------------------------------------
    def serve(self, stdin: BinaryIO) -> None:
        """Answer every line of ``stdin`` until its end (or until stdout is gone), then close all sessions."""
        try:
            for raw in read_lines(stdin):
                self.handle_line(raw)
                if self.writer.closed:
                    break
        finally:
            self.open.close_all()

    def handle_line(self, raw: bytes) -> None:
        """Parse and answer one line: a request, a notification, a batch, or garbage."""
        parsed = parse_line(raw)
        if parsed is None:
            return
        requests, batch = parsed
        responses = [r for r in map(self.handle, requests) if r is not None]
        if responses:
            self.writer.send(responses if batch else responses[0])

    def handle(self, request: Request) -> dict[str, Any] | None:
        """The response to one request, or None for a notification."""
        if request.error is not None:
            return error_response(request.id, request.error)
        try:
            method = self._methods.get(request.method)
            if method is None:
                raise RpcError(METHOD_NOT_FOUND, f"method not found: {request.method}")
            self.busy = True
            try:
                result = method(request.params)
            finally:
                self.busy = False
        except RpcError as exc:
            error = exc
        except LimeError as exc:
            error = RpcError(exc.exit_code, exc.message, _error_data(exc))
        except KeyboardInterrupt:
            error = RpcError(1, "interrupted")
        except Exception as exc:  # a bug: one line for the client, the traceback in the log
            log.error("bridge: internal error in %s", request.method, exc_info=True)
            error = RpcError(1, f"internal error: {exc} (details in {log_path()})")
        else:
            return None if request.notification else result_response(request.id, result)
        return None if request.notification else error_response(request.id, error)

    def on_sigint(self, signum: int, frame: Any) -> None:
        """SIGINT handler: cancel the running call; ignored while idle."""
        if self.busy:
            raise KeyboardInterrupt

    def emit(self, session_id: str, kind: str, fields: dict[str, Any]) -> None:
        """Send one ``session.event`` notification."""
        self.writer.notify("session.event", {"sessionId": session_id, "kind": kind, **fields})

    def _new_engine(self, workspace: Workspace) -> SessionRuntime:
        sink = BridgeSink(self.emit)
        runtime = SessionRuntime.start(workspace, sink, provider=self.provider, model=self.model, yolo=self.yolo)
        sink.session_id = lambda: runtime.current.session_id
        return runtime


def _error_data(exc: LimeError) -> dict[str, Any] | None:
    if isinstance(exc, SessionLockedError) and exc.pid:
        return {"pid": exc.pid}
    if isinstance(exc, TurnFailed):
        return {"entryIds": exc.entry_ids}
    return None


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def run_bridge(*, provider: str | None = None, model: str | None = None, yolo: bool = False) -> int:
    """Serve stdin/stdout until the end of input; returns the exit status (0).

    The protocol keeps the real stdout to itself: file descriptor 1 is pointed
    at stderr, so nothing else the process or its children print can corrupt
    the stream. Raises :class:`UsageError` for an unknown ``provider``.
    """
    if provider and normalize_provider_name(provider) not in PROVIDERS:
        raise UsageError(f"unknown provider {provider!r}: choose one of {', '.join(PROVIDERS)}")
    workspace = Workspace()
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    bridge = Bridge(LineWriter(out), workspace, provider=provider, model=model, yolo=yolo)
    old_int = signal.signal(signal.SIGINT, bridge.on_sigint)
    old_term = signal.signal(signal.SIGTERM, _terminate)
    try:
        bridge.serve(sys.stdin.buffer)
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
        try:
            out.close()
        except OSError:
            pass
    return 0
