"""Which projector shard owns a stream: the same function in Python and in SQL (schema.sql: event_shard)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


def shard_of(stream_id: uuid.UUID, shards: int) -> int:
    """The stream's last 16 bits modulo `shards`, as `event_shard(stream_id, shards)` computes it in SQL."""
    return (stream_id.int & 0xFFFF) % shards


@dataclass(frozen=True, slots=True)
class Shard:
    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} of {self.count}: expected 0 <= shard < shards")

    @property
    def name(self) -> str:
        """The shard's name in checkpoints and heartbeats, e.g. "1/4"."""
        return f"{self.index}/{self.count}"


ALL = Shard(0, 1)
