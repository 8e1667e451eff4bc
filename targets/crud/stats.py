"""The crud target's GET /stats body."""

from __future__ import annotations

from targets.common.stats import PoolStats, Stats


class CrudStats(Stats, frozen=True, kw_only=True):
    pool: PoolStats
