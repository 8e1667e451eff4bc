"""Per-endpoint throughput and latency of a target under a short closed-loop Locust run.

    bench benchmark endpoints --target crud --endpoint get_account --endpoint deposit

Starts the infrastructure and the target (one worker by default), opens accounts with some
history through the API, then runs `scenarios/endpoint.py` headless for each endpoint in turn
and reports requests/s, p50/p99 and the CPU of the target and of Locust. A run whose generator
saturated is flagged: its latencies are Locust's, not the target's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import msgspec
from rich.table import Table

from bench.benchmarks.cpu import CpuUse
from bench.benchmarks.errors import Progress, quiet
from bench.benchmarks.launcher import LOCUST, LocustJob, run_locust
from bench.benchmarks.locust_stats import total_rate
from bench.benchmarks.serve import served
from bench.rundir.steady import Percentiles
from bench.seed.api import seed_through_api
from bench.seed.keys import write_key_file
from scenarios.catalog import ACCOUNT_KEYS, ENDPOINT_HISTOGRAM_DIR_ENV, SCENARIO_DIR
from scenarios.hdr import new_histogram, summary
from targets.common.dataset import Dataset, SeedSpec

LOCUSTFILE = SCENARIO_DIR / "endpoint.py"
TARGET = "target"


class EndpointResult(msgspec.Struct, frozen=True):
    endpoint: str
    requests: int
    failures: int
    requests_per_second: float
    latency: Percentiles  # scenarios.hdr.summary: count, mean_ms, p50_ms ... max_ms
    target_cpu: CpuUse
    generator_cpu: CpuUse
    generator_saturated: bool


class EndpointResults(msgspec.Struct, frozen=True):
    target: str
    workers: int
    users: int
    seconds: float
    endpoints: list[EndpointResult]


def measure(
    base_url: str, endpoint: str, keys: Path, *, users: int, seconds: float, out: Path, target_pid: int
) -> EndpointResult:
    job = LocustJob(
        LOCUSTFILE,
        host=base_url,
        users=users,
        seconds=seconds,
        name=endpoint,
        env={"BENCH_ENDPOINT": endpoint, "BENCH_KEYS_FILE": str(keys)},
        histogram_dir_env=ENDPOINT_HISTOGRAM_DIR_ENV,
    )
    outcome = run_locust(job, out, watch={TARGET: [target_pid]})
    return EndpointResult(
        endpoint=endpoint,
        requests=sum(entry.num_requests for entry in outcome.entries),
        failures=sum(entry.num_failures for entry in outcome.entries),
        requests_per_second=total_rate(outcome.entries),
        latency=outcome.latency or summary(new_histogram()),
        target_cpu=outcome.cpu[TARGET],
        generator_cpu=outcome.cpu[LOCUST],
        generator_saturated=outcome.saturated,
    )


def table(results: EndpointResults) -> Table:
    shown = Table(
        title=f"{results.target}: {results.users} users, no think time, {results.seconds:g} s, "
        f"{results.workers} worker(s)"
    )
    columns = ("endpoint", "requests", "failures", "req/s", "p50 ms", "p99 ms", "target CPU%", "locust CPU% mean/max")
    for column in (*columns, "generator"):
        shown.add_column(column, justify="left" if column == "endpoint" else "right")
    for r in results.endpoints:
        shown.add_row(
            r.endpoint,
            str(r.requests),
            str(r.failures),
            f"{r.requests_per_second:,.0f}",
            f"{r.latency.p50_ms:g}",
            f"{r.latency.p99_ms:g}",
            f"{r.target_cpu.mean_percent:.0f}",
            f"{r.generator_cpu.mean_percent:.0f}/{r.generator_cpu.max_percent:.0f}",
            "SATURATED" if r.generator_saturated else "ok",
        )
    return shown


def measure_endpoints(
    target: str,
    endpoints: Sequence[str],
    *,
    users: int,
    seconds: float,
    workers: int,
    accounts: int,
    deposits: int,
    pg_dsn: str | None,
    redis_url: str | None,
    out: Path,
    progress: Progress = quiet,
) -> EndpointResults:
    """Each of `endpoints` alone on `target` (started on servers of its own), in order; Locust's files go into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    measured = []
    with served(target, log_dir=out, pg_dsn=pg_dsn, redis_url=redis_url, workers=workers) as started:
        running = started.target
        progress(f"seeding {accounts} accounts x {deposits} deposits into {target} ...")
        seeded = asyncio.run(seed_through_api(running.base_url, Dataset(SeedSpec(accounts, deposits + 1, 1, 0, 1))))
        keys = out / ACCOUNT_KEYS
        write_key_file(keys, seeded.account_ids)
        for endpoint in endpoints:
            progress(f"{endpoint}: {users} users, {seconds:g} s ...")
            measured.append(
                measure(
                    running.base_url,
                    endpoint,
                    keys,
                    users=users,
                    seconds=seconds,
                    out=out,
                    target_pid=running.process.pid,
                )
            )
    return EndpointResults(target, workers, users, seconds, measured)
