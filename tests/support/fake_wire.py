"""Wire renderers for the fake provider server: one scripted :class:`Reply` as each provider's SSE stream.

Formats follow the providers' API references: OpenAI Chat Completions chunks
(``data:`` lines, a final usage chunk when ``stream_options.include_usage`` is
set, ``data: [DONE]``), OpenAI Responses streaming events (``event:`` +
``data:``, ``response.created`` ... ``response.completed`` / ``response.incomplete``)
and Anthropic Messages streaming events (``message_start``, ``content_block_*``,
``message_delta``, ``message_stop``), plus each one's non-streaming body and
error JSON. Used by :mod:`fake_providers`; tests normally need only ``Reply``
and ``ToolCall`` from here.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OVERFLOW", "Render", "Reply", "ToolCall", "error_body"]

_ERROR_KINDS = {  # status -> (openai type, openai code, anthropic type, default message)
    400: ("invalid_request_error", None, "invalid_request_error", "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "authentication_error", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "permission_error", "Forbidden."),
    404: ("invalid_request_error", "model_not_found", "not_found_error", "The model does not exist."),
    429: ("requests", "rate_limit_exceeded", "rate_limit_error", "Rate limit reached for requests."),
    500: ("server_error", None, "api_error", "Internal server error."),
    529: ("server_error", None, "overloaded_error", "Overloaded"),
}
OVERFLOW = {
    "chat": (
        "context_length_exceeded",
        "This model's maximum context length is 128000 tokens. However, your "
        "messages resulted in 131072 tokens. Please reduce the length of the messages.",
    ),
    "responses": (
        "context_length_exceeded",
        "Your input exceeds the context window of this model. Please adjust your input and try again.",
    ),
    "anthropic": ("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
}


@dataclass
class ToolCall:
    """A tool call the model makes: ``arguments`` is a dict (sent as JSON) or a raw string."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass
class Reply:
    """One scripted answer, rendered in whichever wire is called.

    ``text`` may be a list of chunks (else it is split at word boundaries).
    ``reasoning`` is the thinking / summary text; ``reasoning_state`` the opaque
    part (Anthropic ``signature``, Responses ``encrypted_content``; generated
    when None). ``usage`` uses lime's neutral keys (``input_tokens`` including
    cache reads and writes, ``output_tokens``, ``cache_read_tokens``,
    ``cache_write_tokens``). ``stop_reason`` ``max_tokens`` renders as
    ``length`` / ``incomplete``. ``status`` != 200 makes an error reply with
    ``error_message`` / ``error_code`` (or a raw ``error_body``);
    ``stream_error`` sends the text, then an error event mid-stream.
    ``chunk_delay`` sleeps between SSE events (for cancellation tests);
    ``cut_after`` ends the body cleanly after that many events (a dropped stream).
    """

    text: str | list[str] = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    reasoning: str | None = None
    reasoning_state: str | None = None
    redacted_thinking: bool = False
    usage: dict[str, int] | None = None
    stop_reason: str | None = None
    model: str | None = None
    status: int = 200
    error_message: str | None = None
    error_code: str | None = None
    error_body: Any = None
    retry: bool = False
    stream_error: str | None = None
    chunk_delay: float = 0.0
    cut_after: int | None = None


def _chunks(text: str | list[str]) -> list[str]:
    return list(text) if isinstance(text, list) else re.findall(r"\s*\S+\s*|\s+", text)


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"{head}data: {payload}\n\n".encode()


class Render:
    """Builds the SSE events (or the JSON body) of one reply for one wire."""

    def __init__(self, reply: Reply, request: dict[str, Any], ids: Iterator[int]) -> None:
        self.r = reply
        self.req = request
        self.n = next(ids)
        self.model = reply.model or request.get("model") or "fake-model"
        self.text = "".join(_chunks(reply.text))
        self.calls = [
            (
                c.id or f"call_{self.n}_{i}",
                c.name,
                c.arguments if isinstance(c.arguments, str) else json.dumps(c.arguments),
            )
            for i, c in enumerate(reply.tool_calls)
        ]
        self.anthropic_ids = [c.id or f"toolu_{self.n}_{i}" for i, c in enumerate(reply.tool_calls)]
        u = dict(reply.usage or {})
        self.inp = u.get("input_tokens", max(1, len(json.dumps(request)) // 4))
        self.out = u.get("output_tokens", max(1, (len(self.text) + len(reply.reasoning or "")) // 4))
        self.read, self.write = u.get("cache_read_tokens", 0), u.get("cache_write_tokens", 0)
        self.state = reply.reasoning_state or f"state-{self.n}-" + "x" * 16

    # ---- OpenAI Chat Completions ----
    def chat(self) -> Iterator[bytes]:
        usage_on = bool((self.req.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None = None, choices: bool = True) -> bytes:
            body: dict[str, Any] = {
                "id": f"chatcmpl-{self.n}",
                "object": "chat.completion.chunk",
                "created": 1700000000,
                "model": self.model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
                if choices
                else [],
            }
            if usage_on:
                body["usage"] = None
            return _sse(body)

        yield chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in _chunks(self.r.reasoning or ""):
            yield chunk({"reasoning_content": piece})
        for piece in _chunks(self.r.text):
            yield chunk({"content": piece})
        if self.r.stream_error:
            yield _sse(
                {
                    "error": {
                        "message": self.r.stream_error,
                        "type": "server_error",
                        "param": None,
                        "code": None,
                    }
                }
            )
            return
        for i, (cid, name, args) in enumerate(self.calls):
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": i,
                            "id": cid,
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }
                    ]
                }
            )
            for piece in (args[j : j + 7] for j in range(0, len(args), 7)):
                yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
        yield chunk({}, self._finish("stop", "tool_calls", "length"))
        if usage_on:
            final = json.loads(chunk({}, choices=False)[6:])
            final["usage"] = self.chat_usage()
            yield _sse(final)
        yield _sse("[DONE]")

    def _finish(self, end: str, tool: str, length: str) -> str:
        if self.r.stop_reason == "max_tokens":
            return length
        if self.r.stop_reason:
            return self.r.stop_reason
        return tool if self.calls else end

    def chat_usage(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.inp,
            "completion_tokens": self.out,
            "total_tokens": self.inp + self.out,
            "prompt_tokens_details": {"cached_tokens": self.read, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def chat_body(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None, "refusal": None}
        if self.calls:
            message["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
                for cid, name, args in self.calls
            ]
        return {
            "id": f"chatcmpl-{self.n}",
            "object": "chat.completion",
            "created": 1700000000,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self._finish("stop", "tool_calls", "length"),
                }
            ],
            "usage": self.chat_usage(),
        }

    # ---- OpenAI Responses ----
    def responses_output(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if self.r.reasoning is not None:
            items.append(
                {
                    "id": f"rs_{self.n}",
                    "type": "reasoning",
                    "encrypted_content": self.state,
                    "summary": [{"type": "summary_text", "text": self.r.reasoning}]
                    if self.r.reasoning
                    else [],
                }
            )
        if self.text:
            items.append(
                {
                    "id": f"msg_{self.n}",
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [
                        {"type": "output_text", "annotations": [], "logprobs": [], "text": self.text}
                    ],
                }
            )
        for i, (cid, name, args) in enumerate(self.calls):
            items.append(
                {
                    "id": f"fc_{self.n}_{i}",
                    "type": "function_call",
                    "status": "completed",
                    "arguments": args,
                    "call_id": cid,
                    "name": name,
                }
            )
        return items

    def response_body(
        self, status: str = "completed", output: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        incomplete = status == "completed" and self.r.stop_reason == "max_tokens"
        done = status == "completed"
        return {
            "id": f"resp_{self.n}",
            "object": "response",
            "created_at": 1700000000,
            "status": "incomplete" if incomplete else status,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "instructions": self.req.get("instructions"),
            "max_output_tokens": self.req.get("max_output_tokens"),
            "model": self.model,
            "output": output if output is not None else (self.responses_output() if done else []),
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": self.req.get("reasoning") or {},
            "store": self.req.get("store", True),
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": self.req.get("tools") or [],
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": {
                "input_tokens": self.inp,
                "input_tokens_details": {"cached_tokens": self.read},
                "output_tokens": self.out,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.inp + self.out,
            }
            if done
            else None,
            "metadata": {},
        }

    def responses(self) -> Iterator[bytes]:
        seq = itertools.count()

        def ev(kind: str, **fields: Any) -> bytes:
            return _sse({"type": kind, "sequence_number": next(seq), **fields}, kind)

        yield ev("response.created", response=self.response_body("in_progress"))
        yield ev("response.in_progress", response=self.response_body("in_progress"))
        for index, item in enumerate(self.responses_output()):
            iid, kind = item["id"], item["type"]
            if kind == "reasoning":
                yield ev("response.output_item.added", output_index=index, item={**item, "summary": []})
                for si, part in enumerate(item["summary"]):
                    yield ev(
                        "response.reasoning_summary_part.added",
                        item_id=iid,
                        output_index=index,
                        summary_index=si,
                        part={"type": "summary_text", "text": ""},
                    )
                    for piece in _chunks(part["text"]):
                        yield ev(
                            "response.reasoning_summary_text.delta",
                            item_id=iid,
                            output_index=index,
                            summary_index=si,
                            delta=piece,
                        )
                    yield ev(
                        "response.reasoning_summary_text.done",
                        item_id=iid,
                        output_index=index,
                        summary_index=si,
                        text=part["text"],
                    )
                    yield ev(
                        "response.reasoning_summary_part.done",
                        item_id=iid,
                        output_index=index,
                        summary_index=si,
                        part=part,
                    )
            elif kind == "message":
                yield ev(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "status": "in_progress", "content": []},
                )
                part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
                yield ev(
                    "response.content_part.added", item_id=iid, output_index=index, content_index=0, part=part
                )
                for piece in _chunks(self.r.text):
                    yield ev(
                        "response.output_text.delta",
                        item_id=iid,
                        output_index=index,
                        content_index=0,
                        delta=piece,
                        logprobs=[],
                    )
                if self.r.stream_error:
                    yield ev("error", code="server_error", message=self.r.stream_error, param=None)
                    return
                yield ev(
                    "response.output_text.done",
                    item_id=iid,
                    output_index=index,
                    content_index=0,
                    text=self.text,
                    logprobs=[],
                )
                yield ev(
                    "response.content_part.done",
                    item_id=iid,
                    output_index=index,
                    content_index=0,
                    part=item["content"][0],
                )
            else:
                yield ev(
                    "response.output_item.added",
                    output_index=index,
                    item={**item, "status": "in_progress", "arguments": ""},
                )
                args = item["arguments"]
                for piece in (args[j : j + 7] for j in range(0, len(args), 7)):
                    yield ev(
                        "response.function_call_arguments.delta", item_id=iid, output_index=index, delta=piece
                    )
                yield ev(
                    "response.function_call_arguments.done", item_id=iid, output_index=index, arguments=args
                )
            yield ev("response.output_item.done", output_index=index, item=item)
        body = self.response_body()
        kind = "response.incomplete" if body["status"] == "incomplete" else "response.completed"
        yield ev(kind, response=body)

    # ---- Anthropic Messages ----
    def anthropic_content(self) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        if self.r.redacted_thinking:
            blocks.append({"type": "redacted_thinking", "data": self.state})
        elif self.r.reasoning is not None:
            blocks.append({"type": "thinking", "thinking": self.r.reasoning, "signature": self.state})
        if self.text:
            blocks.append({"type": "text", "text": self.text})
        for cid, (_, name, args) in zip(self.anthropic_ids, self.calls, strict=True):
            blocks.append({"type": "tool_use", "id": cid, "name": name, "input": json.loads(args or "{}")})
        return blocks

    def anthropic_usage(self, start: bool) -> dict[str, Any]:
        return {
            "input_tokens": max(0, self.inp - self.read - self.write),
            "cache_creation_input_tokens": self.write,
            "cache_read_input_tokens": self.read,
            "output_tokens": 1 if start else self.out,
        }

    def anthropic_message(self, content: list[dict[str, Any]], start: bool) -> dict[str, Any]:
        return {
            "id": f"msg_{self.n}",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": None if start else self._finish("end_turn", "tool_use", "max_tokens"),
            "stop_sequence": None,
            "usage": self.anthropic_usage(start),
        }

    def anthropic(self) -> Iterator[bytes]:
        yield _sse({"type": "message_start", "message": self.anthropic_message([], True)}, "message_start")
        yield _sse({"type": "ping"}, "ping")
        for index, block in enumerate(self.anthropic_content()):
            kind = block["type"]
            empty = {
                "text": {"type": "text", "text": ""},
                "thinking": {"type": "thinking", "thinking": "", "signature": ""},
                "tool_use": {**block, "input": {}},
                "redacted_thinking": block,
            }[kind]
            yield _sse(
                {"type": "content_block_start", "index": index, "content_block": empty}, "content_block_start"
            )
            deltas: list[dict[str, Any]] = []
            if kind == "text":
                deltas = [{"type": "text_delta", "text": p} for p in _chunks(self.r.text)]
            elif kind == "thinking":
                deltas = [{"type": "thinking_delta", "thinking": p} for p in _chunks(block["thinking"])]
                deltas.append({"type": "signature_delta", "signature": block["signature"]})
            elif kind == "tool_use":
                args = json.dumps(block["input"])
                deltas = [
                    {"type": "input_json_delta", "partial_json": args[j : j + 7]}
                    for j in range(0, len(args), 7)
                ]
            for delta in deltas:
                yield _sse(
                    {"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta"
                )
            if kind == "text" and self.r.stream_error:
                yield _sse(
                    {"type": "error", "error": {"type": "overloaded_error", "message": self.r.stream_error}},
                    "error",
                )
                return
            yield _sse({"type": "content_block_stop", "index": index}, "content_block_stop")
        stop = self._finish("end_turn", "tool_use", "max_tokens")
        yield _sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": self.out},
            },
            "message_delta",
        )
        yield _sse({"type": "message_stop"}, "message_stop")


def error_body(wire: str, reply: Reply) -> dict[str, Any]:
    if reply.error_body is not None:
        return reply.error_body
    otype, ocode, atype, default = _ERROR_KINDS.get(reply.status, ("api_error", None, "api_error", "Error."))
    message = reply.error_message or default
    if wire == "anthropic":
        return {
            "type": "error",
            "error": {"type": reply.error_code or atype, "message": message},
            "request_id": "req_fake",
        }
    return {"error": {"message": message, "type": otype, "param": None, "code": reply.error_code or ocode}}
