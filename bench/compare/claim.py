"""A claim to check: figures someone published for a baseline and an optimized configuration.

An experiment's `[claim]` table states them, metric by metric, in the report's units; the
report then puts them beside what this machine measured and says for each row whether the
measurement supports the claim, contradicts it, or cannot tell.
"""

from __future__ import annotations

import msgspec

# The claim row of the write capacity (the headline's "Database write throughput"): acknowledged writes/s
# at the highest rate each arm sustains within the [capacity] SLOs, which is no metric of one run.
WRITE_CAPACITY = "write_capacity_per_s"


class ClaimRow(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    metric: str  # a metric id of the report (bench/report/metrics.py), e.g. latency_all_mean_ms, or WRITE_CAPACITY
    baseline: float  # the claimed figure of the baseline arm, in the metric's unit
    optimized: float  # and of the optimized arm

    @property
    def change_percent(self) -> float | None:
        return (self.optimized - self.baseline) / self.baseline * 100.0 if self.baseline else None


class Claim(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    source: str  # where the figures come from, as the report should name it
    baseline: str  # the arm the claim's "before" stands for (the experiment's baseline)
    optimized: str  # the arm its "after" stands for
    rows: list[ClaimRow]
