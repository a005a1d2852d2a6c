"""The ``openai-responses`` provider: the OpenAI Responses API, stateless, spoken over HTTP (:mod:`.http`).

Configured by ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` like ``openai``.

Wire rules (OpenAI API reference, "Create a model response", "Streaming
events", and the reasoning guide's "Encrypted reasoning items"):

* request: ``instructions`` (the system prompt), ``input`` items, ``tools`` as
  ``{"type": "function", "name", "description", "parameters", "strict": false}``,
  ``stream=true``, ``store=false`` (nothing kept server-side) and
  ``include=["reasoning.encrypted_content"]`` so reasoning can be replayed.
* input items: user text ``{"type": "message", "role": "user", "content":
  [{"type": "input_text", "text"}]}``; assistant text ``{"type": "message",
  "role": "assistant", "content": [{"type": "output_text", "text"}]}``; tool
  calls ``{"type": "function_call", "call_id", "name", "arguments"}``; tool
  results ``{"type": "function_call_output", "call_id", "output"}``.
* reasoning: the ``reasoning`` output item from ``response.output_item.done``
  (with ``encrypted_content``) is stored whole in ``reasoning.data`` and sent
  back as an input item with every field as received except ``id``: with
  ``store=false`` the API resolves an ``rs_...`` id against server storage that
  does not exist and fails with "Item with id ... not found", while the
  encrypted content alone carries the state. Items without
  ``encrypted_content`` cannot be replayed statelessly and are skipped.
* stream events used: ``response.created`` (model), ``response.output_text.delta``,
  ``response.reasoning_summary_text.delta`` / ``response.reasoning_text.delta``,
  ``response.output_item.done`` (final items), ``response.completed`` /
  ``response.incomplete`` (usage, status), ``response.failed`` and ``error``
  (raised as typed errors). A stream that ends without ``response.completed``
  or ``response.incomplete`` raises :class:`NetworkError`.
* stop reason: a function call -> ``tool_use``; ``incomplete_details.reason``
  ``max_output_tokens`` -> ``max_tokens`` (other reasons pass through);
  otherwise ``end_turn``.
"""

from __future__ import annotations

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
    tool_input_json,
    tool_result_text,
    tool_use_block,
)
from lime_repl.agent.providers.errors import NetworkError, from_status
from lime_repl.agent.providers.http import decode_event, encode_body_chunks

__all__ = ["OpenAIResponsesProvider", "build_input", "build_tools", "replay_reasoning_item"]

PROVIDER = "openai-responses"


def build_tools(tools: list[Block]) -> list[dict[str, Any]]:
    """Neutral tool schemas -> Responses ``tools`` (function tools, non-strict)."""
    return [
        {
            "type": "function",
            "name": t["name"],
            "description": t.get("description", ""),
            "parameters": t.get("input_schema") or {"type": "object", "properties": {}},
            "strict": False,
        }
        for t in tools
    ]


def replay_reasoning_item(data: Any) -> dict[str, Any] | None:
    """The input item for a stored reasoning item: as received minus ``id``; None if it has no encrypted content."""
    if not isinstance(data, dict) or not data.get("encrypted_content"):
        return None
    return {k: v for k, v in data.items() if k != "id"}


def _user_items(blocks: list[Block]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "tool_result":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": block["tool_use_id"],
                    "output": tool_result_text(block),
                }
            )
        elif kind == "text":
            parts.append({"type": "input_text", "text": block.get("text", "")})
        elif kind == "local_shell":
            parts.append({"type": "input_text", "text": render_local_shell(block)})
    if parts:
        items.append({"type": "message", "role": "user", "content": parts})
    return items


def _assistant_items(blocks: list[Block]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "reasoning":
            item = replay_reasoning_item(block.get("data")) if block.get("provider") == PROVIDER else None
            if item is not None:
                items.append(item)
        elif kind == "text" and block.get("text"):
            items.append(
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": block["text"]}],
                }
            )
        elif kind == "tool_use":
            items.append(
                {
                    "type": "function_call",
                    "call_id": block["id"],
                    "name": block["name"],
                    "arguments": block.get("raw_arguments") or tool_input_json(block.get("input")),
                }
            )
    return items


def build_input(messages: list[Block]) -> list[dict[str, Any]]:
    """Neutral messages -> Responses ``input`` items (see the module docstring)."""
    items: list[dict[str, Any]] = []
    for message in messages:
        blocks = message.get("content") or []
        if isinstance(blocks, str):
            blocks = [{"type": "text", "text": blocks}]
        if message.get("role") == "assistant":
            items.extend(_assistant_items(blocks))
        else:
            items.extend(_user_items(blocks))
    return items



def _item_block(item: dict[str, Any]) -> Block | None:
    """A finished output item -> neutral block (None for item types lime does not use)."""
    kind = item.get("type")
    if kind == "message":
        text = "".join(
            part.get("text") or part.get("refusal") or ""
            for part in item.get("content") or []
            if part.get("type") in ("output_text", "refusal")
        )
        return {"type": "text", "text": text}
    if kind == "function_call":
        return tool_use_block(
            item.get("call_id") or item.get("id") or "", item.get("name", ""), item.get("arguments")
        )
    if kind == "reasoning":
        summary = "\n\n".join(s.get("text", "") for s in item.get("summary") or [])
        return {"type": "reasoning", "provider": PROVIDER, "summary": summary, "data": item}
    return None


class OpenAIResponsesProvider(BaseProvider):
    """Responses API over HTTP; see the module docstring for the wire rules.

    ``reasoning_effort`` (``minimal``/``low``/``medium``/``high``) and
    ``reasoning_summary`` (``auto``/``concise``/``detailed``) are sent as the
    ``reasoning`` parameter only when set: models without reasoning reject it.
    """

    name = PROVIDER
    key_env = "OPENAI_API_KEY"
    default_base_url = "https://api.openai.com/v1"

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        reasoning_effort: str | None = None,
        reasoning_summary: str | None = None,
    ) -> None:
        super().__init__(
            api_key, base_url, max_retries=max_retries, timeout=timeout, connect_timeout=connect_timeout
        )
        self.reasoning_effort = reasoning_effort
        self.reasoning_summary = reasoning_summary

    def request_params(
        self, system: str, messages: list[Block], tools: list[Block], model: str, max_tokens: int | None
    ) -> dict[str, Any]:
        """The request body as a dict (the parameters of "Create a model response")."""
        params: dict[str, Any] = {
            "model": model,
            "input": build_input(messages),
            "stream": True,
            "store": False,
            "include": ["reasoning.encrypted_content"],
        }
        if system:
            params["instructions"] = system
        if tools:
            params["tools"] = build_tools(tools)
        if max_tokens:
            params["max_output_tokens"] = max_tokens
        reasoning: dict[str, str] = {}
        if self.reasoning_effort:
            reasoning["effort"] = self.reasoning_effort
        if self.reasoning_summary:
            reasoning["summary"] = self.reasoning_summary
        if reasoning:
            params["reasoning"] = reasoning
        return params

    def request_body(
        self, system: str, messages: list[Block], tools: list[Block], model: str, max_tokens: int | None
    ) -> bytes:
        """The JSON bytes sent: ``model`` and ``stream`` first, then the other keys sorted (the SDK's order)."""
        return b"".join(self.request_chunks(system, messages, tools, model, max_tokens))

    def request_chunks(
        self, system: str, messages: list[Block], tools: list[Block], model: str, max_tokens: int | None
    ) -> list[bytes]:
        """:meth:`request_body` in the pieces it is sent in (:func:`~.http.encode_body_chunks`)."""
        params = self.request_params(system, messages, tools, model, max_tokens)
        return encode_body_chunks(params, ("model", "stream"))

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
        final: dict[str, Any] | None = None
        seen: set[int] = set()
        last_summary: tuple[Any, Any] | None = None
        for name, data in self._post_stream("/responses", body):
            event = decode_event(data)
            if event is None:
                continue
            kind = event.get("type") or name
            if kind == "response.output_text.delta":
                delta = event.get("delta")
                if delta:
                    acc.append_text(("out", event.get("output_index")), delta)
                    yield TextDelta(delta)
            elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
                where = (event.get("item_id"), event.get("summary_index"))
                if last_summary is not None and last_summary[0] == where[0] and last_summary != where:
                    yield ReasoningDelta("\n\n")
                last_summary = where
                if event.get("delta"):
                    yield ReasoningDelta(event["delta"])
            elif kind == "response.output_item.done":
                item = event.get("item")
                index = event.get("output_index", -1)
                seen.add(index)
                block = _item_block(item) if isinstance(item, dict) else None
                if block is not None:
                    acc.put(("out", index), block)
            elif kind == "response.created":
                served_model = (event.get("response") or {}).get("model") or served_model
            elif kind in ("response.completed", "response.incomplete"):
                final = event.get("response") or {}
            elif kind == "response.failed":
                error = (event.get("response") or {}).get("error") or {}
                raise from_status(
                    PROVIDER, None, error.get("code") or "", error.get("message") or "response failed"
                )
            elif kind == "error":
                raise from_status(PROVIDER, None, event.get("code") or "", event.get("message") or "error in stream")
        if final is None:
            raise NetworkError(
                f"{PROVIDER}: the stream ended before the response completed", provider=PROVIDER
            )
        for index, item in enumerate(final.get("output") or []):
            if index not in seen and isinstance(item, dict):
                block = _item_block(item)
                if block is not None:
                    acc.put(("out", index), block)
        content = acc.content()
        yield TurnEnd(
            content,
            _usage(final.get("usage")),
            _stop_reason(final, content),
            final.get("model") or served_model,
        )


def _stop_reason(response: dict[str, Any], content: list[Block]) -> str:
    if response.get("status") == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason") or "incomplete"
        return "max_tokens" if reason == "max_output_tokens" else reason
    if any(b.get("type") == "tool_use" for b in content):
        return "tool_use"
    return "end_turn"


def _usage(raw: Any) -> dict[str, Any]:
    """Responses ``usage`` -> normalized usage (``input_tokens`` includes ``input_tokens_details.cached_tokens``)."""
    if not isinstance(raw, dict):
        return make_usage()
    details = raw.get("input_tokens_details") or {}
    return make_usage(
        raw.get("input_tokens"),
        raw.get("output_tokens"),
        details.get("cached_tokens"),
        details.get("cache_write_tokens"),
        raw,
    )
