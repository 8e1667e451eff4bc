"""The Summary: everything the report shows, as one plain JSON-able structure built from run directories.

It holds nothing about when or where it was built, so the same run directories always give
byte-identical summary.json files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bench.report.arms import Arm, group_arms, repetition_of
from bench.report.environment import environment
from bench.report.metrics import METRICS, Metric, RunMetrics, run_metrics
from bench.report.rundata import RunData
from bench.report.slo import check_arm, parse_slo
from bench.report.statements import excluded_runs, statements
from bench.stats.bootstrap import Delta, Estimate, Interval, delta, estimate

FORMAT = 1


@dataclass(frozen=True)
class Summary:
    data: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(self.data, indent=2, sort_keys=True, allow_nan=False) + "\n"

    @property
    def arms(self) -> list[str]:
        return list(self.data["experiment"]["arms"])

    @property
    def baseline(self) -> str:
        return str(self.data["experiment"]["baseline"])

    def slo_failures(self) -> list[str]:
        """One sentence per SLO an arm failed (or that could not be read); empty when every SLO passed."""
        failures = []
        for slo in self.data["slos"]:
            if slo.get("error"):
                failures.append(f"SLO {slo['text']!r} could not be read: {slo['error']}")
                continue
            for arm in self.arms:
                result = slo["arms"][arm]
                if not result["passed"]:
                    failures.append(f"arm {arm} fails SLO {slo['text']!r}: {result['detail']}")
        return failures

    @property
    def slos_passed(self) -> bool:
        return not self.slo_failures()


def _interval(interval: Interval | None) -> list[float] | None:
    return None if interval is None else [interval.low, interval.high]


def _estimate_entry(found: Estimate, values: list[float], missing: str | None) -> dict[str, Any]:
    return {
        "n": found.n,
        "values": values,
        "mean": found.mean,
        "ci": _interval(found.ci),
        "note": found.note,
        "missing": missing,
    }


def _delta_entry(found: Delta) -> dict[str, Any]:
    return {
        "absolute": found.absolute,
        "relative_percent": found.relative_percent,
        "ci": _interval(found.ci),
        "significant": found.significant,
        "note": found.note,
    }


def _why_missing(metric: Metric, arm: Arm, metrics: dict[str, RunMetrics]) -> str:
    if not arm.included:
        return "no valid repetition"
    reasons = sorted({metrics[run.name].missing.get(metric.id, "no value") for run in arm.included})
    return "; ".join(reasons)


def _metric_entry(metric: Metric, arms: list[Arm], metrics: dict[str, RunMetrics]) -> dict[str, Any]:
    values = {
        arm.name: [value for run in arm.included if (value := metrics[run.name].values.get(metric.id)) is not None]
        for arm in arms
    }
    per_arm = {
        arm.name: _estimate_entry(
            estimate(values[arm.name]),
            values[arm.name],
            None if values[arm.name] else _why_missing(metric, arm, metrics),
        )
        for arm in arms
    }
    baseline = arms[0].name
    deltas = {}
    for arm in arms[1:]:
        unmeasured = " and ".join(name for name in (baseline, arm.name) if not values[name])
        found = Delta(None, None, None, False, f"not measured in {unmeasured}") if unmeasured else None
        deltas[arm.name] = _delta_entry(found or delta(values[baseline], values[arm.name]))
    return {
        "id": metric.id,
        "label": metric.label,
        "unit": metric.unit,
        "better": metric.better,
        "section": metric.section,
        "arms": per_arm,
        "deltas": deltas,
    }


def _slo_entries(texts: list[str], arms: list[Arm], metrics: dict[str, RunMetrics]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for text in texts:
        try:
            slo = parse_slo(text)
        except ValueError as error:
            entries.append({"text": text, "error": str(error), "metric": None, "arms": {}})
            continue
        results = {arm.name: check_arm(slo, [metrics[run.name] for run in arm.included]) for arm in arms}
        entries.append(
            {
                "text": slo.text,
                "error": None,
                "metric": slo.metric_id,
                "arms": {
                    name: {"passed": r.passed, "value": r.value, "detail": r.detail} for name, r in results.items()
                },
            }
        )
    return entries


def _run_entry(run: RunData, arm: Arm, metrics: RunMetrics) -> dict[str, Any]:
    settings = run.manifest.get("settings") or {}
    return {
        "name": run.name,
        "arm": arm.name,
        "repetition": repetition_of(run, arm),
        "target": settings.get("target"),
        "host": settings.get("host"),
        "started_at": run.manifest.get("started_at"),
        "complete": run.complete,
        "valid": run.valid,
        "reasons": run.invalid_reasons,
        "ended_because": run.manifest.get("ended_because"),
        "invariants": run.invariants,
        "invariant_verdict": run.invariant_verdict,
        "metrics": metrics.values,
        "missing": metrics.missing,
    }


def _experiment(runs: list[RunData], arms: list[Arm]) -> dict[str, Any]:
    declared = next((run.experiment for run in runs if run.experiment is not None), None)
    names = [arm.name for arm in arms]
    if declared is None:
        return {
            "name": None,
            "source": "run settings",
            "arms": names,
            "baseline": names[0],
            "repeats": None,
            "aa": False,
            "slos": [],
            "definition": None,
        }
    return {
        "name": declared.get("name"),
        "source": "experiment",
        "arms": names,
        "baseline": names[0],
        "repeats": declared.get("repeats"),
        "aa": bool(declared.get("aa")),
        "slos": list(declared.get("slos") or []),
        "definition": declared.get("definition"),
    }


def build_summary(runs: list[RunData]) -> Summary:
    if not runs:
        raise ValueError("a summary needs at least one run directory")
    arms = group_arms(runs)
    metrics = {run.name: run_metrics(run) for run in runs}
    experiment = _experiment(runs, arms)
    data = {
        "format": FORMAT,
        "experiment": experiment,
        "arms": [
            {"name": arm.name, "runs": [run.name for run in arm.runs], "valid_runs": len(arm.included)} for arm in arms
        ],
        "metrics": [_metric_entry(metric, arms, metrics) for metric in METRICS],
        "slos": _slo_entries(experiment["slos"], arms, metrics),
        "runs": [_run_entry(run, arm, metrics[run.name]) for arm in arms for run in arm.runs],
        "validity": {
            "included": sum(len(arm.included) for arm in arms),
            "excluded": excluded_runs(arms),
            "statements": statements(arms, metrics, experiment["aa"]),
        },
        "environment": environment(arms),
    }
    return Summary(data)
