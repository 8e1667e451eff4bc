"""The write side's decision state of a stream, and how each event changes it.

Events carry absolute values (balance_after, the order's total), so folding is
trivial and the same function serves the write side and time travel.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TypeAlias

from targets.common.contract import OrderStatus
from targets.cqrs.events import (
    AccountOpened,
    DepositMade,
    Event,
    OrderCancelled,
    OrderCreated,
    OrderPaid,
    OrderShipped,
    WithdrawalMade,
    type_name,
)


@dataclass(frozen=True, slots=True)
class AccountState:
    version: int
    balance: int


@dataclass(frozen=True, slots=True)
class OrderState:
    version: int
    status: OrderStatus
    customer_id: uuid.UUID
    total: int


StreamState: TypeAlias = AccountState | OrderState


class EventDoesNotFit(ValueError):
    """An event that cannot follow the state it is applied to: the stream is corrupt."""


def evolve(state: StreamState | None, event: Event) -> StreamState:
    """The state after `event`; `state` is None before a stream's first event."""
    match event:
        case AccountOpened(initial_deposit=deposit) if state is None:
            return AccountState(version=1, balance=deposit)
        case DepositMade(balance_after=balance) | WithdrawalMade(balance_after=balance) if isinstance(
            state, AccountState
        ):
            return AccountState(version=state.version + 1, balance=balance)
        case OrderCreated(customer_id=customer_id, total=total) if state is None:
            return OrderState(version=1, status="created", customer_id=customer_id, total=total)
        case OrderPaid() if isinstance(state, OrderState):
            return OrderState(state.version + 1, "paid", state.customer_id, state.total)
        case OrderShipped() if isinstance(state, OrderState):
            return OrderState(state.version + 1, "shipped", state.customer_id, state.total)
        case OrderCancelled() if isinstance(state, OrderState):
            return OrderState(state.version + 1, "cancelled", state.customer_id, state.total)
    raise EventDoesNotFit(f"event {type_name(event)} cannot follow the state {state!r}")
