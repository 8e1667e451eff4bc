"""The read models computed straight from events, in Python: what `bench history` shows, and what tests
compare the Redis read models (and a rebuild) against."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import TypeAlias

import msgspec

from targets.common import contract
from targets.cqrs.events import (
    AccountOpened,
    DepositMade,
    OrderCancelled,
    OrderCreated,
    OrderPaid,
    OrderShipped,
    RecordedEvent,
    WithdrawalMade,
)
from targets.cqrs.state import EventDoesNotFit


class AccountView(msgspec.Struct, frozen=True):
    """An account with its whole statement, newest transaction first."""

    id: uuid.UUID
    owner: str
    balance: int
    version: int
    transactions: list[contract.Transaction]
    totals: contract.StatementTotals

    def account(self) -> contract.Account:
        return contract.Account(id=self.id, owner=self.owner, balance=self.balance, version=self.version)

    def statement(self, limit: int) -> contract.Statement:
        return contract.Statement(
            id=self.id,
            balance=self.balance,
            version=self.version,
            transactions=self.transactions[:limit],
            totals=self.totals,
        )


StreamView: TypeAlias = AccountView | contract.Order


def _check_contiguous(stream_id: uuid.UUID, events: Sequence[RecordedEvent]) -> None:
    for expected, recorded in enumerate(events, start=1):
        if recorded.stream_id != stream_id or recorded.version != expected:
            raise EventDoesNotFit(
                f"stream {stream_id}: expected version {expected}, found {recorded.stream_id} v{recorded.version}"
            )


def _transaction(
    recorded: RecordedEvent, kind: contract.TransactionKind, amount: int, balance: int
) -> contract.Transaction:
    return contract.Transaction(
        version=recorded.version, kind=kind, amount=amount, balance_after=balance, at=recorded.created_at
    )


def fold_account(stream_id: uuid.UUID, events: Sequence[RecordedEvent]) -> AccountView:
    _check_contiguous(stream_id, events)
    owner, balance, deposited, withdrawn = "", 0, 0, 0
    transactions: list[contract.Transaction] = []
    for recorded in events:
        match recorded.event:
            case AccountOpened(owner=opened_by, initial_deposit=deposit):
                owner, balance, deposited = opened_by, deposit, deposit
                if deposit > 0:
                    transactions.append(_transaction(recorded, "deposit", deposit, deposit))
            case DepositMade(amount=amount, balance_after=after):
                balance, deposited = after, deposited + amount
                transactions.append(_transaction(recorded, "deposit", amount, after))
            case WithdrawalMade(amount=amount, balance_after=after):
                balance, withdrawn = after, withdrawn + amount
                transactions.append(_transaction(recorded, "withdrawal", amount, after))
            case _:
                raise EventDoesNotFit(f"stream {stream_id}: {recorded.type} in an account stream")
    return AccountView(
        id=stream_id,
        owner=owner,
        balance=balance,
        version=len(events),
        transactions=transactions[::-1],
        totals=contract.StatementTotals(deposited=deposited, withdrawn=withdrawn, count=len(transactions)),
    )


def fold_order(stream_id: uuid.UUID, events: Sequence[RecordedEvent]) -> contract.Order:
    _check_contiguous(stream_id, events)
    first = events[0]
    if not isinstance(first.event, OrderCreated):
        raise EventDoesNotFit(f"stream {stream_id}: an order stream starts with {first.type}")
    status: contract.OrderStatus = "created"
    for recorded in events[1:]:
        match recorded.event:
            case OrderPaid():
                status = "paid"
            case OrderShipped():
                status = "shipped"
            case OrderCancelled():
                status = "cancelled"
            case _:
                raise EventDoesNotFit(f"stream {stream_id}: {recorded.type} after the order was created")
    return contract.Order(
        id=stream_id,
        customer_id=first.event.customer_id,
        status=status,
        total=first.event.total,
        version=len(events),
        created_at=first.created_at,
        items=first.event.items,
    )


def fold_stream(stream_id: uuid.UUID, events: Sequence[RecordedEvent]) -> StreamView | None:
    """The stream's read model after `events` (its first versions, in order); None before any."""
    if not events:
        return None
    if isinstance(events[0].event, AccountOpened):
        return fold_account(stream_id, events)
    return fold_order(stream_id, events)


def group_by_stream(events: Iterable[RecordedEvent]) -> dict[uuid.UUID, list[RecordedEvent]]:
    streams: dict[uuid.UUID, list[RecordedEvent]] = {}
    for recorded in events:
        streams.setdefault(recorded.stream_id, []).append(recorded)
    for stream in streams.values():
        stream.sort(key=lambda r: r.version)
    return streams


def fold_dashboards(events: Iterable[RecordedEvent]) -> dict[uuid.UUID, contract.CustomerOrders]:
    """Every customer's dashboard with all of their orders in `recent`, newest first."""
    orders = [
        (stream[0].global_position, fold_order(stream_id, stream))
        for stream_id, stream in group_by_stream(events).items()
        if isinstance(stream[0].event, OrderCreated)
    ]
    orders.sort(key=lambda entry: entry[0], reverse=True)
    dashboards: dict[uuid.UUID, contract.CustomerOrders] = {}
    for _, order in orders:
        dashboard = dashboards.get(order.customer_id)
        if dashboard is None:
            dashboard = dashboards[order.customer_id] = contract.CustomerOrders(
                customer_id=order.customer_id,
                recent=[],
                counts_by_status=dict.fromkeys(contract.ORDER_STATUSES, 0),
                lifetime_total=0,
            )
        dashboard.recent.append(
            contract.OrderSummary(
                id=order.id, status=order.status, total=order.total, version=order.version, created_at=order.created_at
            )
        )
        dashboard.counts_by_status[order.status] += 1
    return {
        customer_id: msgspec.structs.replace(
            dashboard,
            lifetime_total=sum(o.total for o in dashboard.recent if o.status in contract.PAID_STATUSES),
        )
        for customer_id, dashboard in dashboards.items()
    }
