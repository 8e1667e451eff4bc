"""The metrics of one run directory, steady state only, each with an id, a label, a unit and a direction.

A metric a run cannot have (no database, no probes, an external target whose processes were
not sampled) has no value, never a zero, and the reason it has none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from bench.report.groups import ALL, GROUPS, members
from bench.report.rundata import RunData
from bench.rundir import columns
from bench.rundir.columns import NODE_COMPONENTS, Component, Resource
from bench.rundir.manifest import SEEN_POSTGRES_COUNTERS, Manifest, PlacementKind
from scenarios.hdr import merged, summary

# "neutral": more is neither better nor worse. Rows and commits per second under a fixed load
# say how much an architecture writes for the same work, not how much it could write.
Better = Literal["lower", "higher", "neutral"]

SECTIONS = {
    "headline": "Headline",
    "latency": "Latency per endpoint group (steady state)",
    "throughput": "Throughput and errors",
    "cpu": "CPU per component (% of one core, mean) and of the whole node (% of the node's CPUs)",
    "memory": "Memory per component (PSS: each shared page split among the processes sharing it; mean)",
    "database": "Database (PostgreSQL's own counters)",
    "projection": "Projection lag (from the target's /stats)",
    "visibility": "Visibility window (a probe writes, then reads until its write shows)",
}
STATS = {"mean": "mean", "p50": "p50", "p95": "p95", "p99": "p99", "p999": "p99.9"}
CPU_COMPONENTS = (
    Component.TARGET,
    Component.QUERY,
    Component.PROJECTORS,
    Component.POSTGRES,
    Component.REDIS,
    Component.GENERATOR,
)
MEMORY_COMPONENTS = (Component.TARGET, Component.QUERY, Component.PROJECTORS, Component.POSTGRES, Component.REDIS)
ROW_RATES = columns.ROWS_WRITTEN_RATES
COMPONENT_NAMES = {
    Component.POSTGRES: "PostgreSQL",
    Component.REDIS: "Redis",
    Component.PROJECTORS: "projectors",
    Component.QUERY: "query workers",
}

# The node's processes are all pinned to its CPUs: their CPU summed, over 100% x its CPUs, is how busy it was.
CPU_NODE_COMPONENTS = (Component.TARGET, Component.QUERY, Component.PROJECTORS, Component.POSTGRES, Component.REDIS)
CPU_NODE_SHARE = "cpu_node_percent_of_node"
LATENCY_MEAN = "latency_all_mean_ms"
MEMORY_NODE = "memory_node_pss_mib"
DB_WRITES = "db_rows_written_per_s"
# The headline's third row, "Database write throughput", is the write capacity (bench.report.capacity): the
# rows written for the experiment's fixed load say nothing about how many writes an arm could take.
HEADLINE = (LATENCY_MEAN, MEMORY_NODE)


@dataclass(frozen=True)
class Metric:
    id: str
    label: str
    unit: str
    better: Better
    section: str


def slug(group: str) -> str:
    return group.replace(" ", "_")


def latency_id(group: str, stat: str) -> str:
    return f"latency_{slug(group)}_{stat}_ms"


def errors_id(group: str) -> str:
    return f"errors_{slug(group)}_percent"


def cpu_id(component: Component) -> str:
    return f"cpu_{component.value}_percent"


def memory_id(component: Component) -> str:
    return f"memory_{component.value}_pss_mib"


def _definitions() -> Iterator[Metric]:
    yield Metric(LATENCY_MEAN, "Average response latency", "ms", "lower", "headline")
    yield Metric(MEMORY_NODE, "Memory footprint / node", "MiB", "lower", "headline")
    for group in GROUPS:
        for stat, shown in STATS.items():
            if (group, stat) != (ALL, "mean"):
                yield Metric(latency_id(group, stat), f"{group} {shown}", "ms", "lower", "latency")
    yield Metric("requests_per_s", "requests/s", "req/s", "higher", "throughput")
    for group in GROUPS:
        yield Metric(errors_id(group), f"error rate, {group}", "%", "lower", "throughput")
    for component in CPU_COMPONENTS:
        yield Metric(cpu_id(component), component.value, "% of a core", "lower", "cpu")
    yield Metric(
        CPU_NODE_SHARE, "node (target, query workers, projectors, PostgreSQL, Redis)", "% of the node", "lower", "cpu"
    )
    for component in MEMORY_COMPONENTS:
        yield Metric(memory_id(component), component.value, "MiB", "lower", "memory")
    yield Metric(DB_WRITES, "rows written/s at the experiment's fixed load", "rows/s", "neutral", "database")
    yield Metric(columns.COMMITS_RATE, "commits/s (reads included)", "commits/s", "neutral", "database")
    for rate in ROW_RATES:
        yield Metric(
            rate, rate.removeprefix("tuples_").removesuffix("_per_s") + " rows/s", "rows/s", "neutral", "database"
        )
    yield Metric(columns.EVENTS_RATE, "events appended/s", "events/s", "neutral", "database")
    for measure, unit in (("events", "events"), ("seconds", "s")):
        for stat in ("mean", "max"):
            yield Metric(
                f"projection_{measure}_behind_{stat}", f"{measure} behind, {stat}", unit, "lower", "projection"
            )
    for stat in ("p50", "p95", "p99"):
        yield Metric(f"visibility_{stat}_ms", f"visibility window {stat}", "ms", "lower", "visibility")
    yield Metric("visibility_not_visible", "probes never visible within the deadline", "probes", "lower", "visibility")


METRICS: tuple[Metric, ...] = tuple(_definitions())
BY_ID = {metric.id: metric for metric in METRICS}


@dataclass
class RunMetrics:
    values: dict[str, float | None] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # metric id -> why it has no value
    valid: bool = False  # complete, and the measurement trustworthy
    invalid_reasons: list[str] = field(default_factory=list)

    def set(self, metric_id: str, value: float | None, why_missing: str) -> None:
        self.values[metric_id] = value
        if value is None:
            self.missing[metric_id] = why_missing


def _mean(rows: pd.DataFrame, column: str) -> float | None:
    if column not in rows:
        return None
    values = rows[column].dropna()
    return float(values.mean()) if not values.empty else None


def _max(rows: pd.DataFrame, column: str) -> float | None:
    if column not in rows:
        return None
    values = rows[column].dropna()
    return float(values.max()) if not values.empty else None


def _why_component_missing(run: RunData, component: Component) -> str:
    seen = run.observability.get(component.value)
    if seen is not None and not seen.observed:
        return seen.said
    if seen is None and component in COMPONENT_NAMES:
        return f"no {COMPONENT_NAMES[component]} in this run"
    return f"{component.value} was not sampled in the steady state"


def _latency(run: RunData, found: RunMetrics) -> None:
    endpoints = run.steady.latency if run.steady is not None else {}
    seconds = run.steady.seconds_measured if run.steady is not None else 0
    for group in GROUPS:
        names = members(group, endpoints)
        count = sum(endpoints[name].count for name in names)
        why = f"no {group} requests in the steady state" if group != ALL else "no request in the steady state"
        stats = summary(merged(endpoints[name].histogram for name in names)) if count else None
        for stat in STATS:
            found.set(latency_id(group, stat), stats.stat_ms(stat) if stats is not None else None, why)
        failures = sum(endpoints[name].failures for name in names)
        found.set(errors_id(group), failures / count * 100.0 if count else None, why)
        if group == ALL:
            found.set("requests_per_s", count / seconds if seconds else None, why)


def _resources(run: RunData, rows: pd.DataFrame, found: RunMetrics) -> None:
    for component in CPU_COMPONENTS:
        why = _why_component_missing(run, component)
        found.set(cpu_id(component), _mean(rows, columns.resource_column(component, Resource.CPU)), why)
    for component in MEMORY_COMPONENTS:
        why = _why_component_missing(run, component)
        found.set(memory_id(component), _mean(rows, columns.resource_column(component, Resource.PSS)), why)
    node_columns = [
        column for component in NODE_COMPONENTS if (column := columns.resource_column(component, Resource.PSS)) in rows
    ]
    has_target = columns.resource_column(Component.TARGET, Resource.PSS) in node_columns
    node = rows[node_columns].sum(axis=1, min_count=1).dropna() if has_target else pd.Series()
    why = _why_component_missing(run, Component.TARGET)
    found.set(MEMORY_NODE, float(node.mean()) if not node.empty else None, why)


def node_cpu_count(manifest: Manifest) -> tuple[int | None, str]:
    """How many CPUs the run's node had, or None and why it has no count."""
    placed = manifest.placement
    if placed is None or placed.kind in (PlacementKind.CO_LOCATED, PlacementKind.NO_AFFINITY, PlacementKind.ONE_CPU):
        usable = len(placed.usable_cpus) if placed is not None and placed.usable_cpus else manifest.host.usable_cpus
        return usable, "the machine's usable CPUs were not recorded"  # co-located: the node shares them all
    if placed.node_cpus is None:
        return None, placed.why_not or "the node's CPUs are not known"
    return len(placed.node_cpus), ""


def _node_share(run: RunData, rows: pd.DataFrame, found: RunMetrics) -> None:
    count, why = node_cpu_count(run.manifest)
    parts = [component for component in CPU_NODE_COMPONENTS if component.value in run.observability]
    unseen = [component for component in parts if not run.observability[component.value].observed]
    cpu_columns = [columns.resource_column(component, Resource.CPU) for component in parts]
    if count is None or not count:
        found.set(CPU_NODE_SHARE, None, why)
    elif unseen or Component.TARGET not in parts:
        missing = unseen[0] if unseen else Component.TARGET
        found.set(CPU_NODE_SHARE, None, f"{missing.value}: {_why_component_missing(run, missing)}")
    elif not all(column in rows for column in cpu_columns):
        found.set(CPU_NODE_SHARE, None, "the node's processes were not sampled in the steady state")
    else:
        total = rows[cpu_columns].sum(axis=1, min_count=len(cpu_columns)).dropna()
        found.set(CPU_NODE_SHARE, float(total.mean()) / count if not total.empty else None, "no steady-state sample")


def _database(run: RunData, rows: pd.DataFrame, found: RunMetrics) -> None:
    seen = run.observability.get(SEEN_POSTGRES_COUNTERS)
    why = seen.said if seen is not None and not seen.observed else "PostgreSQL's counters were not sampled"
    found.set(columns.COMMITS_RATE, _mean(rows, columns.COMMITS_RATE), why)
    for rate in ROW_RATES:
        found.set(rate, _mean(rows, rate), why)
    if all(rate in rows for rate in ROW_RATES):
        written = rows[list(ROW_RATES)].sum(axis=1, min_count=len(ROW_RATES)).dropna()
        found.set(DB_WRITES, float(written.mean()) if not written.empty else None, why)
    else:
        found.set(DB_WRITES, None, why)
    no_events = (
        why if found.values[columns.COMMITS_RATE] is None else "no event store in this run (only cqrs appends events)"
    )
    found.set(columns.EVENTS_RATE, _mean(rows, columns.EVENTS_RATE), no_events)


def _projection(rows: pd.DataFrame, found: RunMetrics) -> None:
    why = "the target reported no projection lag (it has no projectors)"
    for column in (columns.PROJECTION_EVENTS_BEHIND, columns.PROJECTION_SECONDS_BEHIND):
        found.set(f"{column}_mean", _mean(rows, column), why)
        found.set(f"{column}_max", _max(rows, column), why)


def _visibility(run: RunData, found: RunMetrics) -> None:
    domains = run.steady.visibility if run.steady is not None else {}
    not_visible = sum(entry.not_visible for entry in domains.values())
    histogram = merged(entry.histogram for entry in domains.values())
    seen = histogram.get_total_count()
    why = "no visibility probes in this run" if seen + not_visible == 0 else "no probe saw its write in time"
    stats = summary(histogram) if seen else None
    for stat in ("p50", "p95", "p99"):
        found.set(f"visibility_{stat}_ms", stats.stat_ms(stat) if stats is not None else None, why)
    found.set("visibility_not_visible", float(not_visible) if seen + not_visible else None, why)


def run_metrics(run: RunData) -> RunMetrics:
    found = RunMetrics(valid=run.valid, invalid_reasons=run.invalid_reasons)
    rows = run.steady_rows()
    _latency(run, found)
    _resources(run, rows, found)
    _node_share(run, rows, found)
    _database(run, rows, found)
    _projection(rows, found)
    _visibility(run, found)
    return found
