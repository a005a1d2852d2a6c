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

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, BinaryIO

from ..agent.providers.catalog import PROVIDERS, normalize_provider_name
from ..errors import LimeError, SessionLockedError, SessionNotFoundError, UsageError
from ..exchange.export import export_session
from ..paths import log_path
from ..runtime.session import SessionRuntime
from ..store.records import is_tree_node
from ..views.tree import preview
from ..workspace import Workspace
from .events import BridgeSink, TurnFailed
from .protocol import (
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    LineWriter,
    Request,
    RpcError,
    check_params,
    error_response,
    parse_line,
    read_lines,
    result_response,
)
from .registry import OpenSessions

__all__ = ["Bridge", "run_bridge"]

log = logging.getLogger("lime")

_STR = (str,)
_OPT_STR = (str, type(None))


class Bridge:
    """The JSON-RPC server: open sessions by id, the method table, and the read loop.

    ``workspace`` is the bridge's own directory (where ``latest`` and id
    prefixes are resolved and ``session.list`` looks); ``provider``,
    ``model`` and ``yolo`` are the command line's. Each method below takes a
    request's ``params`` and returns its ``result`` (docs/bridge.md gives the
    shapes); it raises :class:`RpcError` for bad params and a LimeError for
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
        self._methods = {
            "session.create": self.create,
            "session.resume": self.resume,
            "session.list": self.list_sessions,
            "session.send": self.send,
            "session.tree": self.tree,
            "session.setLeaf": self.set_leaf,
            "session.label": self.label,
            "session.rename": self.rename,
            "session.fork": self.fork,
            "session.clone": self.clone,
            "session.compact": self.compact,
            "session.export": self.export,
            "session.close": self.close,
        }

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

    # -- methods ---------------------------------------------------------
    def create(self, params: Any) -> dict[str, Any]:
        p = check_params(params, optional={"cwd": _STR, "title": _OPT_STR})
        workspace = self.workspace
        if p["cwd"] is not None:
            cwd = (self.workspace.cwd / Path(p["cwd"]).expanduser()).absolute()
            if not cwd.is_dir():
                raise RpcError(INVALID_PARAMS, f"parameter 'cwd': no such directory: {p['cwd']}")
            workspace = self.open.workspace_for(cwd)
        engine = self.open.new_engine(workspace)
        try:
            engine.new_session(p["title"])
        except BaseException:
            engine.close()
            raise
        return self.open.add(engine)

    def resume(self, params: Any) -> dict[str, Any]:
        p = check_params(params, {"sessionId": _STR})
        engine, path = self.open.resolve(p["sessionId"])
        if engine is None:
            engine = self.open.new_engine(self.open.session_workspace(path))
            try:
                engine.resume(path)
            except BaseException:
                engine.close()
                raise
            self.open.add(engine)
        session = engine.current
        return {
            "sessionId": session.session_id,
            "path": str(session.path),
            "leafId": session.leaf_id,
            "title": session.title,
            "warnings": _sink(engine).take_notes(),
        }

    def list_sessions(self, params: Any) -> dict[str, Any]:
        p = check_params(params, optional={"all": (bool,), "limit": (int,), "cwd": _STR})
        if p["limit"] is not None and p["limit"] < 1:
            raise RpcError(INVALID_PARAMS, "parameter 'limit' must be at least 1")
        workspace = self.workspace if p["cwd"] is None else self.open.workspace_for(Path(p["cwd"]))
        sessions = workspace.list_sessions(bool(p["all"]))
        if p["limit"] is not None:
            sessions = sessions[: p["limit"]]
        return {"sessions": [s.to_json() for s in sessions]}

    def send(self, params: Any) -> dict[str, Any]:
        p = check_params(params, {"sessionId": _STR, "text": _STR})
        engine = self.open.writable(p["sessionId"])
        stripped = p["text"].strip()
        if not stripped:
            raise RpcError(INVALID_PARAMS, "parameter 'text' is empty")
        if stripped.startswith("!"):
            context = not stripped.startswith("!!")  # !!command: recorded, kept out of the model's context
            command = stripped[1 if context else 2 :].strip()
            if not command:
                raise RpcError(INVALID_PARAMS, "'!' needs a command, e.g. !ls")
            if "\0" in command:
                raise RpcError(INVALID_PARAMS, "a shell command cannot contain a NUL character")
            return self._bang(engine, command, context)
        if stripped.startswith("/"):
            return self._command(engine, stripped)
        return self._message(engine, p["text"])

    def _bang(self, engine: SessionRuntime, command: str, context: bool = True) -> dict[str, Any]:
        """``!command``: ``{"entryIds": [3 ids], "exitCode": n, "cwd": dir}`` (+ ``"cancelled": true`` on SIGINT)."""
        sink = _sink(engine)
        sink.take_notes()
        try:
            outcome = engine.run_shell(command, context=context)
        finally:
            sink.flush_output()
        reply: dict[str, Any] = {"entryIds": outcome.entry_ids, "exitCode": outcome.exit_code, "cwd": outcome.cwd}
        if outcome.interrupted:
            reply["cancelled"] = True
        return reply

    def _message(self, engine: SessionRuntime, text: str) -> dict[str, Any]:
        """A model turn: ``{"entryIds", "text", "cancelled"}``; a provider error raises :class:`TurnFailed`."""
        _sink(engine).take_notes()
        outcome = engine.send_message(text)
        if outcome.error:
            raise TurnFailed(outcome.error, outcome.entries)
        return {"entryIds": outcome.entries, "text": outcome.text, "cancelled": outcome.status == 130}

    def _command(self, engine: SessionRuntime, line: str) -> dict[str, Any]:
        """A slash command through the registry: its result as data (docs/bridge.md, "Slash commands").

        A command that switches the session (``/fork N``, ``/clone``, ``/new``,
        ``/resume ID``) leaves the runtime in the new session, now held under
        its id (``sessionId`` in the result); ``/quit`` closes the session.
        """
        sink = _sink(engine)
        sink.take_notes()
        before = engine.current.session_id
        with engine.collect() as ids:
            result = engine.run_command(line)
        engine.sync()
        reply = result.to_json()
        reply["notices"] = sink.take_notes() + reply["notices"]
        reply["entryIds"] = list(ids)
        reply["sessionId"] = engine.current.session_id
        if engine.current.session_id != before:
            self.open.rekey(engine)
        if result.quit:
            self.open.close(engine)
        return reply

    def tree(self, params: Any) -> dict[str, Any]:
        p = check_params(params, {"sessionId": _STR})
        session, _ = self.open.readable(p["sessionId"])
        tool_names: dict[str, str] = {}
        for entry in session.entries.values():
            content = entry.get("content")
            for block in content if isinstance(content, list) else ():
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    tool_names[str(block.get("id"))] = str(block.get("name"))
        nodes = [
            {
                "id": entry_id,
                "parentId": entry.get("parentId"),
                "type": entry.get("type"),
                "role": entry.get("role"),
                "preview": preview(entry, tool_names),
                "label": session.labels.get(entry_id),
                "timestamp": entry.get("timestamp"),
            }
            for entry_id, entry in session.entries.items()
            if is_tree_node(entry)
        ]
        return {"sessionId": session.session_id, "leafId": session.leaf_id, "entries": nodes}

    def _node(self, engine: SessionRuntime, entry_id: str) -> str:
        session = engine.current
        entry = session.entries.get(entry_id)
        if entry is None or not is_tree_node(entry):
            raise SessionNotFoundError(f"no entry {entry_id} in session {session.short_id}")
        return entry_id

    def set_leaf(self, params: Any) -> dict[str, Any]:
        p = check_params(params, {"sessionId": _STR, "entryId": _OPT_STR})
        engine = self.open.writable(p["sessionId"])
        target = None if p["entryId"] is None else self._node(engine, p["entryId"])
        engine.set_leaf(target)
        return {"ok": True}

    def label(self, params: Any) -> dict[str, Any]:
        p = check_params(params, {"sessionId": _STR, "entryId": _STR, "label": _OPT_STR})
        engine = self.open.writable(p["sessionId"])
        engine.label(self._node(engine, p["entryId"]), p["label"])
        return {"ok": True}

    def rename(self, params: Any) -> dict[str, Any]:
        p = check_params(params, {"sessionId": _STR, "title": _OPT_STR})
        self.open.writable(p["sessionId"]).rename(p["title"])
        return {"ok": True}

    def _fork(self, ref: str, entry_id: str | None) -> dict[str, Any]:
        source, workspace = self.open.readable(ref)
        assert source.path is not None
        engine = self.open.new_engine(workspace)
        try:
            forked = engine.fork(source.path, entry_id)
        except BaseException:
            engine.close()
            raise
        result = self.open.add(engine)
        result["leafId"] = forked.leaf_id
        result["forkedFrom"] = forked.header.get("forkedFrom")
        return result

    def fork(self, params: Any) -> dict[str, Any]:
        p = check_params(params, {"sessionId": _STR}, {"entryId": _STR})
        return self._fork(p["sessionId"], p["entryId"])

    def clone(self, params: Any) -> dict[str, Any]:
        p = check_params(params, {"sessionId": _STR})
        return self._fork(p["sessionId"], None)

    def compact(self, params: Any) -> dict[str, Any] | None:
        p = check_params(params, {"sessionId": _STR}, {"hint": _OPT_STR})
        return self.open.writable(p["sessionId"]).compact(p["hint"] or None)

    def export(self, params: Any) -> dict[str, Any]:
        p = check_params(params, {"sessionId": _STR, "format": _STR}, {"path": _OPT_STR})
        session, _ = self.open.readable(p["sessionId"])
        if p["path"] == "-":
            raise RpcError(INVALID_PARAMS, "parameter 'path': '-' (stdout) is the protocol's; give a file")
        written = export_session(
            session.path, p["format"], p["path"], cwd=self.workspace.cwd, env=self.workspace.env
        )
        return {"path": str(written)}

    def close(self, params: Any) -> dict[str, Any]:
        p = check_params(params, {"sessionId": _STR})
        self.open.close(self.open.writable(p["sessionId"]))
        return {"ok": True}


def _sink(engine: SessionRuntime) -> BridgeSink:
    sink = engine.sink
    assert isinstance(sink, BridgeSink)
    return sink


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
