"""Typed commands: what a client asks the write side to do. `Command[R]` answers with an R."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from targets.common import contract

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Command(Generic[R]):
    pass


@dataclass(frozen=True, slots=True)
class OpenAccount(Command[contract.Account]):
    account_id: uuid.UUID
    owner: str
    initial_deposit: int


@dataclass(frozen=True, slots=True)
class DepositMoney(Command[contract.BalanceChanged]):
    account_id: uuid.UUID
    amount: int


@dataclass(frozen=True, slots=True)
class WithdrawMoney(Command[contract.BalanceChanged]):
    account_id: uuid.UUID
    amount: int


@dataclass(frozen=True, slots=True)
class CreateOrder(Command[contract.OrderCreated]):
    order_id: uuid.UUID
    customer_id: uuid.UUID
    items: list[contract.OrderLine]


@dataclass(frozen=True, slots=True)
class PayOrder(Command[contract.OrderTransitioned]):
    action: ClassVar[contract.OrderAction] = "pay"
    order_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class ShipOrder(Command[contract.OrderTransitioned]):
    action: ClassVar[contract.OrderAction] = "ship"
    order_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class CancelOrder(Command[contract.OrderTransitioned]):
    action: ClassVar[contract.OrderAction] = "cancel"
    order_id: uuid.UUID


TransitionCommand = PayOrder | ShipOrder | CancelOrder

TRANSITION_COMMANDS: dict[contract.OrderAction, type[TransitionCommand]] = {
    "pay": PayOrder,
    "ship": ShipOrder,
    "cancel": CancelOrder,
}
