"""Pure decisions: a command against the current state of its stream gives an event, or a refusal.

Refusals are the same ApiErrors, with the same sentences, as the CRUD baseline's.
"""

from __future__ import annotations

import uuid

from targets.common import contract
from targets.common.errors import BalanceLimit, InsufficientFunds, InvalidTransition, NotFound
from targets.cqrs import commands
from targets.cqrs.events import (
    AccountOpened,
    DepositMade,
    OrderCancelled,
    OrderCreated,
    OrderEvent,
    OrderPaid,
    OrderShipped,
    WithdrawalMade,
)
from targets.cqrs.state import AccountState, OrderState, StreamState


def _account(state: StreamState | None, account_id: uuid.UUID) -> AccountState:
    if not isinstance(state, AccountState):
        raise NotFound(f"account {account_id} does not exist")
    return state


def _order(state: StreamState | None, order_id: uuid.UUID) -> OrderState:
    if not isinstance(state, OrderState):
        raise NotFound(f"order {order_id} does not exist")
    return state


def open_account(command: commands.OpenAccount) -> AccountOpened:
    return AccountOpened(owner=command.owner, initial_deposit=command.initial_deposit)


def deposit(state: StreamState | None, command: commands.DepositMoney) -> DepositMade:
    account = _account(state, command.account_id)
    if account.balance > contract.MAX_BALANCE - command.amount:
        raise BalanceLimit(f"a deposit of {command.amount} would take the balance past {contract.MAX_BALANCE}")
    return DepositMade(amount=command.amount, balance_after=account.balance + command.amount)


def withdraw(state: StreamState | None, command: commands.WithdrawMoney) -> WithdrawalMade:
    account = _account(state, command.account_id)
    if account.balance < command.amount:
        raise InsufficientFunds(f"cannot withdraw {command.amount}: the balance is {account.balance}")
    return WithdrawalMade(amount=command.amount, balance_after=account.balance - command.amount)


def create_order(command: commands.CreateOrder) -> OrderCreated:
    total = sum(item.qty * item.unit_price for item in command.items)
    return OrderCreated(customer_id=command.customer_id, items=command.items, total=total)


def transition(state: StreamState | None, command: commands.TransitionCommand) -> OrderEvent:
    order = _order(state, command.order_id)
    allowed_from, _ = contract.ORDER_TRANSITIONS[command.action]
    if order.status not in allowed_from:
        raise InvalidTransition(f"cannot {command.action} an order that is {order.status}")
    match command:
        case commands.PayOrder():
            return OrderPaid(customer_id=order.customer_id, total=order.total)
        case commands.ShipOrder():
            return OrderShipped(customer_id=order.customer_id, total=order.total)
        case commands.CancelOrder():
            return OrderCancelled(customer_id=order.customer_id, total=order.total, previous_status=order.status)
