"""Loading the data set into the CRUD target's tables with COPY, in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import asyncpg

from targets.common.dataset import ORDER_FATES, Dataset, sku_name
from targets.common.seeding import NotEmptyError, Progress, Seeding, bulk_load
from targets.crud.service import apply_schema

CHUNK_ACCOUNTS = 500  # accounts whose ledger rows go in one COPY call (progress granularity)

Record = tuple[Any, ...]


def account_records(data: Dataset) -> Iterator[Record]:
    balances = data.balances
    versions = data.spec.entries
    for index, account_id in enumerate(data.account_ids):
        yield account_id, f"owner-{index}", int(balances[index]), versions, data.opened_at(index)


def ledger_records(data: Dataset, first: int, stop: int) -> Iterator[Record]:
    for row in data.ledger_rows(first, stop):
        kind = "withdrawal" if row.withdrawal else "deposit"
        yield row.account_id, row.version, kind, row.amount, row.balance_after, row.at


def order_records(data: Dataset) -> Iterator[Record]:
    orders = data.orders
    for index, order_id in enumerate(orders.ids):
        status, version, _ = ORDER_FATES[int(orders.fate[index])]
        customer_id = data.customer_ids[int(orders.customer[index])]
        yield order_id, customer_id, status, int(orders.total[index]), version, data.order_created_at(index)


def item_records(data: Dataset) -> Iterator[Record]:
    orders = data.orders
    columns = (
        orders.order_of_item.tolist(),
        orders.line_no.tolist(),
        orders.sku.tolist(),
        orders.qty.tolist(),
        orders.unit_price.tolist(),
    )
    for order, line_no, sku, qty, unit_price in zip(*columns, strict=True):
        yield orders.ids[order], line_no, sku_name(sku), qty, unit_price


async def load_crud(connection: asyncpg.Connection, data: Dataset, progress: Progress) -> dict[str, int]:
    """Create the schema if needed and COPY the data set in; the tables must be empty. Returns rows per table."""
    await apply_schema(connection)
    if await connection.fetchval("SELECT EXISTS (SELECT 1 FROM accounts) OR EXISTS (SELECT 1 FROM orders)"):
        raise NotEmptyError("the crud tables already hold data; seed into a fresh database")
    spec = data.spec
    rows = {
        "accounts": spec.accounts,
        "ledger_entries": spec.accounts * spec.entries,
        "orders": spec.orders,
        "order_items": len(data.orders.order_of_item),
    }
    async with bulk_load(connection):
        await _copy(connection, "accounts", ["id", "owner", "balance", "version", "created_at"], account_records(data))
        progress("accounts", rows["accounts"], rows["accounts"])
        ledger_columns = ["account_id", "version", "kind", "amount", "balance_after", "at"]
        for first in range(0, spec.accounts, CHUNK_ACCOUNTS):
            stop = min(first + CHUNK_ACCOUNTS, spec.accounts)
            await _copy(connection, "ledger_entries", ledger_columns, ledger_records(data, first, stop))
            progress("ledger_entries", stop * spec.entries, rows["ledger_entries"])
        order_columns = ["id", "customer_id", "status", "total", "version", "created_at"]
        await _copy(connection, "orders", order_columns, order_records(data))
        progress("orders", rows["orders"], rows["orders"])
        item_columns = ["order_id", "line_no", "sku", "qty", "unit_price"]
        await _copy(connection, "order_items", item_columns, item_records(data))
        progress("order_items", rows["order_items"], rows["order_items"])
    return rows


async def _copy(connection: asyncpg.Connection, table: str, columns: list[str], records: Iterator[Record]) -> None:
    await connection.copy_records_to_table(table, columns=columns, records=records)


SEEDING = Seeding(load_crud, tables=("accounts", "ledger_entries", "orders", "order_items"))
