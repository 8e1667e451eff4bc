"""Fill a cqrs event store with synthetic but valid streams, fast, and optionally time a rebuild of it.

    bench benchmark seed_events --pg-dsn DSN --events 1000000 [--redis-url URL --rebuild]

Accounts get ACCOUNT_EVENTS events each (opened with a deposit, then deposits and
withdrawals that never overdraw), orders ORDER_EVENTS (created, paid, then shipped or
cancelled), spread over CUSTOMERS customers; 70% of the events are account events.
Everything is generated inside PostgreSQL with INSERT ... SELECT generate_series, in
transactions of CHUNK_EVENTS events, and the `streams` table gets the matching decision
state, so the cqrs target can go on writing to these streams. `bench seed` loads a realistic
data set instead (from Python, with COPY); this fills millions of events in seconds, for
timing the rebuild at scale.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import msgspec
import redis

from bench.benchmarks.errors import BenchmarkError
from targets.cqrs import events
from targets.cqrs.connections import connect_postgres
from targets.cqrs.operations import CqrsOperations
from targets.cqrs.rebuild import NoEventStore

ACCOUNT_EVENTS = 10
ORDER_EVENTS = 3
CUSTOMERS = 1_000
CHUNK_EVENTS = 100_000
ACCOUNT_SHARE = 0.7

# Version 1 opens with 1000; then every third version withdraws 50, the others deposit 100.
_ACCOUNT_BALANCE = "(1000 + 100 * (({v} - 1) - {v} / 3) - 50 * ({v} / 3))"

# $1..$2: the range of stream numbers, $3: the tag, $4..$6: the event type names (ACCOUNT_TYPES).
SEED_ACCOUNTS = f"""
WITH a AS (SELECT i, md5('account-' || $3 || '-' || i)::uuid AS id FROM generate_series($1::int, $2::int) i),
e AS (
    INSERT INTO events (stream_id, version, type, data)
    SELECT a.id, v,
           CASE WHEN v = 1 THEN $4::text WHEN v % 3 = 0 THEN $5::text ELSE $6::text END,
           CASE WHEN v = 1 THEN jsonb_build_object('owner', 'seed-' || a.i, 'initial_deposit', 1000)
                ELSE jsonb_build_object('amount', CASE WHEN v % 3 = 0 THEN 50 ELSE 100 END,
                                        'balance_after', {_ACCOUNT_BALANCE.format(v="v")})
           END
    FROM a CROSS JOIN generate_series(1, {ACCOUNT_EVENTS}) v
    ORDER BY a.i, v
)
INSERT INTO streams (stream_id, type, version, balance)
SELECT id, 'account', {ACCOUNT_EVENTS}, {_ACCOUNT_BALANCE.format(v=ACCOUNT_EVENTS)} FROM a
"""
ACCOUNT_TYPES = (events.AccountOpened, events.WithdrawalMade, events.DepositMade)

ITEMS = '[{"sku":"sku-1","qty":2,"unit_price":500},{"sku":"sku-2","qty":1,"unit_price":250}]'  # total 1250

# Every fourth order is cancelled after it was paid (it leaves its customer's lifetime total).
# $1..$3 as above, $4..$7: the event type names (ORDER_TYPES).
SEED_ORDERS = f"""
WITH o AS (
    SELECT i, md5('order-' || $3 || '-' || i)::uuid AS id,
           md5('customer-' || $3 || '-' || (i % {CUSTOMERS}))::uuid AS customer_id
    FROM generate_series($1::int, $2::int) i
),
e AS (
    INSERT INTO events (stream_id, version, type, data)
    SELECT o.id, v,
           CASE v WHEN 1 THEN $4::text WHEN 2 THEN $5::text
                  ELSE CASE WHEN o.i % 4 = 0 THEN $6::text ELSE $7::text END END,
           CASE v WHEN 1 THEN jsonb_build_object(
                    'customer_id', o.customer_id, 'total', 1250,
                    'items', '{ITEMS}'::jsonb)
                  WHEN 2 THEN jsonb_build_object('customer_id', o.customer_id, 'total', 1250)
                  ELSE CASE WHEN o.i % 4 = 0
                       THEN jsonb_build_object('customer_id', o.customer_id, 'total', 1250, 'previous_status', 'paid')
                       ELSE jsonb_build_object('customer_id', o.customer_id, 'total', 1250) END
           END
    FROM o CROSS JOIN generate_series(1, {ORDER_EVENTS}) v
    ORDER BY o.i, v
)
INSERT INTO streams (stream_id, type, version, status, customer_id, total)
SELECT id, 'order', {ORDER_EVENTS}, CASE WHEN i % 4 = 0 THEN 'cancelled' ELSE 'shipped' END, customer_id, 1250 FROM o
"""
ORDER_TYPES = (events.OrderCreated, events.OrderPaid, events.OrderCancelled, events.OrderShipped)


class Rebuild(msgspec.Struct, frozen=True):
    events: int
    seconds: float
    events_per_second: float
    batch_size: int
    generation: int
    dropped_keys: int


class Seeded(msgspec.Struct, frozen=True):
    events: int
    accounts: int
    orders: int
    seconds: float
    rebuild: Rebuild | None = None


async def seed(pg_dsn: str, events_wanted: int, tag: str) -> Seeded:
    """Insert about `events_wanted` events (whole streams); returns how many and the seconds it took."""
    accounts = int(events_wanted * ACCOUNT_SHARE) // ACCOUNT_EVENTS
    orders = (events_wanted - accounts * ACCOUNT_EVENTS) // ORDER_EVENTS
    connection = await connect_postgres(pg_dsn, schema=True)
    started = time.perf_counter()
    try:
        for statement, streams, per_stream, types in (
            (SEED_ACCOUNTS, accounts, ACCOUNT_EVENTS, ACCOUNT_TYPES),
            (SEED_ORDERS, orders, ORDER_EVENTS, ORDER_TYPES),
        ):
            names = [kind.__name__ for kind in types]
            chunk = max(1, CHUNK_EVENTS // per_stream)
            for first in range(1, streams + 1, chunk):
                await connection.execute(statement, first, min(first + chunk - 1, streams), tag, *names)
        await connection.execute("ANALYZE events")
        await connection.execute("ANALYZE streams")
    finally:
        await connection.close()
    seconds = time.perf_counter() - started
    return Seeded(accounts * ACCOUNT_EVENTS + orders * ORDER_EVENTS, accounts, orders, seconds)


async def rebuild(pg_dsn: str, redis_url: str, namespace: str, batch_size: int) -> Rebuild:
    async with CqrsOperations.connect(pg_dsn, redis_url, namespace) as operations:
        report = await operations.rebuild(batch_size)
    return Rebuild(
        report.events, report.seconds, report.events_per_second, batch_size, report.generation, report.dropped_keys
    )


def fill_store(pg_dsn: str, events_wanted: int, tag: str) -> Seeded:
    """About `events_wanted` events in whole streams whose ids `tag` makes unique, into the event store at `pg_dsn`."""
    try:
        return asyncio.run(seed(pg_dsn, events_wanted, tag))
    except (OSError, asyncpg.PostgresError) as exc:
        raise BenchmarkError(f"seeding failed: {type(exc).__name__}: {exc}") from exc


def time_rebuild(pg_dsn: str, redis_url: str, namespace: str, batch_size: int) -> Rebuild:
    """A rebuild of the read models (kept in Redis under `namespace`) from the event store at `pg_dsn`, timed."""
    try:
        return asyncio.run(rebuild(pg_dsn, redis_url, namespace, batch_size))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, redis.RedisError, NoEventStore) as exc:
        raise BenchmarkError(f"rebuild failed: {type(exc).__name__}: {exc}") from exc


def seeded_line(seeded: Seeded) -> str:
    return f"seeded {seeded.events:,} events in {seeded.seconds:.1f} s"


def rebuild_line(report: Rebuild) -> str:
    return (
        f"rebuild: {report.events:,} events in {report.seconds:.2f} s = {report.events_per_second:,.0f} events/s "
        f"(batch size {report.batch_size}); generation {report.generation}, {report.dropped_keys:,} old keys deleted"
    )
