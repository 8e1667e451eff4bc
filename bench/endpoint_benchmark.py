"""Per-endpoint throughput and latency of a target under a short closed-loop Locust run.

    python -m bench.endpoint_benchmark --target crud --endpoint get_account --endpoint deposit

Starts the infrastructure and the target (one worker by default), opens
accounts with some history through the API, then runs `scenarios/endpoint.py`
headless for each endpoint and prints requests/s and Locust's p50/p99. A
generator that reported CPU saturation is flagged: its latencies are not the
target's.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from bench.infra.processes import stop_process_tree
from bench.infra.stack import PG_DSN_ENV, REDIS_URL_ENV, Infrastructure
from bench.infra.target_process import server_settings, start_target
from bench.run.collectors.processes import ProcessTreeSampler
from bench.run.validity import GENERATOR_CPU_LIMIT
from bench.seed.api import seed_through_api
from bench.seed.keys import write_key_file
from scenarios.catalog import ENDPOINTS
from targets.common.dataset import Dataset, SeedSpec
from targets.registry import get_target, target_names

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "endpoint.py"
GENERATOR_SATURATED = "CPU usage above 90%"


@dataclass(frozen=True)
class EndpointResult:
    endpoint: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p99_ms: float
    generator_cpu_mean: float
    generator_cpu_max: float
    target_cpu_mean: float
    generator_saturated: bool


def run_locust(
    base_url: str, endpoint: str, keys_file: Path, *, users: int, seconds: int, out_dir: Path, target_pid: int
) -> EndpointResult:
    prefix = out_dir / endpoint
    env = {"BENCH_ENDPOINT": endpoint, "BENCH_KEYS_FILE": str(keys_file)}
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(SCENARIO),
        "--headless",
        "--host",
        base_url,
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "5",
    ]
    log_path = out_dir / f"{endpoint}.log"
    with log_path.open("w") as log:
        locust = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env})
        generator = ProcessTreeSampler([locust.pid], memory=False)
        target = ProcessTreeSampler([target_pid], memory=False)
        deadline = time.monotonic() + seconds + 120
        try:
            while locust.poll() is None:
                if time.monotonic() > deadline:
                    raise click.ClickException(f"locust did not finish {endpoint} in time; see {log_path}")
                generator.sample()
                target.sample()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    locust.wait(timeout=1.0)  # the sampling period; returns early when locust exits
        finally:
            stop_process_tree(locust)
    stats_path = Path(f"{prefix}_stats.csv")
    if not stats_path.exists():
        raise click.ClickException(f"locust wrote no statistics for {endpoint}; see {log_path}")
    with stats_path.open() as stats:
        aggregated = next(row for row in csv.DictReader(stats) if row["Name"] == "Aggregated")
    steady = generator.cpu_history[2:-1] or generator.cpu_history  # leave out spawning and shutdown
    return EndpointResult(
        endpoint=endpoint,
        requests=int(aggregated["Request Count"]),
        failures=int(aggregated["Failure Count"]),
        rps=float(aggregated["Requests/s"]),
        p50_ms=float(aggregated["50%"]),
        p99_ms=float(aggregated["99%"]),
        generator_cpu_mean=statistics.fmean(steady) if steady else 0.0,
        generator_cpu_max=max(steady, default=0.0),
        target_cpu_mean=statistics.fmean(target.cpu_history[2:-1] or target.cpu_history or [0.0]),
        generator_saturated=max(steady, default=0.0) > GENERATOR_CPU_LIMIT
        or GENERATOR_SATURATED in log_path.read_text(),
    )


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
@click.option("--seconds", type=click.IntRange(5, 3600), default=30, show_default=True)
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
    help="Where Locust's CSVs and logs go (default: a new temporary directory).",
)
def main(
    target: str,
    endpoints: tuple[str, ...],
    users: int,
    seconds: int,
    workers: int,
    accounts: int,
    deposits: int,
    pg_dsn: str | None,
    redis_url: str | None,
    out: Path | None,
) -> None:
    spec = get_target(target)
    out = out or Path(tempfile.mkdtemp(prefix=f"cqrsb-endpoints-{target}-"))
    out.mkdir(parents=True, exist_ok=True)
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    with Infrastructure(
        pg_dsn=pg_dsn or None,
        redis_url=redis_url or None,
        need_postgres=spec.needs_postgres,
        need_redis=spec.needs_redis,
    ) as infra:
        settings = server_settings(infra.database_dsn, infra.redis_url)
        running = start_target(spec, settings_env=settings, log_dir=out, workers=workers)
        try:
            console.print(f"seeding {accounts} accounts x {deposits} deposits into {target} ...")
            keys_file = out / "accounts.txt"
            seeded = asyncio.run(seed_through_api(running.base_url, Dataset(SeedSpec(accounts, deposits + 1, 1, 0, 1))))
            write_key_file(keys_file, seeded.account_ids)
            results = []
            for endpoint in endpoints or ENDPOINTS:
                console.print(f"{endpoint}: {users} users, {seconds} s ...")
                results.append(
                    run_locust(
                        running.base_url,
                        endpoint,
                        keys_file,
                        users=users,
                        seconds=seconds,
                        out_dir=out,
                        target_pid=running.process.pid,
                    )
                )
        finally:
            running.stop()
    table = Table(title=f"{target}: {users} users, no think time, {seconds} s, {workers} worker(s)")
    columns = (
        "endpoint",
        "requests",
        "failures",
        "req/s",
        "p50 ms",
        "p99 ms",
        "target CPU%",
        "locust CPU% mean/max",
        "generator",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for r in results:
        table.add_row(
            r.endpoint,
            str(r.requests),
            str(r.failures),
            f"{r.rps:,.0f}",
            f"{r.p50_ms:g}",
            f"{r.p99_ms:g}",
            f"{r.target_cpu_mean:.0f}",
            f"{r.generator_cpu_mean:.0f}/{r.generator_cpu_max:.0f}",
            "SATURATED" if r.generator_saturated else "ok",
        )
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    console.print(f"Locust CSVs and logs in {out}")


if __name__ == "__main__":
    main()
