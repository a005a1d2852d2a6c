"""The model catalog, cost, provider choice and construction."""

from __future__ import annotations

import pytest

from lime_repl.agent.providers import ModelInfo, choose_provider, load_catalog, make_provider, model_info
from lime_repl.agent.providers.anthropic import AnthropicProvider
from lime_repl.agent.providers.catalog import PROVIDERS, default_model
from lime_repl.agent.providers.openai import OpenAIChatProvider
from lime_repl.agent.providers.openai_responses import OpenAIResponsesProvider
from lime_repl.errors import LimeError


def test_packaged_catalog_is_complete() -> None:
    catalog = load_catalog()
    assert len(catalog) >= 10
    for name, info in catalog.items():
        assert info.name == name and info.provider in PROVIDERS and info.known
        assert 0 < info.auto_compact_threshold < info.context_window
        assert info.max_output_tokens > 0 and info.input_price > 0 and info.output_price > 0
    for provider in PROVIDERS:
        assert default_model(provider) in catalog
        assert catalog[default_model(provider)].provider in (provider, "openai-responses")
    assert {i.provider for i in catalog.values()} == set(PROVIDERS)


def test_user_entries_override_field_by_field_and_extend() -> None:
    packaged = load_catalog()["gpt-4o-mini"]
    catalog = load_catalog(
        {
            "gpt-4o-mini": {"context_window": 64000, "output_price": 1.0},
            "qwen3-coder": {"context_window": 32768, "max_output_tokens": 8192},
            "my-claude": {
                "provider": "Anthropic",
                "context_window": 200000,
                "auto_compact_threshold": 150000,
            },
        }
    )
    mini = catalog["gpt-4o-mini"]
    assert mini.context_window == 64000 and mini.output_price == 1.0
    assert mini.input_price == packaged.input_price and mini.cached_price == packaged.cached_price
    # The threshold is recomputed for the new window: a quarter below it, as the window is under 64Ki.
    assert mini.auto_compact_threshold == 64000 - 16000
    qwen = catalog["qwen3-coder"]
    assert (qwen.provider, qwen.context_window, qwen.input_price) == ("openai", 32768, 0.0)
    assert qwen.auto_compact_threshold == 32768 - 8192
    mine = catalog["my-claude"]
    assert (mine.provider, mine.auto_compact_threshold) == ("anthropic", 150000)
    assert "gpt-4o-mini" in load_catalog() and load_catalog()["gpt-4o-mini"].context_window == 128000


def test_bad_user_entries_give_one_line_errors() -> None:
    with pytest.raises(LimeError, match=r"models\.x\.context_window"):
        load_catalog({"x": {"context_window": "big"}})
    with pytest.raises(LimeError, match=r"models\.x: expected a table"):
        load_catalog({"x": 3})


def test_default_threshold_and_lookup() -> None:
    assert ModelInfo("m", context_window=200000).auto_compact_threshold == 200000 - 16384
    assert ModelInfo("m", context_window=8192).auto_compact_threshold == 6144
    assert model_info("gpt-4o-mini-2024-07-18").name == "gpt-4o-mini"
    assert model_info("claude-haiku-4-5-20251001").name == "claude-haiku-4-5"
    unknown = model_info("llama-3.3-70b")
    assert not unknown.known and unknown.context_window == 128000 and unknown.provider == "openai"
    assert unknown.auto_compact_threshold == 128000 - 16384 and unknown.cost({"input_tokens": 10**6}) == 0.0


def test_cost() -> None:
    info = ModelInfo("m", input_price=3.0, output_price=15.0, cached_price=0.3, cache_write_price=3.75)
    usage = {
        "input_tokens": 1_000_000,
        "output_tokens": 100_000,
        "cache_read_tokens": 600_000,
        "cache_write_tokens": 100_000,
    }
    # 300k fresh * 3 + 600k read * 0.3 + 100k write * 3.75 + 100k out * 15, per million
    assert info.cost(usage) == pytest.approx(0.9 + 0.18 + 0.375 + 1.5)
    assert ModelInfo("m", input_price=2.0).cost({"input_tokens": 500_000}) == pytest.approx(1.0)
    tiered = ModelInfo("t", input_price=1.0, output_price=2.0, tier_threshold=1000, tier_input_price=10.0)
    assert tiered.cost({"input_tokens": 1000, "output_tokens": 0}) == pytest.approx(0.001)
    assert tiered.cost({"input_tokens": 2000, "output_tokens": 1_000_000}) == pytest.approx(0.02 + 2.0)


def test_choose_provider_precedence() -> None:
    keys = {"OPENAI_API_KEY": "o", "ANTHROPIC_API_KEY": "a"}
    config = {"provider": "anthropic", "model": "claude-opus-5-5"}
    # Flags beat LIME_* env beat config.
    assert choose_provider("openai", "gpt-4o", keys, config) == ("openai", "gpt-4o")
    env = {**keys, "LIME_PROVIDER": "openai-responses", "LIME_MODEL": "gpt-5.4"}
    assert choose_provider(None, None, env, config) == ("openai-responses", "gpt-5.4")
    assert choose_provider(None, None, keys, config) == ("anthropic", "claude-opus-5-5")
    # A model alone selects its catalog provider; a provider alone gets its default model.
    assert choose_provider(None, "claude-haiku-4-5", keys, None) == ("anthropic", "claude-haiku-4-5")
    assert choose_provider("anthropic", None, {}, None) == ("anthropic", default_model("anthropic"))
    # A model from a higher level overrides a lower-level provider of another family ...
    assert choose_provider(None, "gpt-4.1", keys, config) == ("openai", "gpt-4.1")
    # ... but not one of the same family, and never an explicit provider at the same level.
    assert choose_provider(None, "gpt-5.4", keys, {"provider": "openai"}) == ("openai", "gpt-5.4")
    assert choose_provider("openai", "claude-sonnet-5-5", keys, None) == ("openai", "claude-sonnet-5-5")
    # An unknown model keeps the explicit or environment provider.
    assert choose_provider(None, "qwen3-coder", {"OPENAI_BASE_URL": "http://x/v1"}, None) == (
        "openai",
        "qwen3-coder",
    )


def test_choose_provider_from_environment_keys() -> None:
    assert choose_provider(None, None, {"OPENAI_API_KEY": "o", "ANTHROPIC_API_KEY": "a"}, {}) == (
        "openai",
        default_model("openai"),
    )
    assert (
        choose_provider(None, None, {"ANTHROPIC_API_KEY": "a", "OPENAI_BASE_URL": "http://x"}, {})[0]
        == "anthropic"
    )
    assert choose_provider(None, None, {"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"}, {})[0] == "openai"
    assert choose_provider(None, None, {"OPENAI_API_KEY": ""}, {}) is None
    assert choose_provider(None, None, {}, None) is None
    assert choose_provider("Claude", None, {}, None)[0] == "anthropic"


def test_make_provider_reads_the_environment() -> None:
    chat = make_provider("openai", {"OPENAI_API_KEY": "sk-1", "OPENAI_BASE_URL": "http://h/v1"})
    assert isinstance(chat, OpenAIChatProvider) and (chat.api_key, chat.base_url) == ("sk-1", "http://h/v1")
    responses = make_provider(
        "openai_responses", {"OPENAI_API_KEY": "sk-1"}, {"reasoning_effort": "low", "x": 1}
    )
    assert isinstance(responses, OpenAIResponsesProvider)
    assert responses.base_url == "https://api.openai.com/v1" and responses.reasoning_effort == "low"
    claude = make_provider("anthropic", {"ANTHROPIC_AUTH_TOKEN": "tok"}, {"max_retries": 3})
    assert isinstance(claude, AnthropicProvider)
    assert claude.auth_token == "tok" and claude.api_key is None and claude.max_retries == 3
    assert claude.has_credentials()
    assert make_provider("openai", {}).has_credentials() is False
    assert make_provider("openai", {"OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}).has_credentials() is True
