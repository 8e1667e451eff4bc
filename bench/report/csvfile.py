"""summary.csv: one row per metric and arm, for spreadsheets; the baseline's delta cells stay empty."""

from __future__ import annotations

import csv
import io
from typing import Any

from bench.report.document import Summary

COLUMNS = [
    "metric",
    "label",
    "unit",
    "better",
    "section",
    "arm",
    "baseline",
    "n",
    "mean",
    "ci_low",
    "ci_high",
    "missing",
    "delta",
    "delta_percent",
    "delta_ci_low",
    "delta_ci_high",
    "significant",
]


def _or_empty(value: Any) -> Any:
    return "" if value is None else value


def summary_csv(summary: Summary) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for metric in summary.metrics:
        for arm in summary.arm_names:
            entry = metric.arms[arm]
            ci = entry.ci or (None, None)
            change = metric.deltas.get(arm)
            delta_cells = (
                ["", "", "", "", ""]
                if change is None
                else [
                    _or_empty(change.absolute),
                    _or_empty(change.relative_percent),
                    *(_or_empty(bound) for bound in (change.ci or (None, None))),
                    change.significant,
                ]
            )
            writer.writerow(
                [
                    metric.id,
                    metric.label,
                    metric.unit,
                    metric.better,
                    metric.section,
                    arm,
                    arm == summary.baseline,
                    entry.n,
                    _or_empty(entry.mean),
                    _or_empty(ci[0]),
                    _or_empty(ci[1]),
                    _or_empty(entry.missing),
                    *delta_cells,
                ]
            )
    return buffer.getvalue()
