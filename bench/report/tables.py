"""The report's tables, built once from the Summary and rendered by both the Markdown and the HTML writer."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from bench.report.document import CapacityArmEntry, CapacityDeltaEntry, MetricEntry, Summary
from bench.report.format import delta_cell, estimate_cell, number
from bench.report.metrics import SECTIONS
from bench.rundir.manifest import RecordedSettings
from bench.rundir.writes import WriteCheck


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


CAPACITY_LABEL = "Database write throughput"
CAPACITY_ROWS_LABEL = "PostgreSQL rows written/s at that rate"
BOUNDED = {
    "slo": "bounded by the SLOs",
    "max_steps": "the search's step budget ran out",
    "ceiling": "the search's ceiling",
    "floor": "even the lowest rate failed",
}


def _rate(value: float) -> str:
    return f"{number(value)} actions/s"


def capacity_cell(entry: CapacityArmEntry) -> str:
    """'212 writes/s at 400 actions/s (limit in [400, 480) actions/s, bounded by the SLOs)', or why there is none."""
    if entry.writes_per_s is None or entry.limit is None:
        return f"n/a: {entry.missing}"
    at_least = "at least " if entry.upper is None else ""
    shown = f"{at_least}{number(entry.writes_per_s)} writes/s at {_rate(entry.limit)}"
    if entry.bounded_by == "generator" or (entry.upper is None and entry.generator_limit is not None):
        return f"{shown} (the load generator gave out at {_rate(entry.generator_limit or 0.0)})"
    where = f"limit in [{number(entry.limit)}, {number(entry.upper)}) actions/s" if entry.upper is not None else ""
    bound = BOUNDED.get(entry.bounded_by or "", entry.bounded_by or "")
    return f"{shown} ({', '.join(part for part in (where, bound) if part)})"


def capacity_delta_cell(entry: CapacityDeltaEntry) -> str:
    if entry.absolute is None:
        return f"n/a: {entry.note}"
    relative = (
        f" ({'+' if entry.relative_percent > 0 else ''}{number(entry.relative_percent)}%)"
        if entry.relative_percent is not None
        else ""
    )
    return f"{'+' if entry.absolute > 0 else ''}{number(entry.absolute)} writes/s{relative}; {entry.note}"


def _rows_cell(entry: CapacityArmEntry) -> str:
    if entry.rows_per_s is None:
        return f"n/a: {entry.rows_missing or entry.missing}"
    return f"{number(entry.rows_per_s)} rows/s"


def _rows_delta(baseline: CapacityArmEntry, arm: CapacityArmEntry) -> str:
    if baseline.rows_per_s is None or arm.rows_per_s is None:
        return "n/a: not measured in both arms"
    difference = arm.rows_per_s - baseline.rows_per_s
    return f"{'+' if difference > 0 else ''}{number(difference)} rows/s, each at its own capacity rate"


def capacity_rows(summary: Summary) -> list[list[str]]:
    """The headline's write capacity and, beside it, PostgreSQL's rows written per second at that rate."""
    capacity, names = summary.capacity, summary.arm_names
    baseline = capacity.arms[summary.baseline]
    first = [CAPACITY_LABEL, *(capacity_cell(capacity.arms[name]) for name in names)]
    first += [capacity_delta_cell(capacity.deltas[name]) for name in names[1:]]
    if not capacity.measured:
        return [first]
    second = [CAPACITY_ROWS_LABEL, *(_rows_cell(capacity.arms[name]) for name in names)]
    second += [_rows_delta(baseline, capacity.arms[name]) for name in names[1:]]
    return [first, second]


def capacity_table(summary: Summary) -> Table:
    """Every step of every arm's write-capacity search."""
    rows = [
        [
            name,
            str(step.step),
            step.phase,
            _rate(step.rate),
            step.verdict,
            number(step.achieved_rate) if step.achieved_rate is not None else "n/a",
            number(step.writes_per_s) if step.writes_per_s is not None else "n/a",
            step.reason,
            ", ".join(step.runs),
        ]
        for name, arm in summary.capacity.arms.items()
        for step in arm.steps
    ]
    capacity = summary.capacity
    notes = [f"Write capacity {capacity.missing}."] if capacity.missing else []
    columns = ["Arm", "Step", "Phase", "Asked", "Verdict", "Achieved actions/s", "Writes/s", "Reason", "Runs"]
    title = f"Write-capacity search ({capacity.mix or 'no'} mix; SLOs: {'; '.join(capacity.slos) or 'none'})"
    return Table("capacity", title, columns, rows, notes)


def metric_table(summary: Summary, section: str) -> Table:
    """The headline keeps its rows whatever they hold; other sections drop the rows no arm measured."""
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
    rows = [_metric_row(metric, summary) for metric in shown]
    if section == "headline":
        rows += capacity_rows(summary)
        notes.append(
            f"{CAPACITY_LABEL}: acknowledged writes/s (successful POSTs) in the steady state of the highest "
            "arrival rate that met every capacity SLO, one open-model search per arm; the limit lies in "
            "[highest pass, lowest fail) actions/s. One search gives no bootstrap interval: a delta is "
            "significant only when those ranges do not overlap. The rows written for the fixed load are in "
            "the database table."
        )
    return Table(
        id=section,
        title=SECTIONS[section],
        columns=["Metric", *summary.arm_names, *(_delta_columns(summary) if len(summary.arm_names) > 1 else [])],
        rows=rows,
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


def writes_table(summary: Summary) -> Table:
    """Per arm, the acknowledged-writes check summed over its runs; the problems' first examples as notes."""
    rows, notes = [], []
    for arm in summary.arm_names:
        runs = [run for run in summary.runs if run.arm == arm]
        checked = [run.write_check for run in runs if run.write_check is not None and run.write_check.checked]
        for run in runs:
            if run.write_check is not None and not run.write_check.checked:
                notes.append(f"{arm} repetition {run.repetition}: not checked ({run.write_check.why_not_checked})")
            elif run.write_check is not None:
                notes += [f"{arm} repetition {run.repetition}: {example}" for example in run.write_check.examples]
        if not checked:
            rows.append([arm, "0", *("-" for _ in range(8))])
            continue

        def total(field: str, checks: list[WriteCheck] = checked) -> int:
            return sum(int(getattr(check, field)) for check in checks)

        unknown = f"{total('unknown'):,} ({total('unknown_present'):,} in the store, {total('unknown_absent'):,} not)"
        read_side = f"{total('read_side_wrong'):,} of {total('read_side_checked'):,} accounts"
        rows.append(
            [
                arm,
                f"{len(checked)} of {len(runs)}",
                f"{total('acknowledged'):,}",
                f"{total('present'):,}",
                f"{total('lost'):,}" + (" LOST" if total("lost") else ""),
                f"{total('doubled'):,}" + (" DOUBLED" if total("doubled") else ""),
                unknown,
                f"{total('refused'):,}",
                f"{total('retried'):,}",
                read_side + (" DIFFER" if total("read_side_wrong") else ""),
            ]
        )
    columns = [
        "Arm",
        "Runs checked",
        "Acknowledged",
        "In the store once",
        "Lost",
        "Doubled",
        "Unknown outcome",
        "Refused",
        "Retried",
        "Read side differing",
    ]
    return Table("writes", "Acknowledged writes, held against the store and the read side", columns, rows, notes)


def faults_table(summary: Summary) -> Table:
    rows = []
    for run in summary.runs:
        timeline = run.faults
        if timeline is None:
            continue
        for fault, cost in zip(timeline.faults, run.fault_costs, strict=True):
            began = f"{fault.started_at - timeline.load_started_at:,.1f}" if fault.started_at is not None else "-"
            over = (
                f"{fault.ended_at - fault.started_at:,.2f}"
                if fault.started_at is not None and fault.ended_at is not None
                else "-"
            )
            rows.append(
                [
                    run.arm,
                    str(run.repetition),
                    fault.fault,
                    fault.outcome.value.replace("_", " "),
                    began,
                    over,
                    f"{cost.errors:,}" if cost.errors is not None else "-",
                    _recovered(fault.started_at, cost.recovered_after_s),
                    f"{cost.lag_peak_events:,.0f}" if cost.lag_peak_events is not None else "-",
                    f"{fault.detail}; {cost.note}",
                ]
            )
        for restart in timeline.restarts:
            ready = f"ready after {restart.ready_at - restart.exited_at:,.2f} s" if restart.ready_at else "not started"
            restarted = f"{restart.component} restarted"
            rows.append([run.arm, str(run.repetition), restarted, ready, *"-" * 5, restart.detail])
    columns = [
        "Arm",
        "Repetition",
        "Fault",
        "Outcome",
        "Began at (s)",
        "Over after (s)",
        "Errors",
        "Recovered after (s)",
        "Projection lag peak (events)",
        "Detail",
    ]
    notes = [] if rows else ["No run had faults."]
    return Table("faults", "Faults injected under load, and what each cost", columns, rows, notes)


def _recovered(started_at: float | None, after_s: float | None) -> str:
    if started_at is None:
        return "-"
    return f"{after_s:,.0f}" if after_s is not None else "not back"


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
        capacity_table(summary),
        slo_table(summary),
        writes_table(summary),
        *([faults_table(summary)] if any(run.faults is not None for run in summary.runs) else []),
        invariants_table(summary),
        runs_table(summary),
        environment_table(summary),
    ]


LEAD_TABLES = ("headline", "claim")  # shown first, before the validity statements and the plots


def lead_and_details(tables: list[Table]) -> tuple[list[Table], list[Table]]:
    lead = [table for table in tables if table.id in LEAD_TABLES]
    return lead, [table for table in tables if table.id not in LEAD_TABLES]
