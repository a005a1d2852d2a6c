"""Settings and their precedence (DESIGN.md section 2).

Layers, later wins: ``config.toml`` in the platform config directory, then
``$LIME_HOME/config.toml``, then ``<project>/.lime/config.toml``, then
``LIME_*`` environment variables, then command-line flags. TOML tables are
merged key by key, so a project file can override one setting of a table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths

__all__ = ["Config", "ConfigError", "load_config"]

#: Environment variables that set a dotted config key.
ENV_KEYS = {
    "LIME_PROVIDER": "provider",
    "LIME_MODEL": "model",
    "LIME_SESSION_MAX_BYTES": "session.max_bytes",
    "LIME_SESSION_BACKUPS": "session.backups",
}


class ConfigError(ValueError):
    """A config file that is not valid TOML or a setting of the wrong type; message names the file."""


def _merge(into: dict[str, Any], layer: Mapping[str, Any]) -> None:
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, Mapping):
            into[key] = {}
            _merge(into[key], value)
        else:
            into[key] = value


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *tables, last = dotted.split(".")
    for table in tables:
        data = data.setdefault(table, {})
    data[last] = value


@dataclass
class Config:
    """The merged settings; ``files`` are the config files that were read, in order."""

    data: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def get(self, dotted: str, default: Any = None) -> Any:
        """The value at ``"table.key"``, or ``default``."""
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def get_int(self, dotted: str, default: int) -> int:
        """An integer setting. Raises :class:`ConfigError` when it is not one."""
        value = self.get(dotted, default)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"setting {dotted} must be an integer, not {value!r}") from None

    def set(self, dotted: str, value: Any) -> None:
        """Override one setting (used for flags)."""
        _set_dotted(self.data, dotted, value)


def load_config(cwd: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and merge every layer for ``cwd``. Raises :class:`ConfigError` for a bad file."""
    env = os.environ if env is None else env
    config = Config()
    candidates = [paths.config_dir(env) / "config.toml", paths.lime_home(env) / "config.toml"]
    project = paths.find_project_root(cwd, env)
    if project is not None:
        candidates.append(project / ".lime" / "config.toml")
    for path in candidates:
        try:
            fh = open(path, "rb")
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        import tomllib  # only a profile with a config file parses TOML

        with fh:
            try:
                layer = tomllib.load(fh)
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"{path}: {exc}") from None
        _merge(config.data, layer)
        config.files.append(path)
    for name, dotted in ENV_KEYS.items():
        if env.get(name):
            _set_dotted(config.data, dotted, env[name])
    return config
