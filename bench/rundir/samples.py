"""samples/target_stats.jsonl: one line per second, the target's own GET /stats as its description types it."""

from __future__ import annotations

import msgspec

from targets.common.stats import Stats


class TargetStatsSample(msgspec.Struct, frozen=True):
    second: int
    stats: Stats  # the target's own subclass when written; read back as the common fields unless told
