"""Loading the data set into the CQRS target: its events and stream states with COPY, then a rebuild.

The events are the ones the target itself would have appended for the same history (the
same types and payloads, versions 1..N per stream), so after the rebuild its read models
answer exactly what the CRUD target answers from its tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import asyncpg

from targets.common.contract import OrderLine
from targets.common.dataset import ORDER_FATES, Dataset
from targets.common.seeding import NotEmptyError, Progress, Seeding, SeedPlace, bulk_load
from targets.cqrs import events
from targets.cqrs.eventstore import apply_schema, init_connection
from targets.cqrs.operations import CqrsOperations
from targets.cqrs.rebuild import DEFAULT_BATCH_SIZE
from targets.cqrs.settings import CqrsSettings, ReadStore

CHUNK_ACCOUNTS = 500

Record = tuple[Any, ...]
EVENT_COLUMNS = ["stream_id", "version", "type", "data", "created_at"]
STREAM_COLUMNS = ["stream_id", "type", "version", "balance", "status", "customer_id", "total"]


def _event(stream_id: Any, version: int, event: events.Event, at: Any) -> Record:
    return stream_id, version, events.type_name(event), events.encode_data(event), at


def account_events(data: Dataset, first: int, stop: int) -> Iterator[Record]:
    for row in data.ledger_rows(first, stop):
        event: events.Event
        if row.version == 1:
            event = events.AccountOpened(owner=f"owner-{row.account}", initial_deposit=row.amount)
        elif row.withdrawal:
            event = events.WithdrawalMade(amount=row.amount, balance_after=row.balance_after)
        else:
            event = events.DepositMade(amount=row.amount, balance_after=row.balance_after)
        yield _event(row.account_id, row.version, event, row.at)


def order_events(data: Dataset) -> Iterator[Record]:
    orders = data.orders
    lines = [
        [OrderLine(sku=sku, qty=qty, unit_price=price) for sku, qty, price in items] for items in data.order_lines()
    ]
    for index, order_id in enumerate(orders.ids):
        customer_id = data.customer_ids[int(orders.customer[index])]
        total = int(orders.total[index])
        status, _, cancelled_from = ORDER_FATES[int(orders.fate[index])]
        at = data.order_created_at(index)
        history: list[events.Event] = [events.OrderCreated(customer_id=customer_id, items=lines[index], total=total)]
        if status in ("paid", "shipped") or cancelled_from == "paid":
            history.append(events.OrderPaid(customer_id=customer_id, total=total))
        if status == "shipped":
            history.append(events.OrderShipped(customer_id=customer_id, total=total))
        if cancelled_from is not None:
            history.append(events.OrderCancelled(customer_id=customer_id, total=total, previous_status=cancelled_from))
        for version, event in enumerate(history, start=1):
            yield _event(order_id, version, event, at)


def stream_records(data: Dataset) -> Iterator[Record]:
    balances = data.balances.tolist()
    for index, account_id in enumerate(data.account_ids):
        yield account_id, "account", data.spec.entries, balances[index], None, None, None
    orders = data.orders
    for index, order_id in enumerate(orders.ids):
        status, version, _ = ORDER_FATES[int(orders.fate[index])]
        customer_id = data.customer_ids[int(orders.customer[index])]
        yield order_id, "order", version, None, status, customer_id, int(orders.total[index])


async def load_cqrs_events(connection: asyncpg.Connection, data: Dataset, progress: Progress) -> dict[str, int]:
    """Create the event store if needed and COPY the events and stream states in; it must be empty."""
    await init_connection(connection)
    await apply_schema(connection)
    if await connection.fetchval("SELECT EXISTS (SELECT 1 FROM events)"):
        raise NotEmptyError("the cqrs event store already holds events; seed into a fresh database")
    spec = data.spec
    account_event_count = spec.accounts * spec.entries
    async with bulk_load(connection):
        for first in range(0, spec.accounts, CHUNK_ACCOUNTS):
            stop = min(first + CHUNK_ACCOUNTS, spec.accounts)
            await connection.copy_records_to_table(
                "events", columns=EVENT_COLUMNS, records=account_events(data, first, stop)
            )
            progress("events", stop * spec.entries, account_event_count)
        await connection.copy_records_to_table("events", columns=EVENT_COLUMNS, records=order_events(data))
        await connection.copy_records_to_table("streams", columns=STREAM_COLUMNS, records=stream_records(data))
    progress("streams", spec.accounts + spec.orders, spec.accounts + spec.orders)
    # An order's version is the number of events in its stream.
    order_event_count = sum(ORDER_FATES[fate][1] for fate in data.orders.fate.tolist())
    return {"events": account_event_count + order_event_count, "streams": spec.accounts + spec.orders}


async def rebuild_read_models(
    pg_dsn: str,
    redis_url: str | None,
    namespace: str,
    progress: Callable[[int], None] | None = None,
    read_store: ReadStore = "redis",
) -> int:
    """Replay the event store into the read models (the target's own rebuild); returns the events replayed."""
    async with CqrsOperations.connect(pg_dsn, redis_url, namespace, read_store) as operations:
        report = await operations.rebuild(DEFAULT_BATCH_SIZE, progress)
    return report.events


async def _rebuild_after_load(place: SeedPlace, progress: Progress, rows: dict[str, int]) -> None:
    cqrs = CqrsSettings.from_env(place.settings_env)
    if place.pg_dsn is None or (cqrs.read_store == "redis" and place.redis_url is None):
        raise RuntimeError(
            "seeding the cqrs target needs its PostgreSQL DSN and, with Redis read models, its Redis URL"
        )
    total = rows["events"]
    rows["events_replayed"] = await rebuild_read_models(
        place.pg_dsn, place.redis_url, cqrs.namespace, lambda done: progress("rebuild", done, total), cqrs.read_store
    )


SEEDING = Seeding(load_cqrs_events, tables=("events", "streams"), finish=_rebuild_after_load)
