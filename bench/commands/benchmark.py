"""`bench benchmark NAME`: the benchmarks beside `bench run` (bench/benchmarks), one subcommand each.

Each prints a table or summary on standard output, its progress on standard error, and with
`--json FILE` writes the same figures as JSON. The benchmark modules are imported inside the
commands: Locust's launcher and the statistics stack would make every `bench` command slower to start.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
import msgspec
from rich.console import Console
from rich.table import Table

from bench.infra.stack import PG_DSN_ENV, REDIS_URL_ENV
from scenarios.catalog import ENDPOINTS
from targets.cqrs.settings import DEFAULT_NAMESPACE
from targets.registry import target_names

F = TypeVar("F", bound=Callable[..., Any])

console = Console(stderr=True, soft_wrap=True, highlight=False)


def json_option(func: F) -> F:
    return click.option(
        "--json",
        "json_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Also write the results to this file as JSON.",
    )(func)


def seeded_accounts_options(func: F) -> F:
    """--accounts and --deposits: the accounts a benchmark seeds through the API, and their history."""
    func = click.option(
        "--deposits",
        type=click.IntRange(0, 1_000),
        default=20,
        show_default=True,
        help="Deposits per seeded account, so statements have history.",
    )(func)
    return click.option("--accounts", type=click.IntRange(1, 1_000_000), default=1_000, show_default=True)(func)


def servers_options(func: F) -> F:
    """--pg-dsn and --redis-url: external servers, else embedded ones are started."""
    func = click.option("--redis-url", envvar=REDIS_URL_ENV, default=None)(func)
    return click.option("--pg-dsn", envvar=PG_DSN_ENV, default=None)(func)


def progress(line: str) -> None:
    """Progress goes to standard error, so that standard output holds only the results."""
    console.print(line, markup=False)


def print_table(table: Table) -> None:
    Console(width=None if sys.stdout.isatty() else 160).print(table)


def write_json(path: Path | None, results: msgspec.Struct) -> None:
    if path is not None:
        path.write_bytes(msgspec.json.format(msgspec.json.encode(results)) + b"\n")


@contextmanager
def measuring() -> Iterator[None]:
    """A benchmark that could not measure ends the command with exit code 1 and its message."""
    from bench.benchmarks.errors import BenchmarkError

    try:
        yield
    except BenchmarkError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def benchmark() -> None:
    """Benchmarks beside `bench run`, each answering one question."""


@benchmark.command("endpoints")
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
@seeded_accounts_options
@servers_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where Locust's CSVs, JSON and logs go (default: a new temporary directory).",
)
@json_option
def endpoints_command(
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
    from bench.benchmarks.endpoints import measure_endpoints, table

    out = out or Path(tempfile.mkdtemp(prefix=f"cqrsb-endpoints-{target}-"))
    with measuring():
        results = measure_endpoints(
            target,
            endpoints or ENDPOINTS,
            users=users,
            seconds=seconds,
            workers=workers,
            accounts=accounts,
            deposits=deposits,
            pg_dsn=pg_dsn,
            redis_url=redis_url,
            out=out,
            progress=progress,
        )
    print_table(table(results))
    write_json(json_path, results)
    progress(f"Locust CSVs, JSON and logs in {out}")


@benchmark.command("harness_overhead")
@click.option("--users", type=click.IntRange(1, 10_000), default=64, show_default=True)
@click.option("--processes", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--duration", type=click.FloatRange(1, 3600), default=20.0, show_default=True, help="Seconds measured.")
@click.option("--warmup", type=click.FloatRange(1, 600), default=5.0, show_default=True, help="Seconds left out.")
@click.option("--rounds", type=click.IntRange(1, 100), default=6, show_default=True)
@json_option
def harness_overhead_command(
    users: int, processes: int, duration: float, warmup: float, rounds: int, json_path: Path | None
) -> None:
    """Requests/s of the floor target under `bench run` relative to plain Locust."""
    from bench.benchmarks.harness_overhead import measure_overhead, median_line, table

    with measuring():
        overhead = measure_overhead(
            users=users, processes=processes, duration=duration, warmup=warmup, rounds=rounds, progress=progress
        )
    print_table(table(overhead))
    click.echo(median_line(overhead))
    write_json(json_path, overhead)


@benchmark.command("projection_lag")
@click.option("--seconds", type=click.FloatRange(1, 3600), default=20.0, show_default=True)
@click.option("--writers", type=click.IntRange(1, 1024), default=64, show_default=True)
@click.option("--accounts", type=click.IntRange(1, 100_000), default=1_000, show_default=True)
@click.option("--projectors", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--probe-interval-ms", type=click.IntRange(1, 10_000), default=20, show_default=True)
@servers_options
@json_option
def projection_lag_command(
    seconds: float,
    writers: int,
    accounts: int,
    projectors: int,
    workers: int,
    probe_interval_ms: int,
    pg_dsn: str | None,
    redis_url: str | None,
    json_path: Path | None,
) -> None:
    """The cqrs target's visibility window (write acknowledged -> readable) under a flood of writes."""
    from bench.benchmarks.projection_lag import lines, measure_lag

    log_dir = Path(tempfile.mkdtemp(prefix="cqrsb-lag-"))
    with measuring():
        result = measure_lag(
            seconds=seconds,
            writers=writers,
            accounts=accounts,
            projectors=projectors,
            workers=workers,
            probe_interval_ms=probe_interval_ms,
            pg_dsn=pg_dsn,
            redis_url=redis_url,
            log_dir=log_dir,
        )
    for line in lines(result):
        click.echo(line)
    progress(f"target logs in {log_dir}")
    write_json(json_path, result)


@benchmark.command("seed_events")
@click.option("--pg-dsn", envvar=PG_DSN_ENV, required=True, help=f"The cqrs target's database [env {PG_DSN_ENV}].")
@click.option("--events", "events_wanted", type=click.IntRange(13, 100_000_000), default=1_000_000, show_default=True)
@click.option("--tag", default=None, help="Makes the stream ids unique to this seeding (default: the time).")
@click.option("--redis-url", envvar=REDIS_URL_ENV, default=None, help=f"Needed by --rebuild [env {REDIS_URL_ENV}].")
@click.option("--namespace", default=DEFAULT_NAMESPACE, show_default=True, help="Redis key prefix of the read models.")
@click.option("--rebuild", "then_rebuild", is_flag=True, help="Then rebuild the read models and report events/s.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=2_000, show_default=True)
@json_option
def seed_events_command(
    pg_dsn: str,
    events_wanted: int,
    tag: str | None,
    redis_url: str | None,
    namespace: str,
    then_rebuild: bool,
    batch_size: int,
    json_path: Path | None,
) -> None:
    """Fill a cqrs event store in PostgreSQL, fast; with --rebuild, time the replay into the read models."""
    if then_rebuild and not redis_url:
        raise click.UsageError(
            f"--rebuild needs the Redis server of the read models; expected --redis-url URL (or {REDIS_URL_ENV})"
        )
    from bench.benchmarks.seed_events import fill_store, rebuild_line, seeded_line, time_rebuild

    with measuring():
        seeded = fill_store(pg_dsn, events_wanted, tag or str(time.time_ns()))
        click.echo(seeded_line(seeded))
        if then_rebuild and redis_url:
            report = time_rebuild(pg_dsn, redis_url, namespace, batch_size)
            click.echo(rebuild_line(report))
            seeded = msgspec.structs.replace(seeded, rebuild=report)
    write_json(json_path, seeded)


@benchmark.command("targets")
@click.option("--seconds", type=click.IntRange(1, 3600), default=10, show_default=True, help="Measured per row.")
@click.option(
    "--warmup", type=click.IntRange(0, 600), default=1, show_default=True, help="Seconds of load thrown away per row."
)
@click.option(
    "--connections",
    type=click.IntRange(1, 10_000),
    default=64,
    show_default=True,
    help="HTTP connections, and pgbench clients.",
)
@click.option(
    "--threads", type=click.IntRange(1, 64), default=2, show_default=True, help="wrk's and pgbench's threads."
)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="API workers per target.")
@seeded_accounts_options
@click.option("--hot", is_flag=True, help="Also deposit on one hot account, crud and cqrs.")
@click.option(
    "--generator",
    type=click.Choice(("auto", "wrk", "locust")),
    default="auto",
    show_default=True,
    help="The HTTP load generator; auto: wrk if on PATH, else Locust (which tops out near 13k req/s).",
)
@servers_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the generators' logs, scripts and the targets' logs go (default: a new temporary directory).",
)
@json_option
def targets_command(
    seconds: int,
    warmup: int,
    connections: int,
    threads: int,
    workers: int,
    accounts: int,
    deposits: int,
    hot: bool,
    generator: str,
    pg_dsn: str | None,
    redis_url: str | None,
    out: Path | None,
    json_path: Path | None,
) -> None:
    """The benchmark the targets are judged by: every endpoint of floor, crud and cqrs, pgbench, and their ratios."""
    if threads > connections:
        raise click.UsageError(f"--threads {threads}: expected at most --connections ({connections})")
    if accounts < connections:
        raise click.UsageError(
            f"--accounts {accounts}: expected at least --connections ({connections}), "
            "so that each connection and each pgbench client deposits on accounts of its own"
        )
    from bench.benchmarks.judge import Plan, measure_targets
    from bench.benchmarks.judge_table import notes, ratio_table, table

    out = out or Path(tempfile.mkdtemp(prefix="cqrsb-targets-"))
    plan = Plan(
        seconds=seconds,
        warmup=warmup,
        connections=connections,
        threads=threads,
        workers=workers,
        accounts=accounts,
        deposits=deposits,
        hot=hot,
        generator=generator,
        pg_dsn=pg_dsn,
        redis_url=redis_url,
    )
    with measuring():
        results = measure_targets(plan, out, progress=progress)
    print_table(table(results))
    print_table(ratio_table(results))
    for line in notes(results):
        click.echo(line)
    write_json(json_path, results)
    progress(f"generator logs, pgbench scripts and target logs in {out}")
    if not results.valid:
        raise click.ClickException(f"the run is invalid: {len(results.problems)} problem(s), listed above")
