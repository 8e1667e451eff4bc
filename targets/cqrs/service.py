"""The CQRS/event-sourced target: commands through a bus to an event store, reads from its read store."""

from __future__ import annotations

import uuid

import asyncpg

from targets.common import contract
from targets.common.service import Idempotency, Read, Written
from targets.common.settings import TargetSettings
from targets.common.stats import PoolStats
from targets.cqrs import commands
from targets.cqrs.bus import CommandBus
from targets.cqrs.cache import StateCache
from targets.cqrs.connections import postgres_pool
from targets.cqrs.eventstore import Cursor, EventStore
from targets.cqrs.group_commit import GroupCommit
from targets.cqrs.handlers import CommandHandlers
from targets.cqrs.notify import AppendNotifier
from targets.cqrs.queries import QuerySide
from targets.cqrs.read_stores import OpenReadStore, open_read_store
from targets.cqrs.settings import CqrsSettings, require_redis_url
from targets.cqrs.shards import Shard
from targets.cqrs.stats import CqrsStats, GroupCommitStats, Projection, ReadSide, ShardProjection, WriteSide
from targets.cqrs.views import ViewCache
from targets.cqrs.waiter import AppliedVersions


class CqrsService:
    name = "cqrs"

    def __init__(
        self,
        pool: asyncpg.Pool,
        read_store: OpenReadStore,
        settings: TargetSettings,
        cqrs: CqrsSettings,
        notifier: AppendNotifier | None,
        applied: AppliedVersions,
        views: ViewCache,
    ) -> None:
        self.pool = pool
        self.read_store = read_store
        self.cqrs = cqrs
        self.store = EventStore(pool, group_commit_max=cqrs.appends_per_statement)
        self.notifier = notifier
        self.applied = applied
        self.handlers = CommandHandlers(
            self.store, attempts=cqrs.append_attempts, cache=StateCache(cqrs.state_cache_size), notifier=notifier
        )
        self.bus = CommandBus()
        self.handlers.register(self.bus)
        self.views = views
        self.queries = QuerySide(read_store.reader, applied, settings.read_wait_ms / 1000, views)

    @classmethod
    async def start(
        cls, settings: TargetSettings, cqrs: CqrsSettings | None = None, *, commands: bool = True
    ) -> CqrsService:
        """The service; `commands=False`: a query worker's, which sends no NOTIFY and keeps one PostgreSQL
        connection (for /stats and the PostgreSQL read store's own pool aside)."""
        cqrs = cqrs or CqrsSettings.from_env()
        dsn = settings.require_pg_dsn()
        if cqrs.read_store == "redis":
            require_redis_url(settings)
        pool = await postgres_pool(dsn, settings.pg_pool_size if commands else 1)
        # Redis: a pool that waits for a free connection; PostgreSQL: as many as the event store's.
        connections = max(16, 4 * settings.pg_pool_size) if cqrs.read_store == "redis" else settings.pg_pool_size
        read_store = await open_read_store(
            cqrs.read_store,
            pg_dsn=dsn,
            redis_url=settings.redis_url,
            namespace=cqrs.namespace,
            connections=connections,
        )
        notifier = AppendNotifier(dsn, min_interval=cqrs.min_poll_ms / 1000) if commands else None
        if notifier is not None:
            await notifier.start()
        views = ViewCache(cqrs.view_cache_size)
        applied = AppliedVersions(read_store.announcements, views)
        await applied.start()
        return cls(pool, read_store, settings, cqrs, notifier, applied, views)

    async def close(self) -> None:
        await self.applied.close()
        if self.notifier is not None:
            await self.notifier.close()
        await self.pool.close()
        await self.read_store.close()

    async def open_account(
        self, command: contract.OpenAccount, idempotency: Idempotency | None
    ) -> Written[contract.Account]:
        return await self.bus.dispatch(
            commands.OpenAccount(uuid.uuid4(), command.owner, command.initial_deposit), idempotency
        )

    async def deposit(
        self, account_id: uuid.UUID, command: contract.MoneyMovement, idempotency: Idempotency | None
    ) -> Written[contract.BalanceChanged]:
        return await self.bus.dispatch(commands.DepositMoney(account_id, command.amount), idempotency)

    async def withdraw(
        self, account_id: uuid.UUID, command: contract.MoneyMovement, idempotency: Idempotency | None
    ) -> Written[contract.BalanceChanged]:
        return await self.bus.dispatch(commands.WithdrawMoney(account_id, command.amount), idempotency)

    async def create_order(
        self, command: contract.CreateOrder, idempotency: Idempotency | None
    ) -> Written[contract.OrderCreated]:
        items = [contract.OrderLine(sku=i.sku, qty=i.qty, unit_price=i.unit_price) for i in command.items]
        return await self.bus.dispatch(commands.CreateOrder(uuid.uuid4(), command.customer_id, items), idempotency)

    async def transition_order(
        self, order_id: uuid.UUID, action: contract.OrderAction, idempotency: Idempotency | None
    ) -> Written[contract.OrderTransitioned]:
        return await self.bus.dispatch(commands.TRANSITION_COMMANDS[action](order_id), idempotency)

    async def get_account(self, account_id: uuid.UUID, min_version: int | None) -> Read[contract.Account]:
        return await self.queries.account(account_id, min_version)

    async def statement(self, account_id: uuid.UUID, limit: int, min_version: int | None) -> Read[contract.Statement]:
        return await self.queries.statement(account_id, limit, min_version)

    async def get_order(self, order_id: uuid.UUID, min_version: int | None) -> Read[contract.Order]:
        return await self.queries.order(order_id, min_version)

    async def customer_orders(self, customer_id: uuid.UUID, limit: int) -> contract.CustomerOrders:
        return await self.queries.customer_orders(customer_id, limit)

    async def stats(self) -> CqrsStats:
        """Projection lag per shard (events past its checkpoint, age of the oldest of them), and write-side counters."""
        generation = await self.read_store.writer.current_generation() or 0  # 0: lost, being rebuilt
        checkpoints = await self.read_store.writer.checkpoints(generation)
        shards = []
        for index in range(self.cqrs.projectors):
            shard = Shard(index, self.cqrs.projectors)
            cursor = Cursor.decode(checkpoints.get(shard.name) or checkpoints.get("all"))
            lag = await self.store.lag(cursor, shard)
            shards.append(ShardProjection(shard.name, cursor.encode(), lag.events_behind, lag.seconds_behind))
        return CqrsStats(
            target=self.name,
            read_store=self.read_store.kind,
            projection=Projection(
                generation=generation,
                events_behind=sum(shard.events_behind for shard in shards),
                seconds_behind=max(shard.seconds_behind for shard in shards),
                shards=shards,
                horizon_holder=await self.store.horizon_holder(),
                applied=await self.read_store.writer.applied(generation),
            ),
            write_side=WriteSide(
                version_conflicts_retried=self.handlers.conflicts,
                cached_states=len(self.handlers.cache),
                notifies_sent=self.notifier.sent if self.notifier is not None else 0,
                group_commit=_group_commit_stats(self.store.group_commit),
            ),
            read_side=ReadSide(
                view_cache_hits=self.views.hits, view_cache_misses=self.views.misses, cached_views=len(self.views)
            ),
            pool=PoolStats(self.pool.get_size(), self.pool.get_idle_size()),
        )


def _group_commit_stats(group_commit: GroupCommit | None) -> GroupCommitStats | None:
    if group_commit is None:
        return None
    return GroupCommitStats(
        batches=group_commit.batches,
        appends=group_commit.appends,
        largest_batch=group_commit.largest_batch,
        retried_alone=group_commit.retried_alone,
    )
