"""The columns of every CSV file of a run directory, and how timeseries.csv names its derived columns."""

from __future__ import annotations

from enum import StrEnum

SECOND = "second"


class Component(StrEnum):
    """The parts of a run whose processes are sampled (samples/processes.csv's component column)."""

    TARGET = "target"  # the target's API workers
    PROJECTORS = "projectors"  # the target's companion processes
    QUERY = "query"  # the target's query workers (--query-workers), when its query side runs apart
    POSTGRES = "postgres"
    REDIS = "redis"
    GENERATOR = "generator"  # Locust
    HARNESS = "harness"  # `bench` itself


# The node: the service's own processes, whose memory the headline's "memory / node" sums.
NODE_COMPONENTS = (Component.TARGET, Component.QUERY, Component.PROJECTORS)


class Resource(StrEnum):
    """What timeseries.csv holds per component and second: `<component>_<resource>`."""

    CPU = "cpu_percent"  # percent of one core
    RSS = "rss_mib"
    USS = "uss_mib"
    PSS = "pss_mib"


def resource_column(component: Component, resource: Resource) -> str:
    return f"{component.value}_{resource.value}"


PERCENTILES = ("mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms")
INTENDED = ("intended_p50_ms", "intended_p99_ms", "intended_max_ms")

LATENCY = (SECOND, "endpoint", "requests", "failures", *PERCENTILES, *INTENDED)
INTERVALS = (SECOND, "kind", "name", "count", "histogram")
FAILURES = (SECOND, "endpoint", "kind", "count")
VISIBILITY = (SECOND, "domain", "probes", "not_visible", *PERCENTILES)
ACTION_COUNT = "actions"
ACTIONS = (SECOND, ACTION_COUNT)
LOOP_LAG = (SECOND, "worker", "lag_max_ms", "lag_mean_ms", "cpu_percent", "gc_pause_ms", "gc_full")
# The loop-lag probe wakes this often: a stall shorter than this between two of its wake-ups goes unseen,
# so a greenlet may have woken up to the worst lag measured plus this late.
LOOP_LAG_PERIOD_S = 0.1
USERS = (SECOND, "users")

PROCESSES = (SECOND, "component", "processes", "cpu_percent", "rss_bytes", "uss_bytes", "pss_bytes")
GENERATOR = (SECOND, "pid", "role", "cpu_percent")
PROJECTION_LAG = (SECOND, "events_behind", "seconds_behind")
# PostgreSQL's cumulative counters (samples/postgres.csv) and the per-second rates timeseries.csv makes of them.
POSTGRES_RATES = {
    "xact_commit": "commits_per_s",
    "xact_rollback": "rollbacks_per_s",
    "tup_inserted": "tuples_inserted_per_s",
    "tup_updated": "tuples_updated_per_s",
    "tup_deleted": "tuples_deleted_per_s",
    "events_inserted": "events_appended_per_s",
}
POSTGRES_COUNTERS = (
    "xact_commit",
    "xact_rollback",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
    "tup_returned",
    "tup_fetched",
    "events_inserted",
)
POSTGRES = (SECOND, *POSTGRES_COUNTERS)
ROWS_WRITTEN_RATES = ("tuples_inserted_per_s", "tuples_updated_per_s", "tuples_deleted_per_s")
COMMITS_RATE = "commits_per_s"
EVENTS_RATE = "events_appended_per_s"


class GeneratorRole(StrEnum):
    LOCAL = "local"  # a single Locust process
    MASTER = "master"
    WORKER = "worker"


# timeseries.csv's own columns besides those above.
ELAPSED = "elapsed_s"
PHASE = "phase"
PROJECTION_EVENTS_BEHIND = "projection_events_behind"
PROJECTION_SECONDS_BEHIND = "projection_seconds_behind"
GENERATOR_CPU_MAX = "generator_cpu_max"
LOOP_LAG_MAX = "loop_lag_max_ms"


def visibility_column(domain: str, measure: str) -> str:
    return f"visibility_{domain}_{measure}"
