"""`bench seed`: load the data set into a target's database (or a throw-away one) and write its key files."""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import click
from rich.console import Console

from bench.commands.options import seed_options, server_options
from bench.infra.signals import sigterm_exits
from bench.infra.stack import Infrastructure
from bench.run.progress import RunProgress
from bench.seed.load import SeedReport, seed_target
from bench.seed.sizes import seed_spec
from targets.common.seeding import SeedPlace
from targets.cqrs.settings import DEFAULT_NAMESPACE, CqrsSettings
from targets.registry import get_target, target_names

console = Console(stderr=True, highlight=False)


def _report(report: SeedReport, where: str) -> None:
    rows = ", ".join(f"{count:,} {table}" for table, count in report.rows.items()) or "no rows (keys only)"
    console.print(f"seeded {where}: {rows} in {report.seconds:.1f} s")


@click.command()
@click.option("--target", type=click.Choice(target_names()), required=True, help="Whose data layout to load.")
@seed_options
@server_options
@click.option(
    "--namespace",
    envvar="BENCH_CQRS_NAMESPACE",
    default=DEFAULT_NAMESPACE,
    show_default=True,
    help="cqrs: prefix of the target's Redis keys [env BENCH_CQRS_NAMESPACE].",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for the key files (accounts.txt, customers.txt, orders.txt).",
)
def seed(
    target: str,
    seed: int,
    accounts: int | None,
    entries: int | None,
    customers: int | None,
    orders: int | None,
    pg_dsn: str | None,
    redis_url: str | None,
    namespace: str,
    out: Path,
) -> None:
    """Load N accounts with M ledger entries each, and K orders, identically for every target.

    With --pg-dsn the data goes into that database (its tables must be empty) and stays there,
    ready for `bench run --host URL --keys OUT`. Without it, into a throw-away embedded
    PostgreSQL (and Redis for cqrs), which shows how long seeding takes. Prints the key directory.
    """
    spec = seed_spec(
        {"accounts": accounts, "entries": entries, "customers": customers, "orders": orders}, seed, through_api=False
    )
    needs = get_target(target)
    env = replace(CqrsSettings.from_env(), namespace=namespace).to_env()
    uses_redis = needs.uses_redis({**os.environ, **env})
    if pg_dsn and uses_redis and not redis_url:
        raise click.UsageError(f"seeding {target} into --pg-dsn also needs --redis-url for its read models")
    with ExitStack() as stack, RunProgress(console) as progress:
        stack.enter_context(sigterm_exits())
        if not needs.needs_postgres:
            place, where = SeedPlace(), "no database (the target keeps no data)"
        elif pg_dsn:
            place, where = SeedPlace(pg_dsn, redis_url or None, env), "the given database"
        else:
            infra = stack.enter_context(
                Infrastructure(pg_dsn=None, redis_url=None, need_postgres=True, need_redis=uses_redis)
            )
            place, where = SeedPlace(infra.database_dsn, infra.redis_url, env), "a throw-away embedded PostgreSQL"
        report = seed_target(target, spec, keys_dir=out, place=place, progress=progress.seeding)
    _report(report, where)
    print(out.resolve(), flush=True)
