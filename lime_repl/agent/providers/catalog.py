"""The model catalog, the choice of provider and model, and provider construction.

* :func:`load_catalog` reads the packaged ``models.toml`` and merges the user's
  ``[models."name"]`` tables from ``config.toml`` over it, field by field.
* :func:`model_info` looks a model up (exact name, alias, then longest catalog
  prefix, so dated snapshots resolve) and falls back to a conservative default.
* :func:`choose_provider` applies DESIGN.md section 4b: ``--provider`` /
  ``LIME_PROVIDER`` and ``--model`` / ``LIME_MODEL``, else the config file, else
  the first provider whose key is in the environment.
* :func:`make_provider` builds a provider from its name and the environment.

Prices are USD per million tokens; token counts are ints. Only stdlib is
imported here; provider modules (and their SDKs) load when a provider is made.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

from lime_repl.agent.providers.base import Provider
from lime_repl.agent.providers.errors import NoProviderError
from lime_repl.config import Config
from lime_repl.errors import LimeError

__all__ = [
    "DEFAULT_CONTEXT_WINDOW",
    "NO_PROVIDER_MESSAGE",
    "PROVIDERS",
    "RESERVED_TOKENS",
    "ModelInfo",
    "choose_provider",
    "default_model",
    "load_catalog",
    "missing_credentials",
    "model_info_for",
    "make_provider",
    "model_info",
    "normalize_provider_name",
]

PROVIDERS = ("openai", "openai-responses", "anthropic")
DEFAULT_CONTEXT_WINDOW = 128000
DEFAULT_MAX_OUTPUT_TOKENS = 16384
RESERVED_TOKENS = 16384
"""Tokens kept free below the window when no ``auto_compact_threshold`` is given."""

NO_PROVIDER_MESSAGE = (
    "no model provider configured: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server) "
    "or ANTHROPIC_API_KEY, or pass --provider and --model"
)

_ALIASES = {
    "openai-chat": "openai",
    "chat": "openai",
    "responses": "openai-responses",
    "openai-response": "openai-responses",
    "claude": "anthropic",
}
_FAMILY = {"openai": "openai", "openai-responses": "openai", "anthropic": "anthropic"}
_INT_FIELDS = ("context_window", "max_output_tokens", "auto_compact_threshold", "tier_threshold")
_PRICE_FIELDS = (
    "input_price",
    "output_price",
    "cached_price",
    "cache_write_price",
    "tier_input_price",
    "tier_output_price",
    "tier_cached_price",
    "tier_cache_write_price",
)


@dataclass(frozen=True)
class ModelInfo:
    """One catalog entry.

    ``auto_compact_threshold`` defaults to ``context_window - 16384`` (or
    ``context_window * 3 // 4`` when the window is under 64 Ki tokens, so small
    local models still have room); ``cached_price`` and ``cache_write_price``
    default to ``input_price``. When ``tier_threshold`` is set and a request's
    ``input_tokens`` exceed it, the whole request is billed at the ``tier_*``
    prices (each defaulting to its base price). ``known`` is False for the
    default made up for a model the catalog does not list.
    """

    name: str
    provider: str = "openai"
    context_window: int = DEFAULT_CONTEXT_WINDOW
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    auto_compact_threshold: int = 0
    input_price: float = 0.0
    output_price: float = 0.0
    cached_price: float | None = None
    cache_write_price: float | None = None
    tier_threshold: int = 0
    tier_input_price: float | None = None
    tier_output_price: float | None = None
    tier_cached_price: float | None = None
    tier_cache_write_price: float | None = None
    aliases: tuple[str, ...] = field(default_factory=tuple)
    known: bool = True

    def __post_init__(self) -> None:
        if not self.auto_compact_threshold:
            reserve = min(RESERVED_TOKENS, self.context_window // 4)
            object.__setattr__(self, "auto_compact_threshold", self.context_window - reserve)
        if self.cached_price is None:
            object.__setattr__(self, "cached_price", self.input_price)
        if self.cache_write_price is None:
            object.__setattr__(self, "cache_write_price", self.input_price)

    def cost(self, usage: Mapping[str, Any]) -> float:
        """USD for one turn's normalized usage (``input_tokens`` includes cache reads and writes)."""

        def n(key: str) -> int:
            value = usage.get(key, 0)
            return value if isinstance(value, int) else 0

        read, write = n("cache_read_tokens"), n("cache_write_tokens")
        fresh = max(0, n("input_tokens") - read - write)
        prices = [
            self.input_price,
            self.cached_price or 0.0,
            self.cache_write_price or 0.0,
            self.output_price,
        ]
        if self.tier_threshold and n("input_tokens") > self.tier_threshold:
            tier = [
                self.tier_input_price,
                self.tier_cached_price,
                self.tier_cache_write_price,
                self.tier_output_price,
            ]
            prices = [t if t is not None else p for t, p in zip(tier, prices, strict=True)]
        total = fresh * prices[0] + read * prices[1] + write * prices[2] + n("output_tokens") * prices[3]
        return total / 1_000_000


def normalize_provider_name(name: str) -> str:
    """``OpenAI_Responses`` -> ``openai-responses``; known aliases (``claude``, ``responses``) resolved."""
    key = name.strip().lower().replace("_", "-")
    return _ALIASES.get(key, key)


def _coerce(name: str, key: str, value: Any) -> Any:
    if key in _INT_FIELDS:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        raise LimeError(f"config: models.{name}.{key}: expected a whole number of tokens, got {value!r}")
    if key in _PRICE_FIELDS:
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
        raise LimeError(
            f"config: models.{name}.{key}: expected a price in USD per million tokens, got {value!r}"
        )
    if key == "provider":
        if isinstance(value, str) and value.strip():
            return normalize_provider_name(value)
        raise LimeError(f"config: models.{name}.provider: expected a provider name, got {value!r}")
    if key == "aliases":
        if isinstance(value, list) and all(isinstance(a, str) for a in value):
            return tuple(value)
        raise LimeError(f"config: models.{name}.aliases: expected a list of names, got {value!r}")
    return None


_KNOWN = {f.name for f in fields(ModelInfo)} - {"name", "known"}


def _entry(name: str, table: Mapping[str, Any], base: ModelInfo | None) -> ModelInfo:
    values = {k: _coerce(name, k, v) for k, v in table.items() if k in _KNOWN}
    if base is None:
        values.setdefault("provider", _guess_provider(name) or "openai")
        return ModelInfo(name=name, **values)
    if "context_window" in values and "auto_compact_threshold" not in values:
        values["auto_compact_threshold"] = 0  # recompute from the new window
    if "input_price" in values:
        values.setdefault(
            "cached_price", base.cached_price if base.cached_price != base.input_price else None
        )
        values.setdefault(
            "cache_write_price",
            base.cache_write_price if base.cache_write_price != base.input_price else None,
        )
    return replace(base, **values)


@lru_cache(maxsize=1)
def _packaged() -> tuple[dict[str, ModelInfo], dict[str, str]]:
    from importlib import resources

    data = tomllib.loads(resources.files(__package__).joinpath("models.toml").read_text(encoding="utf-8"))
    models = {name: _entry(name, table, None) for name, table in data.get("models", {}).items()}
    defaults = {normalize_provider_name(k): str(v) for k, v in data.get("defaults", {}).items()}
    return models, defaults


def load_catalog(user_models: Mapping[str, Any] | None = None) -> dict[str, ModelInfo]:
    """Packaged models with the user's ``[models."name"]`` tables merged over them.

    ``user_models`` maps model names to tables of the fields in ``models.toml``
    (unknown fields are ignored). Raises :class:`~lime_repl.errors.LimeError`
    with a one-line message when a field has the wrong type.
    """
    catalog = dict(_packaged()[0])
    for name, table in (user_models or {}).items():
        if not isinstance(table, Mapping):
            raise LimeError(f"config: models.{name}: expected a table of model settings")
        catalog[name] = _entry(name, table, catalog.get(name))
    return catalog


def _guess_provider(model: str) -> str | None:
    name = model.lower()
    if name.startswith("claude"):
        return "anthropic"
    if name.startswith(("gpt-5", "o1", "o3", "o4", "codex")):
        return "openai-responses"
    if name.startswith(("gpt-", "chatgpt")):
        return "openai"
    return None


def _find(model: str, catalog: Mapping[str, ModelInfo]) -> ModelInfo | None:
    if model in catalog:
        return catalog[model]
    for info in catalog.values():
        if model in info.aliases:
            return info
    best = max((k for k in catalog if model.startswith(k + "-")), key=len, default=None)
    return catalog[best] if best is not None else None


def model_info(model: str, catalog: Mapping[str, ModelInfo] | None = None) -> ModelInfo:
    """The catalog entry for ``model``, or a conservative default (128,000-token window, no prices, ``known=False``)."""
    found = _find(model, catalog if catalog is not None else load_catalog())
    if found is not None:
        return found
    return ModelInfo(name=model, provider=_guess_provider(model) or "openai", known=False)


def model_info_for(config: Config | Mapping[str, Any], model: str) -> ModelInfo:
    """The one accessor of model facts: ``model`` looked up in the packaged catalog merged with ``config``'s
    ``[models."name"]`` tables (config.toml, DESIGN.md section 5).

    ``config`` is the loaded :class:`~lime_repl.config.Config` (or a plain mapping); a ``models`` key that is not a table is ignored.
    Returns a conservative default for an unknown model (see :func:`model_info`). Raises
    :class:`~lime_repl.errors.LimeError` when a user table has a field of the wrong type.
    """
    models = config.get("models")
    return model_info(model, load_catalog(models if isinstance(models, Mapping) else None))


def default_model(provider: str) -> str:
    """The model used when a provider is chosen without one (``[defaults]`` in ``models.toml``)."""
    return _packaged()[1].get(normalize_provider_name(provider), "")


def _set(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _from_env(env: Mapping[str, str]) -> str | None:
    if _set(env.get("OPENAI_API_KEY")):
        return "openai"
    if _set(env.get("ANTHROPIC_API_KEY")) or _set(env.get("ANTHROPIC_AUTH_TOKEN")):
        return "anthropic"
    if _set(env.get("OPENAI_BASE_URL")):
        return "openai"
    return None


def choose_provider(
    flag_provider: str | None,
    flag_model: str | None,
    env: Mapping[str, str],
    config: Mapping[str, Any] | None = None,
    catalog: Mapping[str, ModelInfo] | None = None,
) -> tuple[str, str] | None:
    """Pick ``(provider_name, model)``, or None when nothing is configured.

    Levels, highest first: the flags, then ``LIME_PROVIDER`` / ``LIME_MODEL`` in
    ``env``, then ``config["provider"]`` / ``config["model"]``. The provider is
    the highest one given; but when a model is given at a higher level than the
    provider and the catalog assigns it to another provider family (an OpenAI
    model with ``provider = "anthropic"`` in config), the catalog's provider
    wins. A model alone selects its catalog provider. Otherwise the environment
    decides: ``OPENAI_API_KEY`` -> openai, ``ANTHROPIC_API_KEY`` (or
    ``ANTHROPIC_AUTH_TOKEN``) -> anthropic, ``OPENAI_BASE_URL`` alone -> openai.
    A missing model is the provider's default from the catalog.
    """
    config = config or {}
    providers = [_set(flag_provider), _set(env.get("LIME_PROVIDER")), _set(config.get("provider"))]
    models = [_set(flag_model), _set(env.get("LIME_MODEL")), _set(config.get("model"))]
    p_level = next((i for i, p in enumerate(providers) if p), None)
    m_level = next((i for i, m in enumerate(models) if m), None)
    given = providers[p_level] if p_level is not None else None
    provider = normalize_provider_name(given) if given else None
    model = models[m_level] if m_level is not None else None
    if model is not None and (p_level is None or (m_level is not None and m_level < p_level)):
        info = _find(model, catalog if catalog is not None else load_catalog())
        suggested = info.provider if info is not None else _guess_provider(model)
        if suggested and (provider is None or _FAMILY.get(suggested) != _FAMILY.get(provider)):
            if provider is not None or info is not None or _from_env(env) is None:
                provider = suggested
    if provider is None:
        provider = _from_env(env)
    if provider is None:
        return None
    return provider, model or default_model(provider)


def missing_credentials(
    provider: str, env: Mapping[str, str], options: Mapping[str, Any] | None = None
) -> str | None:
    """What provider ``provider`` lacks to authenticate, as the variables to set, or None when it has it.

    The rules of :func:`make_provider`: the OpenAI providers need ``OPENAI_API_KEY``, or a base URL
    (``OPENAI_BASE_URL``; a local server may want no key); Anthropic needs ``ANTHROPIC_API_KEY`` or
    ``ANTHROPIC_AUTH_TOKEN``. An ``api_key`` (or ``base_url``) in ``options`` (``[providers.NAME]``
    of config.toml) counts too. An unknown provider name is left to :func:`make_provider`.
    """
    opts = options or {}
    name = normalize_provider_name(provider)
    if _set(opts.get("api_key")):
        return None
    if name in ("openai", "openai-responses"):
        if _set(env.get("OPENAI_API_KEY")) or _set(env.get("OPENAI_BASE_URL")) or _set(opts.get("base_url")):
            return None
        return "OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)"
    if name == "anthropic":
        if _set(env.get("ANTHROPIC_API_KEY")) or _set(env.get("ANTHROPIC_AUTH_TOKEN")):
            return None
        return "ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)"
    return None


def make_provider(name: str, env: Mapping[str, str], options: Mapping[str, Any] | None = None) -> Provider:
    """Build the provider called ``name`` with credentials and base URL from ``env``.

    ``options`` (e.g. from config) may set ``max_retries``, ``timeout``,
    ``connect_timeout``, ``api_key``, ``base_url``, and per provider
    ``reasoning_effort`` / ``reasoning_summary`` (openai-responses) or
    ``thinking`` / ``effort`` / ``prompt_caching`` (anthropic); other keys are
    ignored. Raises :class:`NoProviderError` for an unknown name. The SDK is
    not imported until ``warm_up()`` or the first turn.
    """
    provider = normalize_provider_name(name or "")
    opts = dict(options or {})
    common = {k: opts[k] for k in ("max_retries", "timeout", "connect_timeout") if k in opts}
    if provider in ("openai", "openai-responses"):
        api_key = opts.get("api_key") or _set(env.get("OPENAI_API_KEY"))
        base_url = opts.get("base_url") or _set(env.get("OPENAI_BASE_URL"))
        if provider == "openai":
            from lime_repl.agent.providers.openai import OpenAIChatProvider

            return OpenAIChatProvider(api_key, base_url, **common)
        from lime_repl.agent.providers.openai_responses import OpenAIResponsesProvider

        reasoning: dict[str, Any] = {
            k: opts[k] for k in ("reasoning_effort", "reasoning_summary") if k in opts
        }
        return OpenAIResponsesProvider(api_key, base_url, **common, **reasoning)
    if provider == "anthropic":
        from lime_repl.agent.providers.anthropic import AnthropicProvider

        extra: dict[str, Any] = {k: opts[k] for k in ("thinking", "effort", "prompt_caching") if k in opts}
        return AnthropicProvider(
            opts.get("api_key") or _set(env.get("ANTHROPIC_API_KEY")),
            opts.get("base_url") or _set(env.get("ANTHROPIC_BASE_URL")),
            auth_token=_set(env.get("ANTHROPIC_AUTH_TOKEN")),
            **common,
            **extra,
        )
    if not provider:
        raise NoProviderError(NO_PROVIDER_MESSAGE)
    raise NoProviderError(
        f"unknown provider '{name}': choose one of {', '.join(PROVIDERS)}", provider=provider
    )
