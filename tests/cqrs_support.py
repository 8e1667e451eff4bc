"""Helpers for the CQRS tests: a store of their own on the session's servers (read models in Redis or in
PostgreSQL), and the read models compared against the fold of the event store."""

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

from bench.infra.postgres import create_database, drop_database
from bench.infra.stack import Infrastructure
from targets.common import contract
from targets.common.errors import NotFound
from targets.cqrs.cache import StateCache
from targets.cqrs.connections import postgres_pool
from targets.cqrs.events import RecordedEvent
from targets.cqrs.eventstore import START, Cursor, EventStore
from targets.cqrs.fold import AccountView, fold_dashboards, fold_stream, group_by_stream
from targets.cqrs.handlers import CommandHandlers
from targets.cqrs.queries import QuerySide
from targets.cqrs.read_stores import OpenReadStore, open_read_store
from targets.cqrs.readmodels import Namespace, RedisReadModelWriter
from targets.cqrs.readstore import ApplyOptions
from targets.cqrs.settings import READ_STORE_KEY, CqrsSettings, ReadStore
from targets.cqrs.shards import ALL
from targets.cqrs.views import ViewCache
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


def store_settings(
    dsn: str, redis_url: str | None, namespace: str, read_store: ReadStore = "redis", **extra: str
) -> dict[str, str]:
    """A target's or projector's settings; with the PostgreSQL read store, no Redis URL (none is needed)."""
    return {
        "BENCH_PG_DSN": dsn,
        **({"BENCH_REDIS_URL": redis_url} if read_store == "redis" and redis_url else {}),
        "BENCH_CQRS_NAMESPACE": namespace,
        READ_STORE_KEY: read_store,
        "BENCH_PG_POOL_SIZE": "4",
        **extra,
    }


@dataclass
class CqrsStore:
    """One test's event store (a database of its own) and read models (a namespace of their own in Redis,
    or tables in that database)."""

    dsn: str
    redis_url: str | None
    namespace: Namespace
    pool: asyncpg.Pool
    read: OpenReadStore

    @property
    def read_store(self) -> ReadStore:
        return self.read.kind

    def settings(self, **extra: str) -> dict[str, str]:
        """The settings of a projector (or target) on this store."""
        return store_settings(self.dsn, self.redis_url, self.namespace.name, self.read_store, **extra)

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
        return QuerySide(self.read.reader, AppliedVersions(self.read.announcements), 0)

    def announced_versions(self, views: ViewCache) -> AppliedVersions:
        """The announcements followed as an API worker follows them, keeping `views` current."""
        return AppliedVersions(self.read.announcements, views)

    async def cut_announcements(self) -> None:
        """Close the connections readers follow the announcements on, from the server's side."""
        writer = self.read.writer
        if isinstance(writer, RedisReadModelWriter):
            assert await writer.client.client_kill_filter(_type="pubsub") >= 1
            return
        cut = await self.pool.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN %cqrs_applied%'"
        )
        assert cut >= 1

    async def events(self) -> list[RecordedEvent]:
        return (await self.store.read_batch(START, ALL, 10**9)).events

    async def generation(self) -> int:
        """The current generation, the first one made if there is none (as a projector starting up would)."""
        return await self.read.writer.initialize()

    async def applied(self) -> int:
        """Events the read models of the current generation applied (duplicates are not counted)."""
        return await self.read.writer.applied(await self.generation())

    async def checkpoint(self, shard_name: str) -> Cursor:
        return Cursor.decode((await self.read.writer.checkpoints(await self.generation())).get(shard_name))

    async def plant_checkpoint(self, shard_name: str, cursor: Cursor) -> None:
        """Move a shard's checkpoint, applying nothing: as if its events up to `cursor` had been applied."""
        writer = self.read.writer
        options = ApplyOptions(checkpoint_field=shard_name, checkpoint=cursor.encode(), announce=False)
        await writer.apply(await self.generation(), writer.encode([]), options)

    async def tamper_account(self, account: uuid.UUID, field: str, delta: int) -> None:
        """Add `delta` to a column of an account's read model by hand (`balance` or `deposited`): a planted defect."""
        assert field in ("balance", "deposited")
        generation = await self.generation()
        writer = self.read.writer
        if isinstance(writer, RedisReadModelWriter):
            await writer.client.hincrby(f"{self.namespace.prefix(generation)}a:{account}", field, delta)
            return
        update = f"UPDATE read_accounts SET {field} = {field} + $3 WHERE generation = $1 AND account_id = $2"
        await self.pool.execute(update, generation, account, delta)

    async def tamper_applied(self, delta: int) -> None:
        """Add `delta` to the events the current generation counts as applied: a planted double apply."""
        generation = await self.generation()
        writer = self.read.writer
        if isinstance(writer, RedisReadModelWriter):
            await writer.client.incrby(self.namespace.applied(generation), delta)
            return
        await self.pool.execute(
            "INSERT INTO read_checkpoints (generation, shard, applied) VALUES ($1, 'tampered', $2)"
            " ON CONFLICT (generation, shard) DO UPDATE SET applied = read_checkpoints.applied + excluded.applied",
            generation,
            delta,
        )

    async def heartbeat(self, shard_name: str) -> dict[str, Any]:
        raw = await self.read.writer.heartbeat_of(shard_name)
        return msgspec.json.decode(raw) if raw else {}

    async def caught_up(self) -> bool:
        """Read models applied as many events as the store holds (more would be a double apply: tests
        assert equality after waiting for this)."""
        return await self.applied() >= len(await self.events())

    async def mismatches(self) -> list[str]:
        """Every way the read models differ from the fold of the event store (empty: none)."""
        return await read_model_mismatches(self.queries(), await self.events())


@asynccontextmanager
async def cqrs_store(
    dsn: str, redis_url: str | None, namespace_name: str | None = None, read_store: ReadStore = "redis"
) -> AsyncIterator[CqrsStore]:
    """A store on the database `dsn`, its read models in `read_store`: Redis under `namespace_name`, or under a
    new namespace whose keys are deleted afterwards; PostgreSQL in tables of that database."""
    pool = await postgres_pool(dsn, 4)
    namespace = Namespace(namespace_name or f"test-{uuid.uuid4().hex[:12]}")
    read = await open_read_store(read_store, pg_dsn=dsn, redis_url=redis_url, namespace=namespace.name, connections=8)
    # The read store exists before the first event, as when a deployment's first projector starts: a projector
    # started later projects the events; over events and no read store at all it would rebuild them instead.
    await read.writer.initialize()
    try:
        yield CqrsStore(dsn, redis_url, namespace, pool, read)
    finally:
        if namespace_name is None and isinstance(read.writer, RedisReadModelWriter):
            client = read.writer.client
            keys = [key async for key in client.scan_iter(match=f"{namespace.name}:*", count=1_000)]
            if keys:
                await client.unlink(*keys)
        await read.close()
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
