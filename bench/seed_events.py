"""Fill a cqrs event store with synthetic but valid streams, fast, and optionally time a rebuild of it.

    python -m bench.seed_events --pg-dsn DSN --events 1000000 [--redis-url URL --rebuild]

Accounts get ACCOUNT_EVENTS events each (opened with a deposit, then deposits and
withdrawals that never overdraw), orders ORDER_EVENTS (created, paid, then shipped or
cancelled), spread over CUSTOMERS customers; 70% of the events are account events.
Everything is generated inside PostgreSQL with INSERT ... SELECT generate_series, in
transactions of CHUNK_EVENTS events, and the `streams` table gets the matching decision
state, so the cqrs target can go on writing to these streams.
"""

from __future__ import annotations

import asyncio
import sys
import time

import asyncpg
import click

from targets.cqrs.connections import connect_postgres
from targets.cqrs.operations import CqrsOperations
from targets.cqrs.settings import DEFAULT_NAMESPACE

ACCOUNT_EVENTS = 10
ORDER_EVENTS = 3
CUSTOMERS = 1_000
CHUNK_EVENTS = 100_000

# Version 1 opens with 1000; then every third version withdraws 50, the others deposit 100.
_ACCOUNT_BALANCE = "(1000 + 100 * (({v} - 1) - {v} / 3) - 50 * ({v} / 3))"

SEED_ACCOUNTS = f"""
WITH a AS (SELECT i, md5('account-' || $3 || '-' || i)::uuid AS id FROM generate_series($1::int, $2::int) i),
e AS (
    INSERT INTO events (stream_id, version, type, data)
    SELECT a.id, v,
           CASE WHEN v = 1 THEN 'AccountOpened' WHEN v % 3 = 0 THEN 'WithdrawalMade' ELSE 'DepositMade' END,
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

ITEMS = '[{"sku":"sku-1","qty":2,"unit_price":500},{"sku":"sku-2","qty":1,"unit_price":250}]'  # total 1250

# Every fourth order is cancelled after it was paid (it leaves its customer's lifetime total).
SEED_ORDERS = f"""
WITH o AS (
    SELECT i, md5('order-' || $3 || '-' || i)::uuid AS id,
           md5('customer-' || $3 || '-' || (i % {CUSTOMERS}))::uuid AS customer_id
    FROM generate_series($1::int, $2::int) i
),
e AS (
    INSERT INTO events (stream_id, version, type, data)
    SELECT o.id, v,
           CASE v WHEN 1 THEN 'OrderCreated' WHEN 2 THEN 'OrderPaid'
                  ELSE CASE WHEN o.i % 4 = 0 THEN 'OrderCancelled' ELSE 'OrderShipped' END END,
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


async def seed(pg_dsn: str, events: int, tag: str) -> tuple[int, float]:
    """Insert about `events` events; returns how many and the seconds it took."""
    accounts = int(events * 0.7) // ACCOUNT_EVENTS
    orders = (events - accounts * ACCOUNT_EVENTS) // ORDER_EVENTS
    connection = await connect_postgres(pg_dsn, schema=True)
    started = time.perf_counter()
    try:
        for statement, streams, per_stream in (
            (SEED_ACCOUNTS, accounts, ACCOUNT_EVENTS),
            (SEED_ORDERS, orders, ORDER_EVENTS),
        ):
            chunk = max(1, CHUNK_EVENTS // per_stream)
            for first in range(1, streams + 1, chunk):
                await connection.execute(statement, first, min(first + chunk - 1, streams), tag)
        await connection.execute("ANALYZE events")
        await connection.execute("ANALYZE streams")
    finally:
        await connection.close()
    return accounts * ACCOUNT_EVENTS + orders * ORDER_EVENTS, time.perf_counter() - started


@click.command()
@click.option("--pg-dsn", envvar="BENCH_PG_DSN", required=True, help="The cqrs target's database [env BENCH_PG_DSN].")
@click.option("--events", type=click.IntRange(13, 100_000_000), default=1_000_000, show_default=True)
@click.option("--tag", default=None, help="Makes the stream ids unique to this seeding (default: the time).")
@click.option("--redis-url", envvar="BENCH_REDIS_URL", default=None, help="Needed by --rebuild [env BENCH_REDIS_URL].")
@click.option("--namespace", default=DEFAULT_NAMESPACE, show_default=True, help="Redis key prefix of the read models.")
@click.option("--rebuild", "then_rebuild", is_flag=True, help="Then rebuild the read models and report events/s.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=2_000, show_default=True)
def main(
    pg_dsn: str,
    events: int,
    tag: str | None,
    redis_url: str | None,
    namespace: str,
    then_rebuild: bool,
    batch_size: int,
) -> None:
    if then_rebuild and not redis_url:
        raise click.UsageError("--rebuild needs --redis-url (or BENCH_REDIS_URL)")
    try:
        inserted, seconds = asyncio.run(seed(pg_dsn, events, tag or str(time.time_ns())))
    except (OSError, asyncpg.PostgresError) as exc:
        raise click.ClickException(f"seeding failed: {type(exc).__name__}: {exc}") from None
    print(f"seeded {inserted:,} events in {seconds:.1f} s", flush=True)
    if not then_rebuild:
        return
    assert redis_url is not None

    async def run_rebuild() -> None:
        async with CqrsOperations.connect(pg_dsn, redis_url, namespace) as operations:
            report = await operations.rebuild(batch_size)
        print(
            f"rebuild: {report.events:,} events in {report.seconds:.2f} s = {report.events_per_second:,.0f} events/s "
            f"(batch size {batch_size}); generation {report.generation}, {report.dropped_keys:,} old keys deleted",
            flush=True,
        )

    asyncio.run(run_rebuild())


if __name__ == "__main__":
    main(sys.argv[1:])
