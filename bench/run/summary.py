"""The tables printed at the end of a run: steady-state latency per endpoint, resources, database, validity."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from bench.run.orchestrate import RunOutcome
from bench.rundir import columns
from bench.rundir.columns import Component, Resource
from bench.rundir.faults import FaultTimeline
from bench.rundir.files import ALL
from bench.rundir.manifest import Observability
from bench.rundir.phases import SecondPhase
from bench.rundir.read import read_faults
from bench.rundir.steady import SteadySummary
from bench.rundir.writes import WriteCheck


def _ms(value: float) -> str:
    return f"{value:,.2f}" if value < 10 else f"{value:,.1f}"


def latency_table(steady: SteadySummary) -> Table:
    seconds = steady.seconds_measured
    open_model = bool(steady.intended)
    table = Table(title=f"Latency, steady state ({seconds} s)", title_justify="left")
    headers = ["endpoint", "requests", "req/s", "failures", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"]
    if open_model:
        headers.append("p99 from intended ms")
    for header in headers:
        table.add_column(header, justify="left" if header == "endpoint" else "right")
    for name in sorted(steady.latency, key=lambda n: (n != ALL, n)):
        stats = steady.latency[name]
        row = [
            f"[bold]{ALL}[/]" if name == ALL else name,
            f"{stats.count:,}",
            f"{stats.count / seconds:,.1f}" if seconds else "-",
            f"{stats.failures:,}",
            *(_ms(value) for value in (stats.p50_ms, stats.p90_ms, stats.p99_ms, stats.p999_ms, stats.max_ms)),
        ]
        if open_model:
            intended = steady.intended.get(name)
            row.append(_ms(intended.p99_ms if intended is not None else 0.0))
        table.add_row(*row)
    return table


def resources_table(steady_rows: pd.DataFrame, observability: dict[str, Observability]) -> Table:
    table = Table(title="Resources, steady state (mean / max)", title_justify="left")
    for header in ("component", "CPU % of a core", "RSS MiB", "USS MiB", "PSS MiB"):
        table.add_column(header, justify="left" if header == "component" else "right")
    for component in Component:
        seen = observability.get(component.value)
        if seen is None:
            continue
        if not seen.observed:
            table.add_row(component.value, seen.said, "", "", "")
            continue
        cells = []
        for resource in (Resource.CPU, Resource.RSS, Resource.USS, Resource.PSS):
            column = columns.resource_column(component, resource)
            values = steady_rows[column].dropna() if column in steady_rows else pd.Series(dtype=float)
            cells.append(f"{values.mean():,.0f} / {values.max():,.0f}" if not values.empty else "-")
        table.add_row(component.value, *cells)
    return table


def database_lines(steady_rows: pd.DataFrame, steady: SteadySummary | None) -> list[str]:
    lines = []
    rates = [
        ("commits_per_s", "transactions/s (reads included)"),
        ("tuples_inserted_per_s", "inserted/s"),
        ("tuples_updated_per_s", "updated/s"),
        ("tuples_deleted_per_s", "deleted/s"),
        ("events_appended_per_s", "events appended/s"),
    ]
    parts = [
        f"{label} {steady_rows[column].mean():,.0f}"
        for column, label in rates
        if column in steady_rows and steady_rows[column].notna().any()
    ]
    if parts:
        lines.append("PostgreSQL writes: " + ", ".join(parts))
    behind_column = columns.PROJECTION_EVENTS_BEHIND
    if behind_column in steady_rows and steady_rows[behind_column].notna().any():
        behind = steady_rows[behind_column].dropna()
        seconds = steady_rows[columns.PROJECTION_SECONDS_BEHIND].dropna()
        lines.append(
            f"Projection lag: events behind p50 {behind.median():,.0f} / max {behind.max():,.0f}; "
            f"seconds behind p50 {seconds.median():.3f} / max {seconds.max():.3f}"
        )
    for domain, stats in (steady.visibility if steady is not None else {}).items():
        lines.append(
            f"Visibility ({domain}): {stats.count:,} probes, p50 {_ms(stats.p50_ms)} ms, "
            f"p95 {_ms(stats.p95_ms)} ms, p99 {_ms(stats.p99_ms)} ms, not visible in time {stats.not_visible}"
        )
    return lines


def fault_lines(timeline: FaultTimeline) -> list[str]:
    """One line per fault (when it began after the load's start, how long it took) and per supervised restart."""
    lines = ["Faults (seconds after the load's start):"]
    origin = timeline.load_started_at
    for fault in timeline.faults:
        if fault.started_at is None:
            lines.append(f"  {fault.fault}: {fault.outcome.value.replace('_', ' ')}: {fault.detail}")
            continue
        lasted = f", over after {fault.ended_at - fault.started_at:,.2f} s" if fault.ended_at is not None else ""
        lines.append(f"  {fault.fault}: applied at {fault.started_at - origin:,.1f} s{lasted}: {fault.detail}")
    for restart in timeline.restarts:
        ready = (
            f"ready {restart.ready_at - restart.exited_at:,.2f} s after its exit"
            if restart.ready_at is not None
            else "not started again"
        )
        lines.append(f"  {restart.component} restarted at {restart.exited_at - origin:,.1f} s, {ready}")
    return lines


def write_check_lines(check: WriteCheck) -> list[str]:
    if not check.checked:
        return [f"Acknowledged writes: not checked ({check.why_not_checked})"]
    verdict = "[green]none lost or doubled[/]" if check.passed else "[red]LOST OR DOUBLED[/]"
    lines = [
        f"Acknowledged writes: {verdict}: {check.acknowledged:,} of {check.sent:,} sent acknowledged, "
        f"{check.present:,} in the store once as acknowledged, {check.lost:,} lost, {check.doubled:,} doubled; "
        f"{check.unknown:,} of unknown outcome ({check.unknown_present:,} in the store, {check.unknown_absent:,} "
        f"not); {check.refused:,} refused; {check.retried:,} retried; read side: {check.read_side_wrong:,} of "
        f"{check.read_side_checked:,} accounts differ from the store ({check.seconds:,.1f} s)"
    ]
    return lines + [f"  - {example}" for example in check.examples]


def print_summary(outcome: RunOutcome, console: Console) -> None:
    table = outcome.timeseries
    steady_rows = table[table[columns.PHASE] == SecondPhase.STEADY] if not table.empty else table
    if outcome.steady is not None and outcome.steady.latency:
        console.print(latency_table(outcome.steady))
    observability = outcome.run.manifest.observability or {}
    if observability and not steady_rows.empty:
        console.print(resources_table(steady_rows, observability))
    for line in database_lines(steady_rows, outcome.steady) if not steady_rows.empty else []:
        console.print(line)
    timeline = read_faults(outcome.run.path)
    for line in fault_lines(timeline) if timeline is not None else []:
        console.print(line, markup=False)
    if outcome.write_check is not None:
        for line in write_check_lines(outcome.write_check):
            console.print(line, highlight=False)
    checks = outcome.checks
    if not checks.histograms_match_locust:
        console.print(
            f"[yellow]check:[/] histograms hold {checks.histogram_requests} requests, "
            f"Locust counted {checks.locust_requests}"
        )
    status = "complete" if outcome.complete else f"[red]INCOMPLETE[/] ({outcome.ended.summary})"
    verdict = "[green]VALID[/]" if outcome.validity.valid else "[red]INVALID[/]"
    console.print(f"Run {status}; measurement {verdict}")
    for reason in outcome.validity.reasons:
        console.print(f"  - {reason}")
