"""The plain statement of what was and was not valid, in sentences a reader takes at face value."""

from __future__ import annotations

from bench.report.arms import Arm, repetition_of
from bench.report.document import ExcludedRun
from bench.report.metrics import BY_ID, HEADLINE, RunMetrics
from bench.report.rundata import DataOutcome


def excluded_runs(arms: list[Arm]) -> list[ExcludedRun]:
    return [
        ExcludedRun(run.name, arm.name, repetition_of(run, arm), run.invalid_reasons)
        for arm in arms
        for run in arm.runs
        if not run.valid
    ]


def _headline_gaps(arms: list[Arm], metrics: dict[str, RunMetrics]) -> list[str]:
    """A headline figure that an arm's valid runs could not have, and why."""
    said = []
    for metric_id in HEADLINE:
        for arm in arms:
            found = [metrics[run.name] for run in arm.included]
            if found and all(run.values.get(metric_id) is None for run in found):
                reasons = "; ".join(sorted({run.missing.get(metric_id, "no value") for run in found}))
                said.append(f"{BY_ID[metric_id].label} was not measured in arm {arm.name}: {reasons}.")
    return said


def _invariant_statement(arms: list[Arm]) -> str:
    verdicts = [(run.name, run.data_verdict.outcome) for arm in arms for run in arm.runs]
    failed = [name for name, outcome in verdicts if outcome is DataOutcome.FAILED]
    checked = [name for name, outcome in verdicts if outcome is not DataOutcome.NOT_CHECKED]
    if failed:
        return f"Invariant checks FAILED in {len(failed)} of {len(verdicts)} runs: {', '.join(failed)}."
    if not checked:
        return "Invariants (no overdraft, balances equal their ledger or event fold, no event lost) were not checked."
    unchecked = len(verdicts) - len(checked)
    return f"Invariant checks passed in {len(checked)} run(s)" + (
        f"; {unchecked} run(s) were not checked." if unchecked else "."
    )


def statements(arms: list[Arm], metrics: dict[str, RunMetrics], aa: bool) -> list[str]:
    runs = [run for arm in arms for run in arm.runs]
    included = [run for arm in arms for run in arm.included]
    said = [f"{len(runs)} run(s) in {len(arms)} arm(s); {len(included)} complete and valid, counted in the statistics."]
    for excluded in excluded_runs(arms):
        said.append(
            f"Excluded: run {excluded.run} (arm {excluded.arm}, repetition {excluded.repetition}): "
            f"{'; '.join(excluded.reasons) or 'invalid'}."
        )
    for arm in arms:
        if len(arm.included) < 2:
            said.append(
                f"Arm {arm.name} has {len(arm.included)} valid repetition(s): its figures carry no "
                "confidence interval and none of its deltas can be significant."
            )
    for run in runs:
        checks = run.manifest.checks
        if checks is not None and not checks.histograms_match_locust:
            said.append(
                f"Run {run.name}: the histograms hold {checks.histogram_requests} requests, "
                f"Locust counted {checks.locust_requests}."
            )
    said.extend(_headline_gaps(arms, metrics))
    said.append(_invariant_statement(arms))
    if aa:
        said.append(
            "This is an A/A experiment: the arms are one configuration, so every delta is this machine's noise."
        )
    return said
