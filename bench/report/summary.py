"""Building the Summary (bench.report.document) from run directories: estimates, deltas, SLOs, validity."""

from __future__ import annotations

from bench.report.arms import Arm, group_arms, repetition_of
from bench.report.capacity import capacity_entry, capacity_statements, tag_of
from bench.report.claim import claim_entry, claim_of
from bench.report.document import (
    FORMAT,
    ArmEntry,
    CapacityEntry,
    ClaimEntry,
    DeltaEntry,
    EstimateEntry,
    ExperimentEntry,
    MetricEntry,
    RunEntry,
    SloArmEntry,
    SloEntry,
    Summary,
    ValidityEntry,
)
from bench.report.environment import environment
from bench.report.faults import fault_costs
from bench.report.metrics import METRICS, Metric, RunMetrics, run_metrics
from bench.report.rundata import RunData
from bench.report.slo import check_arm, parse_slo
from bench.report.statements import excluded_runs, statements
from bench.stats.bootstrap import Delta, Estimate, Interval, delta, estimate

__all__ = ["Summary", "build_summary"]


def _interval(interval: Interval | None) -> tuple[float, float] | None:
    return None if interval is None else (interval.low, interval.high)


def _estimate_entry(found: Estimate, values: list[float], missing: str | None) -> EstimateEntry:
    return EstimateEntry(found.n, values, found.mean, _interval(found.ci), found.note, missing)


def _delta_entry(found: Delta) -> DeltaEntry:
    return DeltaEntry(found.absolute, found.relative_percent, _interval(found.ci), found.significant, found.note)


def _why_missing(metric: Metric, arm: Arm, metrics: dict[str, RunMetrics]) -> str:
    if not arm.included:
        return "no valid repetition"
    reasons = sorted({metrics[run.name].missing.get(metric.id, "no value") for run in arm.included})
    return "; ".join(reasons)


def _metric_entry(metric: Metric, arms: list[Arm], metrics: dict[str, RunMetrics]) -> MetricEntry:
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
    return MetricEntry(metric.id, metric.label, metric.unit, metric.better, metric.section, per_arm, deltas)


def _slo_entries(texts: list[str], arms: list[Arm], metrics: dict[str, RunMetrics]) -> list[SloEntry]:
    entries: list[SloEntry] = []
    for text in texts:
        try:
            slo = parse_slo(text)
        except ValueError as error:
            entries.append(SloEntry(text, str(error), None, {}))
            continue
        results = {arm.name: check_arm(slo, [metrics[run.name] for run in arm.included]) for arm in arms}
        judged = {name: SloArmEntry(r.passed, r.value, r.detail) for name, r in results.items()}
        entries.append(SloEntry(slo.text, None, slo.metric_id, judged))
    return entries


def _run_entry(run: RunData, arm: Arm, metrics: RunMetrics) -> RunEntry:
    settings = run.manifest.settings
    return RunEntry(
        name=run.name,
        arm=arm.name,
        repetition=repetition_of(run, arm),
        target=settings.target,
        host=settings.host,
        started_at=run.manifest.started_at,
        complete=run.complete,
        valid=run.valid,
        reasons=run.invalid_reasons,
        ended=run.manifest.ended.detail if run.manifest.ended is not None else None,
        data_checks=run.data_checks,
        data_verdict=run.data_verdict.said,
        metrics=metrics.values,
        missing=metrics.missing,
        write_check=run.write_check,
        faults=run.faults,
        fault_costs=fault_costs(run.faults.faults, run.timeseries) if run.faults else [],
    )


def _experiment(runs: list[RunData], arms: list[Arm]) -> ExperimentEntry:
    declared = next((run.experiment for run in runs if run.experiment is not None), None)
    names = [arm.name for arm in arms]
    if declared is None:
        return ExperimentEntry(None, "run settings", names, names[0], None, False, [], None)
    return ExperimentEntry(
        declared.name,
        "experiment",
        names,
        names[0],
        declared.repeats,
        declared.aa,
        declared.slos,
        declared.definition,
        [str(text) for text in declared.definition.get("overrides", [])],
    )


def _claim(experiment: ExperimentEntry, entries: list[MetricEntry], capacity: CapacityEntry) -> ClaimEntry | None:
    claim = claim_of(experiment.definition)
    if claim is None or claim.optimized not in experiment.arms:
        return None  # no claim, or its optimized arm is not among these runs (an A/A comparison, say)
    return claim_entry(claim, {entry.id: entry for entry in entries}, capacity)


def split_steps(runs: list[RunData]) -> tuple[list[RunData], list[RunData]]:
    """(the repetitions, the write-capacity search's step runs)."""
    return [run for run in runs if tag_of(run) is None], [run for run in runs if tag_of(run) is not None]


def build_summary(runs: list[RunData]) -> Summary:
    runs, steps = split_steps(runs)
    if not runs:
        raise ValueError("a summary needs at least one run directory that is no capacity step")
    arms = group_arms(runs)
    metrics = {run.name: run_metrics(run) for run in runs}
    experiment = _experiment(runs, arms)
    entries = [_metric_entry(metric, arms, metrics) for metric in METRICS]
    capacity = capacity_entry(steps, [arm.name for arm in arms], experiment.definition)
    return Summary(
        format=FORMAT,
        experiment=experiment,
        arms=[ArmEntry(arm.name, [run.name for run in arm.runs], len(arm.included)) for arm in arms],
        metrics=entries,
        slos=_slo_entries(experiment.slos, arms, metrics),
        runs=[_run_entry(run, arm, metrics[run.name]) for arm in arms for run in arm.runs],
        validity=ValidityEntry(
            included=sum(len(arm.included) for arm in arms),
            excluded=excluded_runs(arms),
            statements=statements(arms, metrics, experiment.aa) + capacity_statements(capacity),
        ),
        environment=environment(arms),
        claim=_claim(experiment, entries, capacity),
        capacity=capacity,
    )
