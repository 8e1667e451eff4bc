"""The body of GET /stats: every target's has its name; each target extends it with what it can tell of itself."""

from __future__ import annotations

import msgspec


class Stats(msgspec.Struct, frozen=True, kw_only=True):
    target: str

    def projection_lag(self) -> tuple[float, float] | None:
        """(events behind, seconds behind) of the read side; None for a target without one."""
        return None


class PoolStats(msgspec.Struct, frozen=True):
    size: int
    idle: int
