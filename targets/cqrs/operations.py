"""Operator jobs on an existing CQRS store, for the `bench rebuild` and `bench history` commands."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg
import redis.asyncio as redis

from targets.common.errors import NotFound
from targets.cqrs.connections import redis_client
from targets.cqrs.eventstore import EventStore, init_connection
from targets.cqrs.fold import AccountView
from targets.cqrs.history import AsOf, History, stream_history
from targets.cqrs.queries import QuerySide
from targets.cqrs.readmodels import Namespace, ReadModelWriter
from targets.cqrs.rebuild import RebuildReport, rebuild
from targets.cqrs.waiter import AppliedVersions


class CqrsOperations:
    def __init__(self, pool: asyncpg.Pool, client: redis.Redis | None, namespace: Namespace) -> None:
        self.pool = pool
        self.client = client
        self.namespace = namespace

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, pg_dsn: str, redis_url: str | None, namespace: str) -> AsyncIterator[CqrsOperations]:
        # Two connections: a rebuild reads the next batch on one while filling gaps on the other.
        pool = await asyncpg.create_pool(pg_dsn, min_size=2, max_size=2, init=init_connection)
        client = redis_client(redis_url, max_connections=4) if redis_url else None
        try:
            yield cls(pool, client, Namespace(namespace))
        finally:
            if client is not None:
                await client.aclose()
            await pool.close()

    def _client(self) -> redis.Redis:
        if self.client is None:
            raise ValueError("this job needs the Redis URL of the read models")
        return self.client

    async def rebuild(self, batch_size: int, progress: Callable[[int], None] | None = None) -> RebuildReport:
        store = EventStore(self.pool)
        writer = ReadModelWriter(self._client(), self.namespace)
        return await rebuild(store, writer, batch_size=batch_size, progress=progress)

    async def history(self, stream_id: uuid.UUID, as_of: AsOf | None) -> tuple[History, int | None]:
        """The stream's history, and the version its read model has now (None without Redis or read model)."""
        found = await stream_history(EventStore(self.pool), stream_id, as_of)
        if self.client is None or found.state is None:
            return found, None
        queries = QuerySide(self.client, self.namespace, AppliedVersions(self.client, self.namespace.channel), 0)
        try:
            if isinstance(found.state, AccountView):
                return found, (await queries.account(stream_id, None)).value.version
            return found, (await queries.order(stream_id, None)).value.version
        except NotFound:
            return found, None
