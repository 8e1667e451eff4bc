"""The cqrs target's GET /stats body: projection lag per shard, and write-side and read-side counters."""

from __future__ import annotations

from typing import Any

import msgspec

from targets.common.stats import PoolStats, Stats


class ShardProjection(msgspec.Struct, frozen=True):
    shard: str
    checkpoint: str
    events_behind: int
    seconds_behind: float


class Projection(msgspec.Struct, frozen=True):
    generation: int
    events_behind: int  # summed over the shards
    seconds_behind: float  # the worst shard's
    shards: list[ShardProjection]
    horizon_holder: dict[str, Any] | None  # the oldest transaction that holds the projectors' horizon back
    applied: int | None = None  # events the current generation's read models applied, duplicates not counted


class GroupCommitStats(msgspec.Struct, frozen=True):
    batches: int  # statements sent for batches of appends (a batch of one included)
    appends: int  # appends they carried: appends / batches is the mean batch size
    largest_batch: int
    retried_alone: int  # appends of batches a constraint (a taken Idempotency-Key) or a deadlock aborted


class WriteSide(msgspec.Struct, frozen=True):
    version_conflicts_retried: int
    cached_states: int
    notifies_sent: int
    group_commit: GroupCommitStats | None = None  # None: group commit is off


class ReadSide(msgspec.Struct, frozen=True):
    """The answering worker's view cache (targets/cqrs/views.py), since it started."""

    view_cache_hits: int
    view_cache_misses: int
    cached_views: int


class CqrsStats(Stats, frozen=True, kw_only=True):
    read_store: str = "redis"  # BENCH_CQRS_READ_STORE: where the read models are
    projection: Projection
    write_side: WriteSide
    read_side: ReadSide
    pool: PoolStats

    def projection_lag(self) -> tuple[float, float]:
        return float(self.projection.events_behind), self.projection.seconds_behind
