"""The fuzz budget: how many examples hypothesis tries per property (one place for every fuzz test).

``LIME_FUZZ_EXAMPLES`` sets it. The default, 300, is the suite's budget:
enough that each of four bugs planted in the store (line numbers that skip
blank lines, a record whose ``type`` is null accepted, torn tails of rotated
segments not reported, entries with integer ids kept) fails its fuzz test in
every run tried (docs/decisions.md, "A fuzz budget for the suite"), while the
whole fuzz directory stays near 20 s of CPU. ``LIME_FUZZ_EXAMPLES=2000`` is
the long hunt for a nightly or pre-release run (about 150 s on one core).

The core targets (record parser, segment reader, transcript builder, each
importer) get the whole budget; properties built on them (replay, resume
after damage, tool pairs) get a quarter of it, at least 75.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["EXAMPLES", "FUZZ", "FUZZ_MORE", "fuzz_settings"]

EXAMPLES = int(os.environ.get("LIME_FUZZ_EXAMPLES", "300"))

_CHECKS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]


def fuzz_settings(examples: int, **extra: object) -> settings:
    """Hypothesis settings for ``examples`` examples: no deadline (a loaded machine is slow, not wrong)."""
    return settings(max_examples=max(1, examples), deadline=None, suppress_health_check=_CHECKS, **extra)


#: The core targets: the whole budget.
FUZZ = fuzz_settings(EXAMPLES)

#: Properties built on the core targets: a quarter of it (at least 75).
FUZZ_MORE = fuzz_settings(max(75, EXAMPLES // 4))
