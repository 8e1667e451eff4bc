"""The report's tables, built once from the Summary and rendered by both the Markdown and the HTML writer."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from bench.report.document import MetricEntry, Summary
from bench.report.format import delta_cell, estimate_cell, number
from bench.report.metrics import SECTIONS
from bench.rundir.manifest import RecordedSettings


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def _delta_columns(summary: Summary) -> list[str]:
    others = summary.arm_names[1:]
    return ["Delta"] if len(others) == 1 else [f"Delta {arm} vs {summary.baseline}" for arm in others]


def _metric_row(metric: MetricEntry, summary: Summary) -> list[str]:
    cells = [estimate_cell(metric.arms[arm], metric.unit) for arm in summary.arm_names]
    deltas = [delta_cell(metric.deltas[arm], metric.unit, metric.better) for arm in summary.arm_names[1:]]
    return [metric.label, *cells, *deltas]


def metric_table(summary: Summary, section: str) -> Table:
    """The headline keeps its three rows whatever they hold; other sections drop the rows no arm measured."""
    metrics = [metric for metric in summary.metrics if metric.section == section]
    shown: list[MetricEntry] = []
    unmeasured: list[MetricEntry] = []
    for metric in metrics:
        measured = any(metric.arms[arm].mean is not None for arm in summary.arm_names)
        (shown if measured or section == "headline" else unmeasured).append(metric)
    notes = []
    reasons: dict[str, list[str]] = {}
    for metric in unmeasured:
        why = "; ".join(sorted({metric.arms[arm].missing or "no value" for arm in summary.arm_names}))
        reasons.setdefault(why, []).append(metric.label)
    for why, labels in reasons.items():
        notes.append(f"Not measured in any arm: {', '.join(labels)} ({why}).")
    return Table(
        id=section,
        title=SECTIONS[section],
        columns=["Metric", *summary.arm_names, *(_delta_columns(summary) if len(summary.arm_names) > 1 else [])],
        rows=[_metric_row(metric, summary) for metric in shown],
        notes=notes,
    )


def claim_table(summary: Summary) -> Table | None:
    """The published figures beside the measured ones, with a verdict per row."""
    claim = summary.claim
    if claim is None:
        return None
    rows = []
    for row in claim.rows:
        claimed = f"{number(row.claimed_baseline)} -> {number(row.claimed_optimized)} {row.unit}"
        measured = (
            f"{number(row.measured_baseline)} -> {number(row.measured_optimized)} {row.unit}"
            if row.measured_baseline is not None and row.measured_optimized is not None
            else "not measured in both arms"
        )
        rows.append([row.label, claimed, measured, row.verdict.value, row.detail])
    title = f"The claim beside the measurement ({claim.baseline} -> {claim.optimized})"
    notes = [
        f"Claimed by: {claim.source}. A row is supported when the measured change is significant and goes the "
        "claimed way, contradicted when it is significant and goes the other way, and cannot be told otherwise."
    ]
    columns = ["Metric", "Claimed", "Measured (mean)", "Verdict", "Change, claimed and measured [95% CI]"]
    return Table("claim", title, columns, rows, notes)


def slo_table(summary: Summary) -> Table:
    rows = []
    for slo in summary.slos:
        if slo.error:
            rows.append([slo.text, *(f"unreadable: {slo.error}" for _ in summary.arm_names)])
            continue
        verdicts = [slo.arms[arm] for arm in summary.arm_names]
        rows.append([slo.text, *(("pass" if found.passed else "FAIL") + f": {found.detail}" for found in verdicts)])
    notes = [] if rows else ["The experiment declared no SLOs."]
    title = "Service-level objectives (mean over valid repetitions)"
    return Table("slos", title, ["SLO", *summary.arm_names], rows, notes)


def invariants_table(summary: Summary) -> Table:
    rows = []
    for run in summary.runs:
        checks = run.data_checks.checks if run.data_checks is not None else []
        details = "; ".join(f"{check.name}: {'ok' if check.passed else 'FAILED'} ({check.detail})" for check in checks)
        rows.append([run.arm, str(run.repetition), run.data_verdict, details])
    return Table("invariants", "Invariant checks after each run", ["Arm", "Repetition", "Result", "Checks"], rows)


def runs_table(summary: Summary) -> Table:
    rows = [
        [
            run.arm,
            str(run.repetition),
            run.name,
            "yes" if run.complete else "no",
            "valid" if run.valid else "INVALID, excluded",
            "; ".join(run.reasons),
        ]
        for run in summary.runs
    ]
    columns = ["Arm", "Repetition", "Run directory", "Complete", "Validity", "Reasons"]
    return Table("validity", "Runs and their validity", columns, rows)


def _settings_cell(settings: RecordedSettings) -> str:
    recorded = msgspec.to_builtins(settings)
    load = recorded.pop("load")
    parts = [f"{key}={value}" for key, value in recorded.items() if key not in ("seed_spec", "keys_dir")]
    parts += [f"load.{key}={value}" for key, value in load.items()]
    return ", ".join(parts)


def environment_table(summary: Summary) -> Table:
    env = summary.environment
    rows = []
    for machine in env.machines:
        rows.append(
            [
                "machine",
                f"{machine.hostname}: {machine.cpu_model}, {machine.logical_cpus} logical CPUs "
                f"({machine.usable_cpus} usable), {machine.memory_gib} GiB, {machine.system}",
            ]
        )
    for software in env.software:
        packages = ", ".join(f"{name} {version}" for name, version in sorted(software.packages.items()))
        rows.append(["software", f"Python {software.python} ({software.implementation}); {packages}"])
    for git in env.git:
        rows.append(["git revision", f"{git.revision}{' (uncommitted changes)' if git.dirty else ''}"])
    for arm, settings in env.settings.items():
        rows.append([f"settings of {arm}", _settings_cell(settings)])
    for arm, infrastructure in env.infrastructure.items():
        for kind, info in sorted(infrastructure.items()):
            rows.append([f"{kind} of {arm}", f"{info.mode} {info.version}"])
    return Table("environment", "Environment", ["What", "Value"], rows)


def all_tables(summary: Summary) -> list[Table]:
    sections = [metric_table(summary, section) for section in SECTIONS]
    claim = claim_table(summary)
    return [
        *sections[:1],  # the headline, then the claim it is checked against
        *([claim] if claim is not None else []),
        *sections[1:],
        slo_table(summary),
        invariants_table(summary),
        runs_table(summary),
        environment_table(summary),
    ]


LEAD_TABLES = ("headline", "claim")  # shown first, before the validity statements and the plots


def lead_and_details(tables: list[Table]) -> tuple[list[Table], list[Table]]:
    lead = [table for table in tables if table.id in LEAD_TABLES]
    return lead, [table for table in tables if table.id not in LEAD_TABLES]
