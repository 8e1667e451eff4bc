"""The HTTP contract every target serves, as msgspec structs.

These structs are the single source of truth: request bodies are decoded and
validated with them, responses are encoded from them, and the OpenAPI document
is generated from them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

# Amounts are integer cents. The ceiling keeps every sum a target computes
# (order totals, balances, statement totals) far inside a signed 64-bit integer.
MAX_AMOUNT = 10**12
MAX_BALANCE = 2**63 - 1
MAX_ORDER_ITEMS = 50
MAX_QTY = 10_000
MAX_LIMIT = 100
MAX_MIN_VERSION = 2**62  # the largest ?min_version= a read takes (beyond any stream's version)
DEFAULT_LIMIT = 20

Amount = Annotated[int, msgspec.Meta(gt=0, le=MAX_AMOUNT, description="integer cents, > 0")]
NonNegativeAmount = Annotated[int, msgspec.Meta(ge=0, le=MAX_AMOUNT, description="integer cents, >= 0")]
# PostgreSQL's text cannot hold a NUL character: it is refused here, in the schema, not by the database.
_NO_NUL = "^[^\\x00]*$"
Owner = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=_NO_NUL, description="no NUL characters")]
Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=_NO_NUL, description="no NUL characters")]
Quantity = Annotated[int, msgspec.Meta(gt=0, le=MAX_QTY)]

OrderStatus = Literal["created", "paid", "shipped", "cancelled"]
ORDER_STATUSES: tuple[OrderStatus, ...] = ("created", "paid", "shipped", "cancelled")
TransactionKind = Literal["deposit", "withdrawal"]


class Request(msgspec.Struct, forbid_unknown_fields=True):
    """Base of request bodies: unknown fields are a 422, not silently dropped."""


class OpenAccount(Request):
    owner: Owner
    initial_deposit: NonNegativeAmount = 0


class MoneyMovement(Request):
    amount: Amount


class OrderItem(Request):
    sku: Sku
    qty: Quantity
    unit_price: NonNegativeAmount


class CreateOrder(Request):
    customer_id: uuid.UUID
    items: Annotated[list[OrderItem], msgspec.Meta(min_length=1, max_length=MAX_ORDER_ITEMS)]


class Account(msgspec.Struct, frozen=True):
    id: uuid.UUID
    owner: str
    balance: int
    version: int


class BalanceChanged(msgspec.Struct, frozen=True):
    id: uuid.UUID
    balance: int
    version: int


class Transaction(msgspec.Struct, frozen=True):
    version: int
    kind: TransactionKind
    amount: int
    balance_after: int
    at: dt.datetime


class StatementTotals(msgspec.Struct, frozen=True):
    deposited: int
    withdrawn: int
    count: int


class Statement(msgspec.Struct, frozen=True):
    id: uuid.UUID
    balance: int
    version: int
    transactions: list[Transaction]
    totals: StatementTotals


class OrderCreated(msgspec.Struct, frozen=True):
    id: uuid.UUID
    customer_id: uuid.UUID
    status: OrderStatus
    total: int
    version: int


class OrderTransitioned(msgspec.Struct, frozen=True):
    id: uuid.UUID
    status: OrderStatus
    version: int


class OrderLine(msgspec.Struct, frozen=True):
    sku: str
    qty: int
    unit_price: int


class Order(msgspec.Struct, frozen=True):
    id: uuid.UUID
    customer_id: uuid.UUID
    status: OrderStatus
    total: int
    version: int
    created_at: dt.datetime
    items: list[OrderLine]


class OrderSummary(msgspec.Struct, frozen=True):
    id: uuid.UUID
    status: OrderStatus
    total: int
    version: int
    created_at: dt.datetime


class CustomerOrders(msgspec.Struct, frozen=True):
    """The customer dashboard. lifetime_total sums the orders that were paid (paid or shipped)."""

    customer_id: uuid.UUID
    recent: list[OrderSummary]
    counts_by_status: dict[str, int]
    lifetime_total: int


class Health(msgspec.Struct, frozen=True):
    status: str
    target: str


class Error(msgspec.Struct, frozen=True):
    error: str
    detail: str


OrderAction = Literal["pay", "ship", "cancel"]

# created -> paid -> shipped; created|paid -> cancelled
ORDER_TRANSITIONS: dict[OrderAction, tuple[frozenset[str], OrderStatus]] = {
    "pay": (frozenset({"created"}), "paid"),
    "ship": (frozenset({"paid"}), "shipped"),
    "cancel": (frozenset({"created", "paid"}), "cancelled"),
}
PAID_STATUSES = frozenset({"paid", "shipped"})


def order_total(items: list[OrderItem]) -> int:
    return sum(item.qty * item.unit_price for item in items)
