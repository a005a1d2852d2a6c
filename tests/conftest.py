"""Shared fixtures: a private LIME_HOME and config/cache dirs per test, and a way to run the real `lime`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.lime_env import LimeEnv, private_env


@pytest.fixture
def lime_env(tmp_path: Path) -> Iterator[LimeEnv]:
    home = tmp_path / "lime-home"
    cwd = tmp_path / "work"
    cwd.mkdir()
    env = private_env(tmp_path, home)
    env.update(PAGER="cat", PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm")
    yield LimeEnv(home, cwd, env)
