"""The model side of a runtime: building the agent from the configuration, and the model's catalog entry.

The provider is chosen by :func:`~lime_repl.agent.providers.catalog.choose_provider`
from the command line, the environment and ``config.toml`` (DESIGN.md section 4b);
the provider SDK itself is only imported at the first turn (or by the REPL's
warm-up, :mod:`lime_repl.repl.warmup`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import LimeError, UsageError

if TYPE_CHECKING:  # the agent and the model catalog load only when a provider is configured or asked about
    from ..agent.loop import Agent
    from ..agent.providers.base import Provider
    from ..agent.providers.catalog import ModelInfo
    from ..workspace import Workspace

__all__ = ["NO_PROVIDER_HINT", "catalog_info", "check_credentials", "make_agent", "provider_options"]

NO_PROVIDER_HINT = (
    "no model provider is configured: set OPENAI_API_KEY, ANTHROPIC_API_KEY or OPENAI_BASE_URL "
    "(or --provider/--model); '!command' lines work without one"
)


def make_agent(workspace: Workspace, provider: str | None, model: str | None, yolo: bool) -> Agent | None:
    """The agent for the configured provider and model, or None when none is configured (a recorded shell)."""
    config = workspace.config
    if not _configured(provider, model, workspace.env, config.data):
        return None
    from ..agent.providers.catalog import choose_provider, make_provider

    chosen = choose_provider(provider, model, workspace.env, config.data)
    if chosen is None:
        return None
    from ..agent.loop import Agent

    def factory(name: str) -> Provider:
        return make_provider(name, workspace.env, provider_options(workspace, name))

    agent = Agent(chosen[0], chosen[1], factory, cwd=workspace.cwd, env=dict(workspace.env), yolo=yolo)
    agent.redact = config.get("redact", True) is not False
    return agent


def provider_options(workspace: Workspace, name: str) -> dict[str, Any]:
    """The ``[providers.NAME]`` table of config.toml (empty when absent or not a table)."""
    options = workspace.config.get(f"providers.{name}", {})
    return dict(options) if isinstance(options, dict) else {}


def check_credentials(workspace: Workspace, provider: str, model: str, current: Agent | None) -> None:
    """Refuse a switch to ``provider``/``model`` that could not authenticate (checked at ``/model``, not at
    the next turn). Raises :class:`UsageError` for an unknown provider, :class:`LimeError` for a missing key;
    the message names the model that stays (``current``'s)."""
    from ..agent.providers.catalog import PROVIDERS, missing_credentials

    stays = f"; the model stays {current.model} ({current.provider_name})" if current is not None else ""
    if provider not in PROVIDERS:
        raise UsageError(f"unknown provider {provider!r}: choose one of {', '.join(PROVIDERS)}{stays}")
    missing = missing_credentials(provider, workspace.env, provider_options(workspace, provider))
    if missing is not None:
        raise LimeError(f"{model} needs the {provider} provider, which has no key: set {missing}{stays}")


#: Every setting :func:`~lime_repl.agent.providers.catalog.choose_provider` reads: with none of them set
#: it chooses nothing, so a recorded shell (``!`` lines only) never loads the model catalog.
_PROVIDER_ENV = (
    "LIME_PROVIDER",
    "LIME_MODEL",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "OPENAI_BASE_URL",
)


def _configured(
    provider: str | None, model: str | None, env: Mapping[str, str], config: Mapping[str, Any]
) -> bool:
    """False when no flag, variable of :data:`_PROVIDER_ENV` or ``provider``/``model`` setting is given."""
    values = [
        provider,
        model,
        *(env.get(name) for name in _PROVIDER_ENV),
        config.get("provider"),
        config.get("model"),
    ]
    return any(isinstance(value, str) and value.strip() for value in values)


def catalog_info(workspace: Workspace, model: str) -> ModelInfo:
    """The catalog entry of ``model``, the user's ``[models]`` entries of config.toml included."""
    from ..agent.providers.catalog import model_info_for

    return model_info_for(workspace.config, model)
