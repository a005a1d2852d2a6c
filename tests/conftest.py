"""Shared fixtures: a private LIME_HOME and config/cache dirs per test, and a way to run the real `lime`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.lime_env import LimeEnv

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def lime_env(tmp_path: Path) -> Iterator[LimeEnv]:
    home = tmp_path / "lime-home"
    cwd = tmp_path / "work"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIME_", "OPENAI_", "ANTHROPIC_"))}
    env.update(
        LIME_HOME=str(home),
        XDG_CONFIG_HOME=str(tmp_path / "xdg-config"),
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
        NO_COLOR="1",
        PAGER="cat",
        PYTHONPATH=str(REPO),
        PROMPT_TOOLKIT_NO_CPR="1",
        TERM="xterm",
    )
    yield LimeEnv(home, cwd, env)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the tests of a module that shares a module-scoped fixture on one xdist worker.

    Under ``-n 2 --dist loadgroup`` each worker that runs a test of the module
    would build the module's fixture again (sessions made by real ``lime``
    runs); one ``xdist_group`` per such module builds it once. Other tests are
    spread one by one, as before.
    """
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs.values() if info is not None else ()
        if any(d[-1].scope in ("module", "package", "session") for d in defs if d and d[-1].baseid):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
