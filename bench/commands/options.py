"""Options several commands share: servers, the size of the seeded data set, where runs go."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bench.commands.params import CpuList
from bench.infra.cpus import CpuRequest, PlacementError
from bench.infra.stack import PG_DSN_ENV, REDIS_URL_ENV
from bench.seed.sizes import API_SIZES, DATABASE_SIZES
from targets.registry import query_side_targets

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


def query_workers_option(func: F) -> F:
    return click.option(
        "--query-workers",
        type=click.IntRange(0, 64),
        default=0,
        show_default=True,
        help="Processes that serve the target's reads apart from its API workers, on a port of their own; "
        "the scenarios send reads there (cqrs only; 0: the API workers serve them).",
    )(func)


def check_query_workers(query_workers: int, target: str | None) -> int:
    """`query_workers`, or a usage error (exit 2) when the target has no query side of its own."""
    if query_workers and target not in query_side_targets():
        raise click.BadParameter(
            f"{query_workers}: expected 0 for {target or 'an external --host'}, whose query side does not run "
            f"apart (only {', '.join(query_side_targets())} has one)",
            param_hint="--query-workers",
        )
    return query_workers


def placement_options(func: F) -> F:
    """--node-cpus, --generator-cpus, --co-located: where the system under test and the load generator run."""
    func = click.option(
        "--co-located",
        is_flag=True,
        help="Pin nothing: the node's processes and the load generator share every CPU.",
    )(func)
    func = click.option(
        "--generator-cpus",
        type=CpuList(),
        default=None,
        help="CPUs of the load generator (every Locust process), e.g. 0 [default: the usable CPUs the node "
        "does not take, or the lowest quarter of them].",
    )(func)
    return click.option(
        "--node-cpus",
        type=CpuList(),
        default=None,
        help="CPUs of the node: API workers, projectors, embedded PostgreSQL and Redis, e.g. 1 or 2-3 "
        "[default: the usable CPUs the generator does not take].",
    )(func)


def cpu_request(
    node_cpus: frozenset[int] | None, generator_cpus: frozenset[int] | None, co_located: bool
) -> CpuRequest:
    """The placement the options ask for, checked against the CPUs this process may use."""
    request = CpuRequest(node=node_cpus, generator=generator_cpus, co_located=co_located)
    checked(request)
    return request


def checked(request: CpuRequest) -> CpuRequest:
    """`request` (the options over an experiment file's [node] and [generator]), or a usage error saying why not."""
    try:
        request.check()
    except PlacementError as error:
        raise click.UsageError(str(error)) from None
    return request
