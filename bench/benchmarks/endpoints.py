"""Per-endpoint throughput and latency of a target under a short closed-loop Locust run.

    python -m bench.benchmarks endpoints --target crud --endpoint get_account --endpoint deposit

Starts the infrastructure and the target (one worker by default), opens accounts with some
history through the API, then runs `scenarios/endpoint.py` headless for each endpoint in turn
and reports requests/s, p50/p99 and the CPU of the target and of Locust. A run whose generator
saturated is flagged: its latencies are Locust's, not the target's.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import click
import msgspec
from rich.table import Table

from bench.benchmarks.cpu import CpuUse
from bench.benchmarks.launcher import LOCUST, LocustJob, run_locust
from bench.benchmarks.locust_stats import total_rate
from bench.benchmarks.output import JSON_OPTION, print_table, progress, write_json
from bench.benchmarks.serve import served_target
from bench.infra.stack import PG_DSN_ENV, REDIS_URL_ENV
from bench.rundir.steady import Percentiles
from bench.seed.api import seed_through_api
from bench.seed.keys import write_key_file
from scenarios.catalog import ACCOUNT_KEYS, ENDPOINT_HISTOGRAM_DIR_ENV, ENDPOINTS, SCENARIO_DIR
from scenarios.hdr import new_histogram, summary
from targets.common.dataset import Dataset, SeedSpec
from targets.registry import target_names

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


@click.command()
@click.option("--target", type=click.Choice(target_names()), required=True)
@click.option(
    "--endpoint",
    "endpoints",
    type=click.Choice(ENDPOINTS),
    multiple=True,
    help="Endpoints to measure, in order (default: all).",
)
@click.option("--users", type=click.IntRange(1, 10_000), default=64, show_default=True)
@click.option("--seconds", type=click.FloatRange(1, 3600), default=30.0, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--accounts", type=click.IntRange(1, 1_000_000), default=1_000, show_default=True)
@click.option(
    "--deposits",
    type=click.IntRange(0, 1_000),
    default=20,
    show_default=True,
    help="Deposits per seeded account, so statements have history.",
)
@click.option("--pg-dsn", envvar=PG_DSN_ENV, default=None)
@click.option("--redis-url", envvar=REDIS_URL_ENV, default=None)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where Locust's CSVs, JSON and logs go (default: a new temporary directory).",
)
@JSON_OPTION
def main(
    target: str,
    endpoints: tuple[str, ...],
    users: int,
    seconds: float,
    workers: int,
    accounts: int,
    deposits: int,
    pg_dsn: str | None,
    redis_url: str | None,
    out: Path | None,
    json_path: Path | None,
) -> None:
    """Requests/s and latency of each endpoint alone, closed loop, no think time."""
    out = out or Path(tempfile.mkdtemp(prefix=f"cqrsb-endpoints-{target}-"))
    out.mkdir(parents=True, exist_ok=True)
    console = progress()
    measured = []
    with served_target(target, log_dir=out, pg_dsn=pg_dsn, redis_url=redis_url, workers=workers) as running:
        console.print(f"seeding {accounts} accounts x {deposits} deposits into {target} ...")
        seeded = asyncio.run(seed_through_api(running.base_url, Dataset(SeedSpec(accounts, deposits + 1, 1, 0, 1))))
        keys = out / ACCOUNT_KEYS
        write_key_file(keys, seeded.account_ids)
        for endpoint in endpoints or ENDPOINTS:
            console.print(f"{endpoint}: {users} users, {seconds:g} s ...")
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
    results = EndpointResults(target, workers, users, seconds, measured)
    print_table(table(results))
    write_json(json_path, results)
    console.print(f"Locust CSVs, JSON and logs in {out}")
