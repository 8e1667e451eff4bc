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

from bench.compare.claim import Claim, ClaimRow
from bench.report.document import ClaimEntry, ClaimRowEntry, DeltaEntry, MetricEntry, Verdict
from bench.report.format import interval, number


def claim_of(definition: Mapping[str, Any] | None) -> Claim | None:
    """The [claim] an experiment's recorded definition carries (bench.compare.experiment.Experiment.as_dict)."""
    found = (definition or {}).get("claim")
    return msgspec.convert(found, Claim) if found is not None else None


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{'+' if value > 0 else ''}{number(value)}%"


def verdict(row: ClaimRow, change: DeltaEntry | None) -> tuple[Verdict, str]:
    claimed = f"claimed {_percent(row.change_percent)}"
    if change is None or change.absolute is None:
        why = change.note if change is not None and change.note else "not measured"
        return Verdict.CANNOT_TELL, f"{claimed}; {why}"
    measured = f"measured {_percent(change.relative_percent)} {interval(change.ci)}".rstrip()
    if not change.significant:
        return Verdict.CANNOT_TELL, f"{claimed}, {measured}: no significant change"
    claimed_up = row.optimized > row.baseline
    measured_up = change.absolute > 0
    if row.optimized == row.baseline or claimed_up != measured_up:
        return Verdict.CONTRADICTS, f"{claimed}, {measured}: significant, the other way"
    return Verdict.SUPPORTS, f"{claimed}, {measured}: significant, the same way"


def claim_entry(claim: Claim, metrics: Mapping[str, MetricEntry]) -> ClaimEntry:
    rows = []
    for row in claim.rows:
        metric = metrics[row.metric]
        baseline = metric.arms.get(claim.baseline)
        optimized = metric.arms.get(claim.optimized)
        change = metric.deltas.get(claim.optimized)
        found, detail = verdict(row, change)
        rows.append(
            ClaimRowEntry(
                metric=row.metric,
                label=metric.label,
                unit=metric.unit,
                claimed_baseline=row.baseline,
                claimed_optimized=row.optimized,
                claimed_change_percent=row.change_percent,
                measured_baseline=baseline.mean if baseline is not None else None,
                measured_optimized=optimized.mean if optimized is not None else None,
                measured_change=change,
                verdict=found,
                detail=detail,
            )
        )
    return ClaimEntry(source=claim.source, baseline=claim.baseline, optimized=claim.optimized, rows=rows)
