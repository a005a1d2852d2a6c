"""Fixtures for the provider tests: a live fake server and providers pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.fake_providers import FakeProviderServer

from lime_repl.agent.providers import make_provider
from lime_repl.agent.providers.base import BaseProvider


@pytest.fixture
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as srv:
        yield srv


@pytest.fixture
def connect(server: FakeProviderServer) -> Callable[..., BaseProvider]:
    """``connect(name, **options)``: a provider aimed at the fake server, with no retries."""

    def build(name: str, **options: Any) -> BaseProvider:
        provider = make_provider(name, server.env(name), {"max_retries": 0, "timeout": 10.0, **options})
        assert isinstance(provider, BaseProvider)
        return provider

    return build
