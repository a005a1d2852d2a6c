"""lime: a terminal REPL for coding-agent models where every conversation is a durable session."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
