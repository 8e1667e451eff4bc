"""The tables printed at the end of a run: steady-state latency per endpoint, resources, database, validity."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from bench.run.orchestrate import RunOutcome

COMPONENT_ORDER = ("target", "projectors", "postgres", "redis", "generator", "harness")


def _ms(value: float) -> str:
    return f"{value:,.2f}" if value < 10 else f"{value:,.1f}"


def latency_table(steady: dict[str, Any], seconds: int) -> Table:
    open_model = bool(steady.get("intended"))
    table = Table(title=f"Latency, steady state ({seconds} s)", title_justify="left")
    columns = ["endpoint", "requests", "req/s", "failures", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"]
    if open_model:
        columns.append("p99 from intended ms")
    for column in columns:
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    latency: dict[str, dict[str, Any]] = steady.get("latency", {})
    for name in sorted(latency, key=lambda n: (n != "all", n)):
        stats = latency[name]
        row = [
            "[bold]all[/]" if name == "all" else name,
            f"{int(stats['count']):,}",
            f"{stats['count'] / seconds:,.1f}" if seconds else "-",
            f"{int(stats['failures']):,}",
            *(_ms(stats[key]) for key in ("p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms")),
        ]
        if open_model:
            row.append(_ms(steady["intended"].get(name, {}).get("p99_ms", 0.0)))
        table.add_row(*row)
    return table


def resources_table(steady_rows: pd.DataFrame, observability: dict[str, str]) -> Table:
    table = Table(title="Resources, steady state (mean / max)", title_justify="left")
    for column in ("component", "CPU % of a core", "RSS MiB", "USS MiB", "PSS MiB"):
        table.add_column(column, justify="left" if column == "component" else "right")
    for component in COMPONENT_ORDER:
        seen = observability.get(component)
        if seen is None:
            continue
        if not seen.startswith("observed"):
            table.add_row(component, seen, "", "", "")
            continue
        cells = []
        for measure in ("cpu_percent", "rss_mib", "uss_mib", "pss_mib"):
            column = f"{component}_{measure}"
            values = steady_rows[column].dropna() if column in steady_rows else pd.Series(dtype=float)
            cells.append(f"{values.mean():,.0f} / {values.max():,.0f}" if not values.empty else "-")
        table.add_row(component, *cells)
    return table


def database_lines(steady_rows: pd.DataFrame, steady: dict[str, Any]) -> list[str]:
    lines = []
    rates = [("commits_per_s", "transactions/s (reads included)"), ("tuples_inserted_per_s", "inserted/s"),
             ("tuples_updated_per_s", "updated/s"), ("tuples_deleted_per_s", "deleted/s"),
             ("events_appended_per_s", "events appended/s")]  # fmt: skip
    parts = [f"{label} {steady_rows[column].mean():,.0f}" for column, label in rates
             if column in steady_rows and steady_rows[column].notna().any()]  # fmt: skip
    if parts:
        lines.append("PostgreSQL writes: " + ", ".join(parts))
    if "projection_events_behind" in steady_rows and steady_rows["projection_events_behind"].notna().any():
        behind = steady_rows["projection_events_behind"].dropna()
        seconds = steady_rows["projection_seconds_behind"].dropna()
        lines.append(
            f"Projection lag: events behind p50 {behind.median():,.0f} / max {behind.max():,.0f}; "
            f"seconds behind p50 {seconds.median():.3f} / max {seconds.max():.3f}"
        )
    for domain, stats in (steady.get("visibility") or {}).items():
        lines.append(
            f"Visibility ({domain}): {int(stats['count']):,} probes, p50 {_ms(stats['p50_ms'])} ms, "
            f"p95 {_ms(stats['p95_ms'])} ms, p99 {_ms(stats['p99_ms'])} ms, not visible in time {stats['not_visible']}"
        )
    return lines


def print_summary(outcome: RunOutcome, console: Console) -> None:
    table = outcome.timeseries
    steady_rows = table[table["phase"] == "steady"] if not table.empty else table
    seconds = int(outcome.steady.get("seconds_measured", 0)) if outcome.steady else 0
    if outcome.steady and outcome.steady.get("latency"):
        console.print(latency_table(outcome.steady, seconds))
    observability = outcome.run.manifest.get("observability") or {}
    if observability and not steady_rows.empty:
        console.print(resources_table(steady_rows, observability))
    for line in database_lines(steady_rows, outcome.steady or {}) if not steady_rows.empty else []:
        console.print(line)
    checks = outcome.checks
    if not checks.get("histograms_match_locust"):
        console.print(
            f"[yellow]check:[/] histograms hold {checks.get('histogram_requests')} requests, "
            f"Locust counted {checks.get('locust_requests')}"
        )
    status = "complete" if outcome.complete else f"[red]INCOMPLETE[/] ({outcome.ended_because.splitlines()[0]})"
    verdict = "[green]VALID[/]" if outcome.validity.valid else "[red]INVALID[/]"
    console.print(f"Run {status}; measurement {verdict}")
    for reason in outcome.validity.reasons:
        console.print(f"  - {reason}")
