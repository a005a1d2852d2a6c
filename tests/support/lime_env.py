"""The private-profile helper shared by the tests (imported as ``support.lime_env``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def private_env(root: Path, home: Path) -> dict[str, str]:
    """This process's environment without lime's and the providers' variables, with ``home`` as
    LIME_HOME, config and cache directories under ``root``, no colour, and this checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIME_", "OPENAI_", "ANTHROPIC_"))}
    env.update(
        LIME_HOME=str(home),
        XDG_CONFIG_HOME=str(root / "xdg-config"),
        XDG_CACHE_HOME=str(root / "xdg-cache"),
        NO_COLOR="1",
        PYTHONPATH=str(REPO),
    )
    return env


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
