"""The bridge's ``session.*`` methods (docs/bridge.md gives each one's params and result).

Each method takes a request's ``params`` (checked by
:func:`~lime_repl.bridge.protocol.check_params`) and returns its ``result``;
it raises :class:`~lime_repl.bridge.protocol.RpcError` for bad params and a
:class:`~lime_repl.errors.LimeError` for application errors, which the
server (:mod:`lime_repl.bridge.server`) turns into error objects. Writing
methods go through an open session's :class:`~lime_repl.runtime.session.SessionRuntime`;
reading methods (``tree``, ``fork``, ``clone``, ``export``) also take any
session and never lock or write it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SessionNotFoundError
from ..exchange.export import export_session
from ..runtime.session import SessionRuntime
from ..store.records import is_tree_node, tool_names
from ..views.tree import preview
from ..workspace import Workspace
from .events import BridgeSink, TurnFailed
from .protocol import INVALID_PARAMS, RpcError, check_params
from .registry import OpenSessions

__all__ = ["SessionMethods"]

_STR = (str,)
_OPT_STR = (str, type(None))

Method = Callable[[Any], "dict[str, Any] | None"]


class SessionMethods:
    """The method table over ``open`` (the bridge's open sessions); ``workspace`` is the bridge's directory."""

    def __init__(self, open_sessions: OpenSessions, workspace: Workspace) -> None:
        self.open = open_sessions
        self.workspace = workspace

    def table(self) -> dict[str, Method]:
        """JSON-RPC method name -> method."""
        return {
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
        names = tool_names(session.entries.values())
        nodes = [
            {
                "id": entry_id,
                "parentId": entry.get("parentId"),
                "type": entry.get("type"),
                "role": entry.get("role"),
                "preview": preview(entry, names),
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
