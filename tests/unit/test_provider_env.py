"""runtime/model.py decides "no provider configured" without importing the model catalog, from its own list
of the variables choose_provider reads. This keeps the two in step: every variable choose_provider (and the
environment fallback it uses) looks at must be in that list."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import product

from lime_repl.agent.providers.catalog import choose_provider
from lime_repl.runtime.model import _PROVIDER_ENV, _configured


class RecordingEnv(Mapping[str, str]):
    """An environment that remembers every name looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values, self.read = values, set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return self.values[name]

    def get(self, name: str, default: object = None):  # type: ignore[override]
        self.read.add(name)
        return self.values.get(name, default)

    def __contains__(self, name: object) -> bool:
        self.read.add(str(name))
        return name in self.values

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("choose_provider must look variables up by name, not walk the environment")

    def __len__(self) -> int:
        return len(self.values)


def test_every_variable_choose_provider_reads_is_in_the_runtime_list() -> None:
    seen: set[str] = set()
    # every combination of the listed variables set or not, with and without flags and config
    for mask, flags, config in product(range(1 << len(_PROVIDER_ENV)), (None, "gpt-4o"), ({}, {"model": "x"})):
        values = {name: "v" for bit, name in enumerate(_PROVIDER_ENV) if mask & (1 << bit)}
        env = RecordingEnv(values)
        chosen = choose_provider(None, flags, env, config, catalog={})
        seen |= env.read
        assert (chosen is not None) <= _configured(None, flags, values, config)
    assert seen <= set(_PROVIDER_ENV), sorted(seen - set(_PROVIDER_ENV))


def test_nothing_set_chooses_nothing_and_each_variable_alone_is_seen() -> None:
    assert not _configured(None, None, {}, {})
    assert choose_provider(None, None, RecordingEnv({}), {}, catalog={}) is None
    for name in _PROVIDER_ENV:
        assert _configured(None, None, {name: "v"}, {})
