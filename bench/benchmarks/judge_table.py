"""The table of `bench benchmark targets`: its rows, then its ratios, then what makes the run invalid."""

from __future__ import annotations

from rich.table import Table

from bench.benchmarks.cpu import CpuUse
from bench.benchmarks.judge import SERVERS, TARGET
from bench.benchmarks.judge_results import Ratio, TargetsBenchmark
from bench.benchmarks.watched import GENERATOR

ROW_COLUMNS = (
    "target",
    "endpoint",
    "load",
    "generator",
    "requests",
    "errors",
    "req/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "target CPU%",
    "PG+Redis CPU%",
    "generator CPU%",
)
LEFT = {"target", "endpoint", "load", "generator", "ratio", "goal"}


def _cpu(use: CpuUse | None) -> str:
    return "-" if use is None or use.samples == 0 else f"{use.mean_percent:.0f}"


def _met(ratio: Ratio) -> str:
    return "" if ratio.met is None else "met" if ratio.met else "NOT MET"


def _new(title: str, columns: tuple[str, ...]) -> Table:
    table = Table(title=title)
    for column in columns:
        # fold, not an ellipsis: two endpoints differ only past /accounts/{id}
        table.add_column(column, justify="left" if column in LEFT else "right", overflow="fold")
    return table


def table(results: TargetsBenchmark) -> Table:
    shown = _new(
        f"targets: {results.connections} connections, {results.seconds:g} s per row after {results.warmup_seconds:g} s "
        f"of warm-up, {results.workers} API worker(s), {results.accounts} accounts",
        ROW_COLUMNS,
    )
    for row in results.rows:
        m = row.measured
        shown.add_row(
            row.target,
            row.name,
            row.description,
            m.generator + (" SATURATED" if m.saturated else ""),
            f"{m.requests:,}",
            str(m.errors) if not m.errors else f"{m.errors} !",
            f"{m.requests_per_second:,.0f}",
            f"{m.latency.p50_ms:.2f}",
            f"{m.latency.p90_ms:.2f}",
            f"{m.latency.p99_ms:.2f}",
            _cpu(m.cpu.get(TARGET)),
            _cpu(m.cpu.get(SERVERS)),
            _cpu(m.cpu.get(GENERATOR)),
        )
    return shown


def ratio_table(results: TargetsBenchmark) -> Table:
    shown = _new("ratios, from the rows above", ("ratio", "value", "goal", "verdict"))
    for ratio in results.ratios:
        shown.add_row(ratio.name, f"{ratio.value:.2f}", ratio.goal, _met(ratio))
    return shown


def notes(results: TargetsBenchmark) -> list[str]:
    lines = [results.pgbench_database + "."]
    if results.http_generator_limit:
        lines.append(f"HTTP generator: {results.http_generator}. {results.http_generator_limit}.")
    if results.problems:
        lines.append(f"INVALID RUN: {len(results.problems)} problem(s); these figures are not the targets':")
        lines.extend(f"  {problem}" for problem in results.problems)
    return lines
