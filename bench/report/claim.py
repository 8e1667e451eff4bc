"""A published claim beside the measurement: for each row, does what this machine measured support it?

The verdict follows the delta the report already computed (the optimized arm minus the baseline,
with its 95% interval): a significant change in the claimed direction supports the row, one the
other way contradicts it, and no significant change, or none measured, cannot tell. How far the
measured change is from the claimed one is stated beside the verdict, not judged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from bench.compare.claim import WRITE_CAPACITY, Claim, ClaimRow
from bench.report.document import CapacityEntry, ClaimEntry, ClaimRowEntry, DeltaEntry, MetricEntry, Verdict
from bench.report.format import interval, signed, with_unit


def claim_of(definition: Mapping[str, Any] | None) -> Claim | None:
    """The [claim] an experiment's recorded definition carries (bench.compare.experiment.Experiment.as_dict)."""
    found = (definition or {}).get("claim")
    return msgspec.convert(found, Claim) if found is not None else None


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{signed(value)}%"


def verdict(row: ClaimRow, change: DeltaEntry | None, unit: str = "") -> tuple[Verdict, str]:
    claimed = f"claimed {_percent(row.change_percent)}"
    if change is None or change.absolute is None:
        why = change.note if change is not None and change.note else "not measured"
        return Verdict.CANNOT_TELL, f"{claimed}; {why}"
    absolute = with_unit(signed(change.absolute), unit) if unit else ""
    shown = f"{absolute} ({_percent(change.relative_percent)})" if absolute else _percent(change.relative_percent)
    measured = f"measured {shown} {interval(change.ci)}".rstrip()
    if not change.significant:
        return Verdict.CANNOT_TELL, f"{claimed}, {measured}: no significant change"
    claimed_up = row.optimized > row.baseline
    measured_up = change.absolute > 0
    if row.optimized == row.baseline or claimed_up != measured_up:
        return Verdict.CONTRADICTS, f"{claimed}, {measured}: significant, the other way"
    return Verdict.SUPPORTS, f"{claimed}, {measured}: significant, the same way"


class _Measured(msgspec.Struct, frozen=True):
    label: str
    unit: str
    baseline: float | None
    optimized: float | None
    change: DeltaEntry | None


def _of_metric(metric: MetricEntry, claim: Claim) -> _Measured:
    baseline, optimized = metric.arms.get(claim.baseline), metric.arms.get(claim.optimized)
    return _Measured(
        metric.label,
        metric.unit,
        baseline.mean if baseline is not None else None,
        optimized.mean if optimized is not None else None,
        metric.deltas.get(claim.optimized),
    )


def _of_capacity(capacity: CapacityEntry, claim: Claim) -> _Measured:
    """The write capacity's delta has no interval: significant only when the arms' limit brackets do not overlap."""
    baseline, optimized = capacity.arms.get(claim.baseline), capacity.arms.get(claim.optimized)
    found = capacity.deltas.get(claim.optimized)
    change = (
        None
        if found is None
        else DeltaEntry(found.absolute, found.relative_percent, None, found.significant, found.note)
    )
    return _Measured(
        "Database write throughput (write capacity)",
        "writes/s",
        baseline.writes_per_s if baseline is not None else None,
        optimized.writes_per_s if optimized is not None else None,
        change,
    )


def claim_entry(claim: Claim, metrics: Mapping[str, MetricEntry], capacity: CapacityEntry) -> ClaimEntry:
    rows = []
    for row in claim.rows:
        measured = (
            _of_capacity(capacity, claim) if row.metric == WRITE_CAPACITY else _of_metric(metrics[row.metric], claim)
        )
        found, detail = verdict(row, measured.change, measured.unit)
        rows.append(
            ClaimRowEntry(
                metric=row.metric,
                label=measured.label,
                unit=measured.unit,
                claimed_baseline=row.baseline,
                claimed_optimized=row.optimized,
                claimed_change_percent=row.change_percent,
                measured_baseline=measured.baseline,
                measured_optimized=measured.optimized,
                measured_change=measured.change,
                verdict=found,
                detail=detail,
            )
        )
    return ClaimEntry(source=claim.source, baseline=claim.baseline, optimized=claim.optimized, rows=rows)
