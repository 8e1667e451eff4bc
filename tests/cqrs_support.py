"""Helpers for the CQRS tests: a store of their own on the session's servers, and the read models
compared against the fold of the event store."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
import redis.asyncio as redis

from bench.infra.postgres import create_database, drop_database
from bench.infra.stack import Infrastructure
from targets.common import contract
from targets.common.errors import NotFound
from targets.cqrs.cache import StateCache
from targets.cqrs.connections import postgres_pool, redis_client
from targets.cqrs.events import RecordedEvent
from targets.cqrs.eventstore import START, Cursor, EventStore
from targets.cqrs.fold import AccountView, fold_dashboards, fold_stream, group_by_stream
from targets.cqrs.handlers import CommandHandlers
from targets.cqrs.queries import QuerySide
from targets.cqrs.readmodels import Namespace
from targets.cqrs.settings import CqrsSettings
from targets.cqrs.shards import ALL
from targets.cqrs.waiter import AppliedVersions

DEADLINE_SECONDS = 20.0
GROUP_COMMIT_MAX = CqrsSettings.from_env({}).appends_per_statement  # the target's default


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within: float = DEADLINE_SECONDS) -> None:
    """Await `check` every 10 ms until it holds; fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {within:g} s")
        await asyncio.sleep(0.01)


def new_database(infra: Infrastructure) -> str:
    assert infra.postgres is not None
    return create_database(infra.postgres.admin_dsn)


def forget_database(infra: Infrastructure, dsn: str) -> None:
    assert infra.postgres is not None
    drop_database(infra.postgres.admin_dsn, dsn)


def store_settings(dsn: str, redis_url: str, namespace: str, **extra: str) -> dict[str, str]:
    return {
        "BENCH_PG_DSN": dsn,
        "BENCH_REDIS_URL": redis_url,
        "BENCH_CQRS_NAMESPACE": namespace,
        "BENCH_PG_POOL_SIZE": "4",
        **extra,
    }


@dataclass
class CqrsStore:
    """One test's event store (a database of its own) and read models (a namespace of their own)."""

    dsn: str
    redis_url: str
    namespace: Namespace
    pool: asyncpg.Pool
    client: redis.Redis

    @property
    def store(self) -> EventStore:
        return EventStore(self.pool)

    def handlers(
        self, *, attempts: int = 8, cache_size: int = 1_000, group_commit_max: int = GROUP_COMMIT_MAX
    ) -> CommandHandlers:
        """The write side as one API worker has it (group commit on unless `group_commit_max` is 0);
        two of these act like two workers."""
        store = EventStore(self.pool, group_commit_max=group_commit_max)
        return CommandHandlers(store, attempts=attempts, cache=StateCache(cache_size))

    def queries(self) -> QuerySide:
        return QuerySide(self.client, self.namespace, AppliedVersions(self.client, self.namespace.channel), 0)

    async def events(self) -> list[RecordedEvent]:
        return (await self.store.read_batch(START, ALL, 10**9)).events

    async def generation(self) -> int:
        return int(await self.client.get(self.namespace.current) or 1)

    async def applied(self) -> int:
        """Events the read models of the current generation applied (duplicates are not counted)."""
        return int(await self.client.get(self.namespace.applied(await self.generation())) or 0)

    async def checkpoint(self, shard_name: str) -> Cursor:
        raw = await self.client.hget(self.namespace.checkpoints(await self.generation()), shard_name)
        return Cursor.decode(raw)

    async def heartbeat(self, shard_name: str) -> dict[str, Any]:
        raw = await self.client.hget(self.namespace.projectors, shard_name)
        return msgspec.json.decode(raw) if raw else {}

    async def caught_up(self) -> bool:
        """Read models applied as many events as the store holds (more would be a double apply: tests
        assert equality after waiting for this)."""
        return await self.applied() >= len(await self.events())

    async def mismatches(self) -> list[str]:
        """Every way the Redis read models differ from the fold of the event store (empty: none)."""
        return await read_model_mismatches(self.queries(), await self.events())


@asynccontextmanager
async def cqrs_store(dsn: str, redis_url: str, namespace_name: str | None = None) -> AsyncIterator[CqrsStore]:
    """A store on the database `dsn`, its read models under `namespace_name`, or under a new namespace
    whose keys are deleted afterwards."""
    pool = await postgres_pool(dsn, 4)
    client = redis_client(redis_url, max_connections=8)
    namespace = Namespace(namespace_name or f"test-{uuid.uuid4().hex[:12]}")
    try:
        yield CqrsStore(dsn, redis_url, namespace, pool, client)
    finally:
        if namespace_name is None:
            keys = [key async for key in client.scan_iter(match=f"{namespace.name}:*", count=1_000)]
            if keys:
                await client.unlink(*keys)
        await client.aclose()
        await pool.close()


async def read_model_mismatches(queries: QuerySide, events: list[RecordedEvent]) -> list[str]:
    problems: list[str] = []
    for stream_id, stream in group_by_stream(events).items():
        expected = fold_stream(stream_id, stream)
        try:
            if isinstance(expected, AccountView):
                account = (await queries.account(stream_id, None)).value
                statement = (await queries.statement(stream_id, contract.MAX_LIMIT, None)).value
                if account != expected.account():
                    problems.append(f"account {stream_id}: read model {account}, fold {expected.account()}")
                if statement != expected.statement(contract.MAX_LIMIT):
                    problems.append(f"statement {stream_id}: read model {statement}, fold {expected}")
            elif expected is not None:
                order = (await queries.order(stream_id, None)).value
                if order != expected:
                    problems.append(f"order {stream_id}: read model {order}, fold {expected}")
        except NotFound:
            problems.append(f"stream {stream_id} (v{len(stream)}) has no read model")
    for customer_id, dashboard in fold_dashboards(events).items():
        expected_dashboard = msgspec.structs.replace(dashboard, recent=dashboard.recent[: contract.MAX_LIMIT])
        actual = await queries.customer_orders(customer_id, contract.MAX_LIMIT)
        if actual != expected_dashboard:
            problems.append(f"dashboard {customer_id}: read model {actual}, fold {expected_dashboard}")
    return problems
