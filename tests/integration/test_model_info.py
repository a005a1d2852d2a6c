"""One model-info accessor: the user's ``[models."name"]`` prices reach ``/status`` cost (line mode)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.fake_providers import FakeProviderServer
from support.lime_env import LimeEnv

from lime_repl.agent.providers.catalog import model_info_for

CONFIG = """
[models."house-model"]
provider = "openai"
context_window = 64000
input_price = 1000.0
output_price = 2000.0
"""


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


def test_user_model_prices_give_status_cost(lime_env: LimeEnv, server: FakeProviderServer) -> None:
    (lime_env.home / "config.toml").parent.mkdir(parents=True, exist_ok=True)
    (lime_env.home / "config.toml").write_text(CONFIG)
    server.reply_text("hello back", usage={"input_tokens": 1000, "output_tokens": 500})
    proc = lime_env.run(input="hello\n/status\n", extra_env=server.env("openai", "house-model"))
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert "hello back" in out
    # 1,000 input tokens at $1,000/M + 500 output tokens at $2,000/M = $2.00
    assert "cost       $2.0000" in out
    assert "context    " in out and "/ 64,000 tokens" in out


def test_accessor_merges_config_over_packaged_catalog() -> None:
    config = {"models": {"gpt-5.5": {"input_price": 7.0}, "house-model": {"output_price": 3.0}}}
    merged = model_info_for(config, "gpt-5.5")
    assert (merged.input_price, merged.output_price) == (7.0, 30.0)
    assert model_info_for(config, "house-model").output_price == 3.0
    assert model_info_for({}, "house-model").known is False
    assert model_info_for({"models": "not a table"}, "gpt-5.5").input_price == 5.0
