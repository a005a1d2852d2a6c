"""The private-profile helper shared by the tests (imported as ``support.lime_env``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


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
