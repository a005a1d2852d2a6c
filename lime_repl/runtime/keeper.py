"""The runtime's context keeper and summaries (microcompaction and compaction; DESIGN.md section 4).

:func:`build_keeper` makes the session's
:class:`~lime_repl.context.scheduler.ContextKeeper` from the ``[compaction]``
settings and the model's catalog entry and starts its worker;
:func:`summarize` asks the model for a summary and falls back to the
deterministic extractive one (:mod:`lime_repl.context.summary`).
"""

from __future__ import annotations

from ..agent.loop import Agent
from ..agent.providers.catalog import ModelInfo
from ..context.compaction import load_settings
from ..context.scheduler import ContextKeeper
from ..context.summary import extractive_summary
from ..errors import LimeError, UsageError
from ..logsetup import get_logger
from ..store.records import Entry
from ..workspace import Workspace

__all__ = ["build_keeper", "summarize"]

log = get_logger()


def summarize(
    agent: Agent | None, entries: list[Entry], previous: str | None, hint: str | None
) -> tuple[str, LimeError | None]:
    """``(summary, the model's error or None)``: the model's summary when it answers, else the extractive one."""
    if agent is not None:
        try:
            return agent.summarize(entries, previous, hint), None
        except LimeError as exc:
            return extractive_summary(entries, previous, hint), exc
    return extractive_summary(entries, previous, hint), None


def _background_summary(agent: Agent | None, entries: list[Entry], previous: str | None, hint: str | None) -> str:
    text, error = summarize(agent, entries, previous, hint)
    if error is not None:
        log.warning("compaction summary by the model failed (%s); using an extractive summary", error)
    return text


def build_keeper(workspace: Workspace, info: ModelInfo | None, agent: Agent | None) -> ContextKeeper:
    """A started keeper for ``workspace``'s settings and the model ``info`` (None: a 128,000-token window).

    Its background summaries use ``agent`` (logged, never shown, when the
    model fails). Raises :class:`UsageError` for a bad ``[compaction]`` setting.
    """
    try:
        settings = load_settings(workspace.config.data, workspace.env)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"bad [compaction] setting: {exc}") from None
    keeper = ContextKeeper(
        settings,
        window=info.context_window if info is not None else 128_000,
        catalog_threshold=info.auto_compact_threshold if info is not None else None,
        summarize=lambda entries, previous, hint: _background_summary(agent, entries, previous, hint),
    )
    keeper.start()
    return keeper
