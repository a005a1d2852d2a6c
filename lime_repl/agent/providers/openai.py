"""The ``openai`` provider: the Chat Completions wire protocol, spoken over HTTP (:mod:`.http`).

Covers OpenAI itself and every OpenAI-compatible server (llama.cpp server,
Ollama, vLLM, LM Studio). Configured by ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``;
with a custom base URL and no key a placeholder key is sent, since local
servers usually ignore it and some proxies insist on one.

Wire rules (OpenAI API reference, "Create chat completion" and "The chat
completion chunk object"):

* request: ``messages`` with roles ``system`` / ``user`` / ``assistant`` / ``tool``;
  ``stream=true`` and ``stream_options={"include_usage": true}``, so the last
  chunk has empty ``choices`` and the ``usage`` object; ``tools`` as
  ``{"type": "function", "function": {"name", "description", "parameters"}}``.
* assistant tool calls are ``tool_calls: [{"id", "type": "function",
  "function": {"name", "arguments": JSON string}}]``; each result is a separate
  ``{"role": "tool", "tool_call_id", "content"}`` message right after them.
* streamed tool calls arrive as ``delta.tool_calls[i]`` fragments keyed by
  ``index``: ``id`` and ``function.name`` in the first, ``function.arguments``
  split across the rest; they are joined here and parsed once complete.
* ``finish_reason``: ``stop`` -> ``end_turn``, ``tool_calls`` -> ``tool_use``,
  ``length`` -> ``max_tokens``; others pass through.
* ``delta.reasoning_content`` (or ``delta.reasoning``), sent by some compatible
  servers, streams as :class:`ReasoningDelta` and is kept as a ``reasoning``
  block with ``provider="openai"``; Chat Completions has no field to send it
  back, so it is not echoed.

The body is serialized once, as the official SDK would send it (same bytes);
the HTTP client is imported on first use (``warm_up`` or the first turn),
never at module import. Headers: ``Authorization: Bearer KEY``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lime_repl.agent.providers.base import (
    Accumulator,
    BaseProvider,
    Event,
    ReasoningDelta,
    TextDelta,
    TurnEnd,
)
from lime_repl.agent.providers.blocks import (
    Block,
    OwnedMessages,
    make_usage,
    render_local_shell,
    tool_input_json,
    tool_result_text,
    tool_use_block,
)
from lime_repl.agent.providers.http import decode_event, encode_body_chunks, raise_stream_error

__all__ = ["OpenAIChatProvider", "build_messages", "build_tools", "iter_messages"]

_FINISH = {"stop": "end_turn", "tool_calls": "tool_use", "function_call": "tool_use", "length": "max_tokens"}


def build_tools(tools: list[Block]) -> list[dict[str, Any]]:
    """Neutral tool schemas -> Chat Completions ``tools``."""
    return [
        {
            "type": "function",
            "function": {
                "name": t["name"],
                "description": t.get("description", ""),
                "parameters": t.get("input_schema") or {"type": "object", "properties": {}},
            },
        }
        for t in tools
    ]


def _user_messages(blocks: list[Block]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    texts: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "tool_result":
            out.append(
                {"role": "tool", "tool_call_id": block["tool_use_id"], "content": tool_result_text(block)}
            )
        elif kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "local_shell":
            texts.append(render_local_shell(block))
    if texts:
        out.append({"role": "user", "content": "\n\n".join(texts)})
    return out


def _assistant_message(blocks: list[Block]) -> dict[str, Any] | None:
    texts = [b.get("text", "") for b in blocks if b.get("type") == "text"]
    calls = [
        {
            "id": b["id"],
            "type": "function",
            "function": {
                "name": b["name"],
                "arguments": b.get("raw_arguments") or tool_input_json(b.get("input")),
            },
        }
        for b in blocks
        if b.get("type") == "tool_use"
    ]
    text = "".join(texts)
    if not text and not calls:
        return None
    message: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else "")}
    if calls:
        message["tool_calls"] = calls
    return message


def iter_messages(system: str, messages: list[Block]) -> Iterator[dict[str, Any]]:
    """:func:`build_messages` one wire message at a time; an :class:`~.blocks.OwnedMessages` list is
    emptied as it is read (each neutral message dropped once converted)."""
    if system:
        yield {"role": "system", "content": system}
    owned = isinstance(messages, OwnedMessages)
    for index in range(len(messages)):
        message = messages[index]
        if owned:
            messages[index] = _DONE
        blocks = message.get("content") or []
        if isinstance(blocks, str):
            blocks = [{"type": "text", "text": blocks}]
        if message.get("role") == "assistant":
            converted = _assistant_message(blocks)
            if converted is not None:
                yield converted
        else:
            yield from _user_messages(blocks)
        del message, blocks
    if owned:
        messages.clear()


#: What an owned message list holds in the place of a message already converted.
_DONE: Block = {}


def build_messages(system: str, messages: list[Block]) -> list[dict[str, Any]]:
    """Neutral messages -> Chat Completions ``messages`` (system first; tool results as ``tool`` messages)."""
    return list(iter_messages(system, messages))



class OpenAIChatProvider(BaseProvider):
    """Chat Completions over HTTP (:mod:`.http`); see the module docstring for the wire rules."""

    name = "openai"
    key_env = "OPENAI_API_KEY"
    default_base_url = "https://api.openai.com/v1"

    def request_params(
        self, system: str, messages: list[Block], tools: list[Block], model: str, max_tokens: int | None
    ) -> dict[str, Any]:
        """The request body as a dict (the parameters of "Create chat completion")."""
        params: dict[str, Any] = {
            "model": model,
            "messages": build_messages(system, messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            params["tools"] = build_tools(tools)
        if max_tokens:
            # OpenAI deprecated max_tokens (reasoning models reject it); compatible servers still expect it.
            official = "api.openai.com" in self.base_url
            params["max_completion_tokens" if official else "max_tokens"] = max_tokens
        return params

    def request_body(
        self, system: str, messages: list[Block], tools: list[Block], model: str, max_tokens: int | None
    ) -> bytes:
        """The JSON bytes sent: ``model``, ``stream``, ``messages``, then the other keys sorted (the SDK's order)."""
        return b"".join(self.request_chunks(system, messages, tools, model, max_tokens))

    def request_chunks(
        self, system: str, messages: list[Block], tools: list[Block], model: str, max_tokens: int | None
    ) -> list[bytes]:
        """:meth:`request_body` in the pieces it is sent in (:func:`~.http.encode_body_chunks`); the wire
        messages are built as they are encoded, and an :class:`~.blocks.OwnedMessages` list is emptied."""
        params = self.request_params(system, [], tools, model, max_tokens)
        params["messages"] = iter_messages(system, messages)
        return encode_body_chunks(params, ("model", "stream", "messages"))

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
        calls: dict[int, dict[str, str]] = {}
        reasoning: list[str] = []
        finish = ""
        usage: Any = None
        served_model = model
        for _name, data in self._post_stream("/chat/completions", body):
            chunk = decode_event(data)
            if chunk is None:
                if data.startswith("[DONE]"):
                    break
                continue
            if chunk.get("error") is not None:
                raise_stream_error(self.name, chunk)
            served_model = chunk.get("model") or served_model
            if chunk.get("usage") is not None:
                usage = chunk["usage"]
            for choice in chunk.get("choices") or []:
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
                delta = choice.get("delta")
                if not isinstance(delta, dict):
                    continue
                thought = delta.get("reasoning_content") or delta.get("reasoning")
                if isinstance(thought, str) and thought:
                    reasoning.append(thought)
                    acc.put("reasoning", _reasoning_block("".join(reasoning)))
                    yield ReasoningDelta(thought)
                text = delta.get("content")
                if isinstance(text, str) and text:
                    acc.append_text("text", text)
                    yield TextDelta(text)
                for call in delta.get("tool_calls") or []:
                    index = call.get("index")
                    index = index if isinstance(index, int) else len(calls)
                    slot = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
                    if call.get("id") and not slot["id"]:
                        slot["id"] = call["id"]
                    fn = call.get("function")
                    if isinstance(fn, dict):
                        if fn.get("name") and not slot["name"]:
                            slot["name"] = fn["name"]
                        if fn.get("arguments"):
                            slot["arguments"] += fn["arguments"]
        for index in sorted(calls):
            slot = calls[index]
            acc.put(
                ("call", index),
                tool_use_block(slot["id"] or f"call_{index}", slot["name"], slot["arguments"]),
            )
        stop = _FINISH.get(finish, finish or "end_turn")
        if calls and stop == "end_turn":
            stop = "tool_use"
        yield TurnEnd(acc.content(), _usage(usage), stop, served_model)


def _reasoning_block(text: str) -> Block:
    return {"type": "reasoning", "provider": "openai", "summary": text, "data": {"reasoning_content": text}}


def _usage(usage: Any) -> dict[str, Any]:
    """Chat Completions ``usage`` -> normalized usage (``prompt_tokens`` already includes cached tokens)."""
    if not isinstance(usage, dict):
        return make_usage()
    raw = usage
    details = raw.get("prompt_tokens_details") or {}
    return make_usage(
        raw.get("prompt_tokens"),
        raw.get("completion_tokens"),
        details.get("cached_tokens") if isinstance(details, dict) else 0,
        0,
        raw,
    )
