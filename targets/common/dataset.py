"""The seeded data set: accounts with their ledger history, customers, and orders with items.

Generated with numpy from a seed alone, so every target of a comparison gets exactly the same
accounts, balances, entries, orders and ids, and a rerun with the same seed gets them again.
Timestamps start at a fixed instant, not at "now", for the same reason.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from targets.common.contract import OrderStatus

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
MIN_AMOUNT = 100  # cents
MAX_AMOUNT = 10_000
WITHDRAWAL_SHARE = 0.4
MAX_ITEMS = 5
MAX_QTY = 5
SKUS = 1_000
ENTRY_SPACING = dt.timedelta(minutes=1)
# Status of a seeded order, its version, and (for cancelled ones) the status it was cancelled from.
ORDER_FATES: tuple[tuple[OrderStatus, int, OrderStatus | None], ...] = (
    ("created", 1, None),
    ("paid", 2, None),
    ("shipped", 3, None),
    ("cancelled", 2, "created"),
    ("cancelled", 3, "paid"),
)
ORDER_FATE_SHARES = (0.4, 0.3, 0.2, 0.05, 0.05)

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SeedSpec:
    accounts: int
    entries: int  # ledger entries per account, the opening deposit included
    customers: int
    orders: int
    seed: int

    def __post_init__(self) -> None:
        if self.accounts < 1 or self.entries < 1 or self.customers < 1 or self.orders < 0:
            raise ValueError("a data set needs at least one account, one entry per account and one customer")


def _uuids(rng: np.random.Generator, count: int) -> list[uuid.UUID]:
    raw = rng.integers(0, 256, size=(count, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    return [uuid.UUID(bytes=row.tobytes()) for row in raw]


class Dataset:
    """The data of one SeedSpec; arrays are computed on first use."""

    def __init__(self, spec: SeedSpec) -> None:
        self.spec = spec
        self._rng = np.random.default_rng(spec.seed)
        # Drawn in a fixed order, each from its own child generator: adding a field later keeps the others.
        accounts_rng, ledger_rng, customers_rng, orders_rng = self._rng.spawn(4)
        self.account_ids = _uuids(accounts_rng, spec.accounts)
        self.customer_ids = _uuids(customers_rng, spec.customers)
        self._ledger_rng = ledger_rng
        self._orders_rng = orders_rng

    # Accounts and their ledgers: entry 1 is the opening deposit, large enough that no later
    # withdrawal overdraws, so every balance_after is valid and the data is the same for every target.
    @cached_property
    def ledger(self) -> tuple[IntArray, npt.NDArray[np.bool_], IntArray]:
        """(amounts, is_withdrawal, balance_after), each shaped (accounts, entries)."""
        spec, rng = self.spec, self._ledger_rng
        amounts = rng.integers(MIN_AMOUNT, MAX_AMOUNT + 1, size=(spec.accounts, spec.entries), dtype=np.int64)
        amounts[:, 0] = rng.integers(spec.entries * MAX_AMOUNT, 2 * spec.entries * MAX_AMOUNT + 1, size=spec.accounts)
        withdrawal = rng.random((spec.accounts, spec.entries)) < WITHDRAWAL_SHARE
        withdrawal[:, 0] = False
        balance_after = np.cumsum(np.where(withdrawal, -amounts, amounts), axis=1)
        return amounts, withdrawal, balance_after

    def ledger_rows(self, first: int, stop: int) -> Iterator[LedgerRow]:
        """The ledger entries of accounts first..stop-1, in account and version order."""
        amounts, withdrawal, balance_after = self.ledger
        for index in range(first, stop):
            account_id = self.account_ids[index]
            rows = zip(amounts[index].tolist(), withdrawal[index].tolist(), balance_after[index].tolist(), strict=True)
            for version, (amount, out, after) in enumerate(rows, start=1):
                yield LedgerRow(index, account_id, version, amount, out, after, self.entry_at(index, version))

    @property
    def balances(self) -> IntArray:
        return self.ledger[2][:, -1]

    @staticmethod
    def opened_at(account: int) -> dt.datetime:
        return EPOCH + dt.timedelta(seconds=account)

    def entry_at(self, account: int, version: int) -> dt.datetime:
        return self.opened_at(account) + (version - 1) * ENTRY_SPACING

    # Orders: customer, items, and a fate (status reached by transitions).
    @cached_property
    def orders(self) -> OrderArrays:
        spec, rng = self.spec, self._orders_rng
        ids = _uuids(rng, spec.orders)
        customer = rng.integers(0, spec.customers, size=spec.orders)
        fate = rng.choice(len(ORDER_FATES), size=spec.orders, p=ORDER_FATE_SHARES)
        item_count = rng.integers(1, MAX_ITEMS + 1, size=spec.orders)
        order_of_item = np.repeat(np.arange(spec.orders), item_count)
        items = len(order_of_item)
        first_item = np.cumsum(item_count) - item_count
        line_no = np.arange(items) - np.repeat(first_item, item_count) + 1
        sku = rng.integers(0, SKUS, size=items)
        qty = rng.integers(1, MAX_QTY + 1, size=items)
        unit_price = rng.integers(MIN_AMOUNT, MAX_AMOUNT + 1, size=items)
        total = np.bincount(order_of_item, weights=qty * unit_price, minlength=spec.orders).astype(np.int64)
        return OrderArrays(ids, customer, fate, total, order_of_item, line_no, sku, qty, unit_price)

    def order_lines(self) -> list[list[tuple[str, int, int]]]:
        """Each order's items as (sku, qty, unit_price), in line order."""
        orders = self.orders
        lines: list[list[tuple[str, int, int]]] = [[] for _ in orders.ids]
        columns = (orders.order_of_item.tolist(), orders.sku.tolist(), orders.qty.tolist(), orders.unit_price.tolist())
        for order, sku, qty, unit_price in zip(*columns, strict=True):
            lines[order].append((sku_name(sku), qty, unit_price))
        return lines

    @staticmethod
    def order_created_at(order: int) -> dt.datetime:
        return EPOCH + dt.timedelta(seconds=order)


class LedgerRow(NamedTuple):
    account: int  # index into Dataset.account_ids
    account_id: uuid.UUID
    version: int  # 1 is the opening deposit
    amount: int
    withdrawal: bool
    balance_after: int
    at: dt.datetime


@dataclass(frozen=True)
class OrderArrays:
    ids: list[uuid.UUID]
    customer: IntArray  # index into Dataset.customer_ids
    fate: IntArray  # index into ORDER_FATES
    total: IntArray
    order_of_item: IntArray
    line_no: IntArray
    sku: IntArray
    qty: IntArray
    unit_price: IntArray


def sku_name(sku: int) -> str:
    return f"sku-{sku:04d}"
