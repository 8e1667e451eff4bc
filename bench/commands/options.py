"""Options several commands share: servers, and the size of the seeded data set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from bench.infra.stack import PG_DSN_ENV, REDIS_URL_ENV
from targets.common.dataset import SeedSpec

F = TypeVar("F", bound=Callable[..., Any])

# Statements over hundreds of entries and dashboards over dozens of orders: the heavy reads
# are heavy. About 1.2 million rows; seeded in under 10 s into the embedded PostgreSQL.
DATABASE_SIZES = {"accounts": 5_000, "entries": 200, "customers": 1_000, "orders": 50_000}
# Seeding through an HTTP API costs a request per entry: smaller unless asked otherwise.
API_SIZES = {"accounts": 1_000, "entries": 10, "customers": 200, "orders": 2_000}
SIZE_HELP = {
    "accounts": "Accounts to seed.",
    "entries": "Ledger entries per account, the opening deposit included.",
    "customers": "Customers the seeded orders belong to.",
    "orders": "Orders to seed.",
}


def server_options(func: F) -> F:
    func = click.option(
        "--redis-url", envvar=REDIS_URL_ENV, default=None,
        help=f"Use this Redis server instead of an embedded one [env {REDIS_URL_ENV}].",
    )(func)  # fmt: skip
    return click.option(
        "--pg-dsn", envvar=PG_DSN_ENV, default=None,
        help=f"Use this PostgreSQL server instead of an embedded one [env {PG_DSN_ENV}].",
    )(func)  # fmt: skip


def seed_options(func: F) -> F:
    for name in reversed(DATABASE_SIZES):
        func = click.option(
            f"--{name}", type=click.IntRange(1, 100_000_000), default=None,
            help=f"{SIZE_HELP[name]} [default: {DATABASE_SIZES[name]:,}; through an API: {API_SIZES[name]:,}]",
        )(func)  # fmt: skip
    return click.option(
        "--seed", type=int, default=1, show_default=True, help="Seed of the data set and of the users' choices."
    )(func)


def seed_spec(sizes: dict[str, int | None], seed: int, *, through_api: bool) -> SeedSpec:
    """The data set asked for; sizes not given take the database or the API defaults."""
    defaults = API_SIZES if through_api else DATABASE_SIZES
    chosen = {name: given if given is not None else defaults[name] for name, given in sizes.items()}
    return SeedSpec(chosen["accounts"], chosen["entries"], chosen["customers"], chosen["orders"], seed)
