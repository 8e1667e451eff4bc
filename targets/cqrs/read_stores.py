"""Opening the read store BENCH_CQRS_READ_STORE names: its writer, its reader and its announcements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from targets.common.pg_pool import keep_session
from targets.cqrs.connections import redis_client
from targets.cqrs.pg_readmodels import PgReadModelWriter, apply_read_schema
from targets.cqrs.pg_reads import PgAnnouncements, PgReader
from targets.cqrs.readmodels import Namespace, RedisReadModelWriter
from targets.cqrs.readstore import Announcements, ReadModelReader, ReadModelWriter
from targets.cqrs.redis_reads import RedisAnnouncements, RedisReader
from targets.cqrs.settings import ReadStore


class NoRedisUrl(ValueError):
    pass


@dataclass(frozen=True)
class OpenReadStore:
    kind: ReadStore
    writer: ReadModelWriter[Any]
    reader: ReadModelReader
    announcements: Announcements
    close: Callable[[], Awaitable[None]]


async def open_read_store(
    kind: ReadStore,
    *,
    pg_dsn: str,
    redis_url: str | None,
    namespace: str,
    connections: int,
) -> OpenReadStore:
    """The read store `kind`, with up to `connections` connections to it (the LISTEN one apart).
    Redis: under `namespace` at `redis_url`; PostgreSQL: tables in the event store's database `pg_dsn`."""
    if kind == "redis":
        if redis_url is None:
            raise NoRedisUrl("the Redis read store needs a Redis URL (BENCH_REDIS_URL, --redis-url)")
        client = redis_client(redis_url, max_connections=connections)
        names = Namespace(namespace)
        writer = RedisReadModelWriter(client, names)
        return OpenReadStore(
            kind, writer, RedisReader(client, names), RedisAnnouncements(client, names.channel), client.aclose
        )
    pool = await asyncpg.create_pool(pg_dsn, min_size=1, max_size=connections, reset=keep_session)
    try:
        async with pool.acquire() as connection:
            await apply_read_schema(connection)
    except BaseException:
        await pool.close()
        raise
    return OpenReadStore(kind, PgReadModelWriter(pool), PgReader(pool), PgAnnouncements(pg_dsn), pool.close)
