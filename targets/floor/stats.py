"""The floor target's GET /stats body."""

from __future__ import annotations

from targets.common.stats import Stats


class FloorStats(Stats, frozen=True, kw_only=True):
    requests: int  # answered by this worker
    delay: str  # the kind of the synthetic delay
