"""Connections to PostgreSQL (jsonb as raw bytes) and Redis (bytes in and out), made the same way everywhere."""

from __future__ import annotations

import asyncpg
import redis.asyncio as redis

from targets.common.pg_pool import keep_session
from targets.cqrs.eventstore import apply_schema, init_connection


async def connect_postgres(dsn: str, *, schema: bool = False) -> asyncpg.Connection[asyncpg.Record]:
    connection: asyncpg.Connection[asyncpg.Record] = await asyncpg.connect(dsn)
    await init_connection(connection)
    if schema:
        await apply_schema(connection)
    return connection


async def postgres_pool(dsn: str, size: int) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=size, max_size=size, init=init_connection, reset=keep_session)
    async with pool.acquire() as connection:
        await apply_schema(connection)
    return pool


def redis_client(url: str, *, max_connections: int = 64) -> redis.Redis:
    """A client whose pool waits for a free connection instead of opening ever more under load."""
    pool = redis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=30)
    return redis.Redis(connection_pool=pool)
