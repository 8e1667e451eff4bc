"""What a target must implement behind the shared HTTP layer.

The HTTP layer (parsing, validation, error mapping, OpenAPI) is identical for
every target, so a comparison measures the architecture behind this protocol,
not differences in request handling.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from targets.common.contract import (
    Account,
    BalanceChanged,
    CreateOrder,
    CustomerOrders,
    MoneyMovement,
    OpenAccount,
    Order,
    OrderAction,
    OrderCreated,
    OrderTransitioned,
    Statement,
)
from targets.common.stats import Stats

T = TypeVar("T")


@dataclass(frozen=True)
class Idempotency:
    """An Idempotency-Key and the fingerprint of the request it was sent with."""

    key: str
    fingerprint: str


@dataclass(frozen=True)
class Written(Generic[T]):
    value: T
    replayed: bool = False


@dataclass(frozen=True)
class Read(Generic[T]):
    value: T
    stale: bool = False


class Service(Protocol):
    name: str

    async def open_account(self, command: OpenAccount, idempotency: Idempotency | None) -> Written[Account]: ...

    async def deposit(
        self, account_id: uuid.UUID, command: MoneyMovement, idempotency: Idempotency | None
    ) -> Written[BalanceChanged]: ...

    async def withdraw(
        self, account_id: uuid.UUID, command: MoneyMovement, idempotency: Idempotency | None
    ) -> Written[BalanceChanged]: ...

    async def get_account(self, account_id: uuid.UUID, min_version: int | None) -> Read[Account]: ...

    async def statement(self, account_id: uuid.UUID, limit: int, min_version: int | None) -> Read[Statement]: ...

    async def create_order(self, command: CreateOrder, idempotency: Idempotency | None) -> Written[OrderCreated]: ...

    async def transition_order(
        self, order_id: uuid.UUID, action: OrderAction, idempotency: Idempotency | None
    ) -> Written[OrderTransitioned]: ...

    async def get_order(self, order_id: uuid.UUID, min_version: int | None) -> Read[Order]: ...

    async def customer_orders(self, customer_id: uuid.UUID, limit: int) -> CustomerOrders: ...

    async def stats(self) -> Stats: ...

    async def close(self) -> None: ...
