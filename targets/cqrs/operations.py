"""Operator jobs on an existing CQRS store, for the `bench rebuild` and `bench history` commands."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

import asyncpg

from targets.common.errors import NotFound
from targets.common.pg_pool import keep_session
from targets.cqrs.eventstore import EventStore, init_connection
from targets.cqrs.fold import AccountView
from targets.cqrs.history import AsOf, History, stream_history
from targets.cqrs.queries import QuerySide
from targets.cqrs.read_stores import OpenReadStore, open_read_store
from targets.cqrs.rebuild import RebuildReport, rebuild
from targets.cqrs.settings import ReadStore
from targets.cqrs.waiter import AppliedVersions


class CqrsOperations:
    def __init__(self, pool: asyncpg.Pool, read_store: OpenReadStore | None) -> None:
        self.pool = pool
        self.read_store = read_store

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, pg_dsn: str, redis_url: str | None, namespace: str, read_store: ReadStore = "redis"
    ) -> AsyncIterator[CqrsOperations]:
        """The event store at `pg_dsn` and the read store; without a Redis URL, the Redis read store is left out."""
        # Two connections: a rebuild reads the next batch on one while filling gaps on the other.
        pool = await asyncpg.create_pool(pg_dsn, min_size=2, max_size=2, init=init_connection, reset=keep_session)
        opened = None
        try:
            if read_store == "postgres" or redis_url:
                opened = await open_read_store(
                    read_store, pg_dsn=pg_dsn, redis_url=redis_url, namespace=namespace, connections=4
                )
            yield cls(pool, opened)
        finally:
            if opened is not None:
                await opened.close()
            await pool.close()

    def _read_store(self) -> OpenReadStore:
        if self.read_store is None:
            raise ValueError("this job needs the Redis URL of the read models")
        return self.read_store

    async def rebuild(self, batch_size: int, progress: Callable[[int], None] | None = None) -> RebuildReport:
        store = EventStore(self.pool)
        return await rebuild(store, self._read_store().writer, batch_size=batch_size, progress=progress)

    async def history(self, stream_id: uuid.UUID, as_of: AsOf | None) -> tuple[History, int | None]:
        """The stream's history, and the version its read model has now (None without read store or read model)."""
        found = await stream_history(EventStore(self.pool), stream_id, as_of)
        if self.read_store is None or found.state is None:
            return found, None
        queries = QuerySide(self.read_store.reader, AppliedVersions(self.read_store.announcements), 0)
        try:
            if isinstance(found.state, AccountView):
                return found, (await queries.account(stream_id, None)).value.version
            return found, (await queries.order(stream_id, None)).value.version
        except NotFound:
            return found, None
