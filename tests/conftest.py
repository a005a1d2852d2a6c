"""Shared fixtures: a private LIME_HOME and config/cache dirs per test, and a way to run the real `lime`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@dataclass
class LimeEnv:
    """A private profile: ``home`` is LIME_HOME, ``cwd`` a working directory, ``env`` the environment."""

    home: Path
    cwd: Path
    env: dict[str, str]

    def run(
        self,
        *args: str,
        input: bytes | str | None = None,
        cwd: Path | None = None,
        timeout: float = 60,
        extra_env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``python -m lime_repl ARGS`` with stdin from ``input`` (a pipe, so line mode)."""
        data = input.encode() if isinstance(input, str) else input
        env = dict(self.env, **(extra_env or {}))
        return subprocess.run(
            [sys.executable, "-m", "lime_repl", *args],
            input=data if data is not None else b"",
            cwd=cwd or self.cwd,
            env=env,
            capture_output=True,
            timeout=timeout,
        )

    def session_files(self) -> list[Path]:
        return sorted(self.home.glob("sessions/*/*.jsonl"))


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
