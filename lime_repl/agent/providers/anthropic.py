"""The ``anthropic`` provider: the Messages API, streamed over HTTP (:mod:`.http`).

Configured by ``ANTHROPIC_API_KEY`` (or ``ANTHROPIC_AUTH_TOKEN``) and ``ANTHROPIC_BASE_URL``.

Wire rules (Anthropic API reference, "Messages", "Streaming Messages",
"Extended thinking" and "Prompt caching"):

* request: ``system`` as one text block, ``messages`` alternating ``user`` /
  ``assistant`` with content blocks, ``tools`` as ``{"name", "description",
  "input_schema"}``, ``max_tokens`` (required; 8192 when the caller gives none),
  ``stream=true``. ``cache_control: {"type": "ephemeral"}`` marks the system
  prompt and the last block of the last message, so each turn reads the
  previous turn's prefix from the prompt cache.
* tool results are ``{"type": "tool_result", "tool_use_id", "content",
  "is_error"}`` blocks in a user message, placed before any text there.
* thinking: nothing is sent by default, so each model uses its own default
  (current models think adaptively). The ``thinking`` option sends
  ``{"type": "adaptive"}`` (``"adaptive"``), ``{"type": "enabled",
  "budget_tokens": N}`` (an int; older models, ``max_tokens`` raised above the
  budget) or a dict as given; ``effort`` sends ``output_config={"effort": ...}``.
  ``thinking`` blocks (with ``signature``) and ``redacted_thinking``
  blocks are stored as received in ``reasoning.data`` and sent back unchanged,
  first in their assistant message, as the API requires for tool use with thinking.
* stream events: ``message_start`` (model, input usage), ``content_block_start``
  / ``content_block_delta`` (``text_delta``, ``thinking_delta``,
  ``signature_delta``, ``input_json_delta``) / ``content_block_stop``,
  ``message_delta`` (``stop_reason``, cumulative usage), ``message_stop``; an
  ``error`` event is raised as a typed error; a stream
  that ends before ``message_stop`` raises :class:`NetworkError`.
* usage: ``input_tokens`` here is Anthropic's ``input_tokens`` plus
  ``cache_read_input_tokens`` plus ``cache_creation_input_tokens`` (the whole
  prompt); the raw object is kept under ``raw``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from lime_repl.agent.providers.base import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Accumulator,
    BaseProvider,
    Event,
    ReasoningDelta,
    TextDelta,
    TurnEnd,
)
from lime_repl.agent.providers.blocks import (
    Block,
    make_usage,
    render_local_shell,
    tool_use_block,
)
from lime_repl.agent.providers.errors import NetworkError
from lime_repl.agent.providers.http import decode_event, encode_body_chunks, raise_stream_error

__all__ = ["DEFAULT_MAX_TOKENS", "AnthropicProvider", "build_messages", "build_tools"]

PROVIDER = "anthropic"
DEFAULT_MAX_TOKENS = 8192
ANTHROPIC_VERSION = "2026-10-21"
"""The ``anthropic-version`` header (the API version the official SDK sends)."""
_CACHE = {"type": "ephemeral"}
_CACHEABLE = ("text", "tool_use", "tool_result", "image", "document")


def build_tools(tools: list[Block]) -> list[dict[str, Any]]:
    """Neutral tool schemas -> Messages ``tools``."""
    return [
        {
            "name": t["name"],
            "description": t.get("description", ""),
            "input_schema": t.get("input_schema") or {"type": "object", "properties": {}},
        }
        for t in tools
    ]


def _user_blocks(blocks: list[Block]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "tool_result":
            out: dict[str, Any] = {"type": "tool_result", "tool_use_id": block["tool_use_id"]}
            content = block.get("content", "")
            if content not in ("", None, []):
                out["content"] = content if isinstance(content, str | list) else json.dumps(content)
            out["is_error"] = bool(block.get("is_error", False))
            results.append(out)
        elif kind == "text" and block.get("text"):
            texts.append({"type": "text", "text": block["text"]})
        elif kind == "local_shell":
            texts.append({"type": "text", "text": render_local_shell(block)})
    return results + texts


def _assistant_blocks(blocks: list[Block]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "reasoning":
            if block.get("provider") == PROVIDER and isinstance(block.get("data"), dict):
                out.append(block["data"])
        elif kind == "text" and block.get("text"):
            out.append({"type": "text", "text": block["text"]})
        elif kind == "tool_use":
            out.append(
                {
                    "type": "tool_use",
                    "id": block["id"],
                    "name": block["name"],
                    "input": block.get("input") or {},
                }
            )
    return out


def build_messages(messages: list[Block], cache: bool = True) -> list[dict[str, Any]]:
    """Neutral messages -> Messages ``messages``; with ``cache``, the last block gets ``cache_control``.

    Input blocks are never mutated; messages that end up empty are dropped.
    """
    out: list[dict[str, Any]] = []
    for message in messages:
        blocks = message.get("content") or []
        if isinstance(blocks, str):
            blocks = [{"type": "text", "text": blocks}]
        role = "assistant" if message.get("role") == "assistant" else "user"
        converted = _assistant_blocks(blocks) if role == "assistant" else _user_blocks(blocks)
        if converted:
            out.append({"role": role, "content": converted})
    if cache and out:
        last = out[-1]["content"]
        for i in range(len(last) - 1, -1, -1):
            if last[i].get("type") in _CACHEABLE:
                last[i] = {**last[i], "cache_control": dict(_CACHE)}
                break
    return out


def _finish_block(started: dict[str, Any], parts: list[str], signature: str) -> Block | None:
    """A finished content block (start payload + joined deltas) -> neutral block."""
    kind = started.get("type")
    if kind == "text":
        return {"type": "text", "text": started.get("text", "") + "".join(parts)}
    if kind == "thinking":
        data = {
            "type": "thinking",
            "thinking": started.get("thinking", "") + "".join(parts),
            "signature": signature or started.get("signature", ""),
        }
        data.update({k: v for k, v in started.items() if k not in data})
        return {"type": "reasoning", "provider": PROVIDER, "summary": data["thinking"], "data": data}
    if kind == "redacted_thinking":
        return {"type": "reasoning", "provider": PROVIDER, "summary": "", "data": dict(started)}
    if kind == "tool_use":
        raw = "".join(parts) or json.dumps(started.get("input") or {})
        return tool_use_block(started.get("id", ""), started.get("name", ""), raw)
    return None


class AnthropicProvider(BaseProvider):
    """Messages API over HTTP; see the module docstring for the wire rules."""

    name = PROVIDER
    key_env = "ANTHROPIC_API_KEY"
    default_base_url = "https://api.anthropic.com"

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        auth_token: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        thinking: int | str | dict[str, Any] | None = None,
        effort: str | None = None,
        prompt_caching: bool = True,
    ) -> None:
        super().__init__(
            api_key or None,
            base_url,
            max_retries=max_retries,
            timeout=timeout,
            connect_timeout=connect_timeout,
        )
        self.auth_token = auth_token or None
        if self.auth_token and not api_key:
            self.api_key = None  # the bearer token authenticates; no placeholder key
        self.thinking = _thinking_param(thinking)
        self.effort = effort or None
        self.prompt_caching = prompt_caching

    def has_credentials(self) -> bool:
        """An API key or a bearer token (``ANTHROPIC_AUTH_TOKEN``) is set."""
        return bool(self.api_key or self.auth_token)

    def _auth_headers(self) -> dict[str, str]:
        """``Authorization: Bearer`` with the API key (or, without one, the auth token) and ``anthropic-version``."""
        return {"Authorization": f"Bearer {self.api_key or self.auth_token}", "anthropic-version": ANTHROPIC_VERSION}

    def request_params(
        self, system: str, messages: list[Block], tools: list[Block], model: str, max_tokens: int | None
    ) -> dict[str, Any]:
        """The keyword arguments for ``client.messages.create``."""
        limit = max_tokens or DEFAULT_MAX_TOKENS
        params: dict[str, Any] = {
            "model": model,
            "max_tokens": limit,
            "messages": build_messages(messages, cache=self.prompt_caching),
            "stream": True,
        }
        if system:
            block: dict[str, Any] = {"type": "text", "text": system}
            if self.prompt_caching:
                block["cache_control"] = dict(_CACHE)
            params["system"] = [block]
        if tools:
            params["tools"] = build_tools(tools)
        if self.thinking is not None:
            params["thinking"] = self.thinking
            budget = self.thinking.get("budget_tokens")
            if isinstance(budget, int):
                params["max_tokens"] = max(limit, budget + 1024)
        if self.effort:
            params["output_config"] = {"effort": self.effort}
        return params

    def request_body(
        self, system: str, messages: list[Block], tools: list[Block], model: str, max_tokens: int | None
    ) -> bytes:
        """The JSON bytes sent: top-level keys sorted (the SDK's order)."""
        return b"".join(self.request_chunks(system, messages, tools, model, max_tokens))

    def request_chunks(
        self, system: str, messages: list[Block], tools: list[Block], model: str, max_tokens: int | None
    ) -> list[bytes]:
        """:meth:`request_body` in the pieces it is sent in (:func:`~.http.encode_body_chunks`)."""
        return encode_body_chunks(self.request_params(system, messages, tools, model, max_tokens))

    def _events(
        self,
        acc: Accumulator,
        system: str,
        messages: list[Block],
        tools: list[Block],
        model: str,
        max_tokens: int | None,
    ) -> Iterator[Event]:
        body = self.request_chunks(system, messages, tools, model, max_tokens)
        served_model = model
        usage: dict[str, Any] = {}
        stop = ""
        started: dict[int, dict[str, Any]] = {}
        parts: dict[int, list[str]] = {}
        signatures: dict[int, str] = {}
        finished = False
        for name, data in self._post_stream("/v1/messages", body):
            event = decode_event(data)
            if event is None:
                continue
            kind = event.get("type") or name
            if kind == "content_block_delta":
                index, delta = event.get("index", -1), event.get("delta") or {}
                dtype = delta.get("type")
                if dtype == "text_delta":
                    text = delta.get("text") or ""
                    parts.setdefault(index, []).append(text)
                    acc.append_text(index, text)
                    yield TextDelta(text)
                elif dtype == "thinking_delta":
                    thought = delta.get("thinking") or ""
                    parts.setdefault(index, []).append(thought)
                    yield ReasoningDelta(thought)
                elif dtype == "input_json_delta":
                    parts.setdefault(index, []).append(delta.get("partial_json") or "")
                elif dtype == "signature_delta":
                    signatures[index] = signatures.get(index, "") + (delta.get("signature") or "")
            elif kind == "content_block_start":
                index = event.get("index", -1)
                block = event.get("content_block")
                started[index] = dict(block) if isinstance(block, dict) else {}
                if started[index].get("type") == "text" and started[index].get("text"):
                    acc.append_text(index, started[index]["text"])
            elif kind == "content_block_stop":
                index = event.get("index", -1)
                if index in started:
                    done = _finish_block(started[index], parts.get(index, []), signatures.get(index, ""))
                    if done is not None:
                        acc.put(index, done)
            elif kind == "message_start":
                message = event.get("message") or {}
                served_model = message.get("model") or served_model
                if isinstance(message.get("usage"), dict):
                    usage.update(message["usage"])
            elif kind == "message_stop":
                finished = True
            elif kind == "message_delta":
                stop = (event.get("delta") or {}).get("stop_reason") or stop
                if isinstance(event.get("usage"), dict):
                    usage.update({k: v for k, v in event["usage"].items() if v is not None})
            elif kind == "error":
                raise_stream_error(PROVIDER, event)
        if not finished and not stop:
            raise NetworkError(
                f"{PROVIDER}: the stream ended before the message completed", provider=PROVIDER
            )
        yield TurnEnd(acc.content(), _usage(usage), stop or "end_turn", served_model)


def _thinking_param(value: int | str | dict[str, Any] | None) -> dict[str, Any] | None:
    """``thinking`` option -> request param: a budget (int), ``"adaptive"`` / ``"disabled"``, or a dict as is."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, int):
        return {"type": "enabled", "budget_tokens": value}
    return {"type": str(value)}



def _usage(raw: dict[str, Any]) -> dict[str, Any]:
    """Anthropic usage -> normalized usage (cache reads and writes added into ``input_tokens``)."""

    def n(key: str) -> int:
        value = raw.get(key)
        return value if isinstance(value, int) else 0

    read, write = n("cache_read_input_tokens"), n("cache_creation_input_tokens")
    return make_usage(n("input_tokens") + read + write, n("output_tokens"), read, write, raw)
