"""The provider protocol, its events, the turn stream and the base class every provider builds on.

A provider streams one assistant turn (DESIGN.md section 4b)::

    for event in provider.stream(system, messages, tools, model, max_tokens):
        TextDelta(text)            # visible text, as it arrives
        ReasoningDelta(text)       # thinking / reasoning summary text, as it arrives (optional)
        TurnEnd(content, usage, stop_reason, model)   # always last

The blocks, messages and usage of that exchange are the neutral message
format of :mod:`.blocks` (what the transcript builder produces and the log
stores as ``content`` blocks; DESIGN.md section 3).

``stream()`` returns a :class:`TurnStream`: iterate it for events; if the user
cancels, ``close()`` it and read ``partial()`` for the blocks received so far.
Failures raise :class:`~lime_repl.agent.providers.errors.ProviderError`
subclasses, from the first ``next()`` on (the request is sent lazily).
"""

from __future__ import annotations

import copy
import importlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from lime_repl.agent.providers.blocks import Block
from lime_repl.agent.providers.errors import AuthError, ProviderError, map_sdk_error

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "Accumulator",
    "BaseProvider",
    "Block",
    "Event",
    "Provider",
    "ReasoningDelta",
    "TextDelta",
    "TurnEnd",
    "TurnStream",
]

DEFAULT_TIMEOUT = 600.0
"""Seconds to wait for the next bytes of a streamed reply (reasoning models can pause for minutes)."""
DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for the TCP/TLS connection."""
DEFAULT_MAX_RETRIES = 1
"""Retries on 408/409/429/5xx and connection errors (:mod:`.http`); kept small so errors surface fast."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of visible assistant text."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of reasoning / thinking text (Anthropic thinking, OpenAI reasoning summaries)."""

    text: str


@dataclass(frozen=True, slots=True)
class TurnEnd:
    """The finished turn: every assistant block as received, usage, normalized stop reason, model.

    ``stop_reason`` is ``end_turn``, ``tool_use`` or ``max_tokens``; any other
    provider string (``content_filter``, ``refusal``, ``pause_turn``, ...) passes through.
    """

    content: list[Block]
    usage: dict[str, Any]
    stop_reason: str
    model: str


Event = TextDelta | ReasoningDelta | TurnEnd


@runtime_checkable
class Provider(Protocol):
    """What the agent loop needs from a model provider."""

    name: str

    def stream(
        self,
        system: str,
        messages: list[Block],
        tools: list[Block],
        model: str,
        max_tokens: int | None = None,
    ) -> Iterator[Event]:
        """Send one request and yield its events; the last event is a :class:`TurnEnd`."""
        ...

    def warm_up(self) -> None:
        """Import the HTTP client and build it now, so the first turn does not wait for it.

        Safe on a background thread; never raises for missing credentials (the first turn does).
        """
        ...


@dataclass
class Accumulator:
    """The assistant blocks of a turn, in arrival order, keyed by a provider-specific slot."""

    blocks: list[Block] = field(default_factory=list)
    _slots: dict[Any, int] = field(default_factory=dict)

    def append_text(self, key: Any, text: str) -> None:
        """Grow the text block at ``key`` (created on first use)."""
        index = self._slots.get(key)
        if index is None:
            self._slots[key] = len(self.blocks)
            self.blocks.append({"type": "text", "text": text})
        else:
            self.blocks[index]["text"] += text

    def put(self, key: Any, block: Block) -> None:
        """Set the block at ``key``, replacing what was there (kept in place) or appending."""
        index = self._slots.get(key)
        if index is None:
            self._slots[key] = len(self.blocks)
            self.blocks.append(block)
        else:
            self.blocks[index] = block

    def content(self) -> list[Block]:
        """The finished content: empty text blocks dropped."""
        return [b for b in self.blocks if not (b.get("type") == "text" and not b.get("text"))]

    def snapshot(self) -> list[Block]:
        """A deep copy of :meth:`content`, safe to keep after the stream goes on."""
        return copy.deepcopy(self.content())


class TurnStream(Iterator[Event]):
    """The iterator ``stream()`` returns: events, plus ``partial()`` and ``close()`` for cancellation.

    Also a context manager that closes the stream on exit.
    """

    def __init__(self, events: Iterator[Event], acc: Accumulator) -> None:
        self._events = events
        self._acc = acc

    def __iter__(self) -> TurnStream:
        return self

    def __next__(self) -> Event:
        return next(self._events)

    def __enter__(self) -> TurnStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the stream and release the HTTP connection (safe to call twice)."""
        close = getattr(self._events, "close", None)
        if close is not None:
            close()

    def partial(self) -> list[Block]:
        """The assistant blocks received so far (text so far, finished tool calls and reasoning)."""
        return self._acc.snapshot()


class BaseProvider:
    """Shared plumbing: lazy HTTP client (thread-safe, built once), error mapping, TurnStream.

    Subclasses set ``name``, ``key_env`` and ``default_base_url`` and implement
    ``_events(acc, system, messages, tools, model, max_tokens)``, sending with
    :meth:`_post_stream`. ``sdk`` names the module imported on warm-up (the
    HTTP client, ``httpx2``).
    """

    name = ""
    sdk = "httpx2"
    key_env = ""
    default_base_url = ""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        self.base_url = (base_url or "").strip() or self.default_base_url
        custom = self.base_url.rstrip("/") != self.default_base_url.rstrip("/")
        # OpenAI-compatible local servers and proxies often need no key; the SDKs insist on one.
        self.api_key = api_key or ("no-key" if custom else None)
        self.max_retries = max_retries
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._client: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Import the HTTP client (``httpx2``) and construct it (idempotent, thread-safe).

        Without credentials only the module is imported: the missing key is reported
        by the first turn, not by a background warm-up. Raises
        :class:`ProviderError` only when ``httpx2`` is not installed.
        """
        if self.has_credentials():
            self._get_client()
        else:
            self._import_sdk()

    def _import_sdk(self) -> Any:
        try:
            return importlib.import_module(self.sdk)
        except ImportError as exc:
            raise ProviderError(
                f"{self.name}: the '{self.sdk}' package is not installed: pip install {self.sdk}",
                provider=self.name,
                detail=str(exc),
            ) from exc

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                if not self.has_credentials():
                    raise AuthError(
                        f"{self.name}: no API key: set {self.key_env}", provider=self.name, status=None
                    )
                self._import_sdk()
                self._client = self._make_client()
            return self._client

    def has_credentials(self) -> bool:
        """True when a key is set (a placeholder counts: custom base URLs need none)."""
        return bool(self.api_key)

    def _make_client(self) -> Any:
        from lime_repl.agent.providers.http import make_client

        return make_client(self.timeout, self.connect_timeout, self.base_url)

    def _auth_headers(self) -> dict[str, str]:
        """The headers that authenticate a request (``Authorization: Bearer KEY`` unless overridden)."""
        return {"Authorization": f"Bearer {self.api_key}"}

    def _post_stream(
        self, path: str, body: bytes | list[bytes], headers: dict[str, str] | None = None
    ) -> Iterator[tuple[str, str]]:
        """POST ``body`` (JSON bytes, or their pieces) to ``base_url + path``; yield ``(event, data)`` per
        server-sent event."""
        from lime_repl.agent.providers.http import stream_events

        client = self._get_client()
        return stream_events(
            client,
            self.base_url.rstrip("/") + path,
            body,
            {**self._auth_headers(), **(headers or {})},
            provider=self.name,
            key_env=self.key_env,
            max_retries=self.max_retries,
        )

    def _events(
        self,
        acc: Accumulator,
        system: str,
        messages: list[Block],
        tools: list[Block],
        model: str,
        max_tokens: int | None,
    ) -> Iterator[Event]:  # pragma: no cover - abstract
        raise NotImplementedError

    def error(self, exc: BaseException) -> ProviderError:
        """Map an SDK exception to the typed error for this provider."""
        return map_sdk_error(exc, self.name, self.key_env, self.base_url)

    def stream(
        self,
        system: str,
        messages: list[Block],
        tools: list[Block],
        model: str,
        max_tokens: int | None = None,
    ) -> TurnStream:
        """Stream one turn; see the module docstring for the events and errors."""
        acc = Accumulator()
        return TurnStream(self._guarded(acc, system, messages, tools, model, max_tokens), acc)

    def _guarded(self, acc: Accumulator, *args: Any) -> Iterator[Event]:
        try:
            yield from self._events(acc, *args)
        except ProviderError:
            raise
        except Exception as exc:
            if not _is_sdk_error(exc):
                raise
            raise self.error(exc) from exc


def _is_sdk_error(exc: BaseException) -> bool:
    """Errors of the SDKs and their HTTP stacks (mapped to ProviderError); anything else is a bug and propagates."""
    if isinstance(exc, OSError):
        return True
    root = type(exc).__module__.split(".", 1)[0]
    return root in ("openai", "anthropic", "httpx", "httpx2", "httpcore", "httpcore2", "h11", "anyio")
