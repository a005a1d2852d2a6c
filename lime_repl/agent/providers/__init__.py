"""Model providers behind one protocol (DESIGN.md section 4b).

* :mod:`.base` -- the :class:`Provider` protocol and its events (``TextDelta``,
  ``ReasoningDelta``, ``TurnEnd``) and the neutral message format.
* :mod:`.errors` -- typed errors (auth, rate limit, context overflow, network, bad model, no provider).
* :mod:`.catalog` -- the model catalog, :func:`choose_provider` and :func:`make_provider`.
* :mod:`.openai`, :mod:`.openai_responses`, :mod:`.anthropic` -- one module a provider.

Importing this package (or any provider module) never imports an SDK; that
happens in ``Provider.warm_up()`` or on the first turn.
"""

from __future__ import annotations

from lime_repl.agent.providers.base import Event, Provider, ReasoningDelta, TextDelta, TurnEnd, TurnStream
from lime_repl.agent.providers.catalog import (
    ModelInfo,
    choose_provider,
    load_catalog,
    make_provider,
    model_info,
)
from lime_repl.agent.providers.errors import (
    AuthError,
    BadModelError,
    ContextOverflowError,
    NetworkError,
    NoProviderError,
    ProviderError,
    RateLimitError,
)

__all__ = [
    "AuthError",
    "BadModelError",
    "ContextOverflowError",
    "Event",
    "ModelInfo",
    "NetworkError",
    "NoProviderError",
    "Provider",
    "ProviderError",
    "RateLimitError",
    "ReasoningDelta",
    "TextDelta",
    "TurnEnd",
    "TurnStream",
    "choose_provider",
    "load_catalog",
    "make_provider",
    "model_info",
]
