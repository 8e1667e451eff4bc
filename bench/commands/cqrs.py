"""Operations on the cqrs target's event store: `bench rebuild` and `bench history` (time travel)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import click
import redis
from rich.console import Console

from bench.infra.stack import PG_DSN_ENV, REDIS_URL_ENV
from targets.common.settings import SettingsError
from targets.cqrs.history import AsOf, history_json, history_text, parse_as_of
from targets.cqrs.operations import CqrsOperations
from targets.cqrs.rebuild import DEFAULT_BATCH_SIZE, NoEventStore
from targets.cqrs.settings import DEFAULT_NAMESPACE, READ_STORE_KEY, READ_STORES, ReadStore, check_namespace

T = TypeVar("T")

console = Console(stderr=True, soft_wrap=True, highlight=False)


def _uuid(ctx: click.Context, param: click.Parameter, value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise click.BadParameter(f"expected a stream id (a UUID), got {value!r}") from None


def _as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> AsOf | None:
    if value is None:
        return None
    try:
        return parse_as_of(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _namespace(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return check_namespace(value, "--namespace")
    except SettingsError as exc:
        raise click.BadParameter(str(exc)) from None


_store_pg_dsn = click.option(
    "--pg-dsn",
    envvar=PG_DSN_ENV,
    required=True,
    help=f"The cqrs target's database, e.g. the one `bench up --target cqrs` printed [env {PG_DSN_ENV}].",
)
_namespace_option = click.option(
    "--namespace",
    envvar="BENCH_CQRS_NAMESPACE",
    default=DEFAULT_NAMESPACE,
    show_default=True,
    callback=_namespace,
    help="Prefix of the target's Redis keys [env BENCH_CQRS_NAMESPACE].",
)
_read_store_option = click.option(
    "--read-store",
    envvar=READ_STORE_KEY,
    type=click.Choice(READ_STORES),
    default="redis",
    show_default=True,
    help=f"Where the target keeps its read models: Redis, or tables in its PostgreSQL [env {READ_STORE_KEY}].",
)


@click.command()
@_store_pg_dsn
@click.option(
    "--redis-url",
    envvar=REDIS_URL_ENV,
    default=None,
    help=f"The Redis holding the cqrs target's read models; required with --read-store redis [env {REDIS_URL_ENV}].",
)
@_namespace_option
@_read_store_option
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Events per read and per Lua script call.",
)
def rebuild(pg_dsn: str, redis_url: str | None, namespace: str, read_store: ReadStore, batch_size: int) -> None:
    """Replay the whole event store into fresh read models and switch the cqrs target over to them."""
    if read_store == "redis" and not redis_url:
        raise click.UsageError("Missing option '--redis-url': the Redis read store needs it (or --read-store postgres)")

    reported = 0

    def progress(events: int) -> None:
        nonlocal reported
        if events // 100_000 > reported // 100_000:
            console.print(f"replayed {events:,} events")
            reported = events

    report = asyncio.run(
        _cqrs_call(pg_dsn, redis_url, namespace, read_store, lambda ops: ops.rebuild(batch_size, progress))
    )
    outcome = (
        f"switched from generation {report.previous_generation}"
        if report.switched
        else "not switched: a newer rebuild switched first"
    )
    print(
        f"rebuilt generation {report.generation} from {report.events:,} events in {report.seconds:.2f} s: "
        f"{report.events_per_second:,.0f} events/s; {outcome}; {report.dropped_keys:,} old keys (rows) deleted",
        flush=True,
    )


@click.command()
@click.argument("stream_id", callback=_uuid)
@click.option(
    "--as-of",
    callback=_as_of,
    default=None,
    metavar="POSITION|TIMESTAMP",
    help="Only events up to this global position or this ISO 8601 time (UTC unless the offset is given).",
)
@_store_pg_dsn
@click.option(
    "--redis-url",
    envvar=REDIS_URL_ENV,
    default=None,
    help=f"Also show the version the Redis read model has now [env {REDIS_URL_ENV}].",
)
@_namespace_option
@_read_store_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")
def history(
    stream_id: uuid.UUID,
    as_of: AsOf | None,
    pg_dsn: str,
    redis_url: str | None,
    namespace: str,
    read_store: ReadStore,
    as_json: bool,
) -> None:
    """Print a stream's events and its state at that point (time travel)."""
    found, read_model_version = asyncio.run(
        _cqrs_call(pg_dsn, redis_url, namespace, read_store, lambda ops: ops.history(stream_id, as_of))
    )
    if as_json:
        print(history_json(found).decode(), flush=True)
    else:
        print(history_text(found), flush=True)
        if read_model_version is not None:
            print(f"read model now: version {read_model_version}", flush=True)
    if not found.events:
        point = "" if as_of is None else f" at or before {as_of}"
        raise click.ClickException(f"stream {stream_id} has no events{point}")


async def _cqrs_call(
    pg_dsn: str,
    redis_url: str | None,
    namespace: str,
    read_store: ReadStore,
    call: Callable[[CqrsOperations], Awaitable[T]],
) -> T:
    try:
        async with CqrsOperations.connect(pg_dsn, redis_url, namespace, read_store) as operations:
            return await call(operations)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, redis.RedisError, NoEventStore) as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
