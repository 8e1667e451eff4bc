"""Options several commands share: servers, the size of the seeded data set, where runs go."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bench.infra.stack import PG_DSN_ENV, REDIS_URL_ENV
from bench.seed.sizes import API_SIZES, DATABASE_SIZES

F = TypeVar("F", bound=Callable[..., Any])

RUNS_OUT = Path("reports") / "runs"  # the default --out of the commands that write run directories
SIZE_HELP = {
    "accounts": "Accounts to seed.",
    "entries": "Ledger entries per account, the opening deposit included.",
    "customers": "Customers the seeded orders belong to.",
    "orders": "Orders to seed.",
}


def server_options(func: F) -> F:
    func = click.option(
        "--redis-url",
        envvar=REDIS_URL_ENV,
        default=None,
        help=f"Use this Redis server instead of an embedded one [env {REDIS_URL_ENV}].",
    )(func)
    return click.option(
        "--pg-dsn",
        envvar=PG_DSN_ENV,
        default=None,
        help=f"Use this PostgreSQL server instead of an embedded one [env {PG_DSN_ENV}].",
    )(func)


def seed_options(func: F) -> F:
    for name in reversed(DATABASE_SIZES):
        func = click.option(
            f"--{name}",
            type=click.IntRange(1, 100_000_000),
            default=None,
            help=f"{SIZE_HELP[name]} [default: {DATABASE_SIZES[name]:,}; through an API: {API_SIZES[name]:,}]",
        )(func)
    return click.option(
        "--seed", type=int, default=1, show_default=True, help="Seed of the data set and of the users' choices."
    )(func)
