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
