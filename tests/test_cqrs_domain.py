"""The CQRS target's pure parts: decisions, state folding, the command bus, shards, and the small caches."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass

import pytest

from targets.common import contract
from targets.common.errors import BalanceLimit, InsufficientFunds, InvalidTransition, NotFound
from targets.common.service import Idempotency, Written
from targets.cqrs import commands, decide
from targets.cqrs.bus import CommandBus, UnknownCommand
from targets.cqrs.cache import StateCache
from targets.cqrs.events import (
    AccountOpened,
    DepositMade,
    Event,
    OrderCancelled,
    OrderCreated,
    OrderPaid,
    OrderShipped,
    RecordedEvent,
    UnknownEventType,
    decode_data,
    encode_data,
)
from targets.cqrs.fold import fold_dashboards, fold_stream
from targets.cqrs.history import parse_as_of
from targets.cqrs.locks import StreamLocks
from targets.cqrs.shards import Shard, shard_of
from targets.cqrs.state import AccountState, EventDoesNotFit, OrderState, evolve

pytestmark = pytest.mark.timeout(10)

ACCOUNT = uuid.uuid4()
ORDER = uuid.uuid4()
CUSTOMER = uuid.uuid4()


def test_withdrawing_more_than_the_balance_is_refused_with_crud_wording() -> None:
    with pytest.raises(InsufficientFunds, match="cannot withdraw 101: the balance is 100"):
        decide.withdraw(AccountState(version=3, balance=100), commands.WithdrawMoney(ACCOUNT, 101))
    made = decide.withdraw(AccountState(version=3, balance=100), commands.WithdrawMoney(ACCOUNT, 100))
    assert (made.amount, made.balance_after) == (100, 0)


def test_a_deposit_past_the_balance_limit_is_refused() -> None:
    full = AccountState(version=2, balance=contract.MAX_BALANCE - 5)
    with pytest.raises(BalanceLimit, match="past"):
        decide.deposit(full, commands.DepositMoney(ACCOUNT, 6))
    assert decide.deposit(full, commands.DepositMoney(ACCOUNT, 5)).balance_after == contract.MAX_BALANCE


@pytest.mark.parametrize("state", [None, OrderState(1, "created", CUSTOMER, 10)])
def test_money_commands_on_anything_but_an_account_are_404(state: OrderState | None) -> None:
    with pytest.raises(NotFound, match=f"account {ACCOUNT} does not exist"):
        decide.deposit(state, commands.DepositMoney(ACCOUNT, 1))


@pytest.mark.parametrize(
    ("status", "command", "allowed"),
    [
        ("created", commands.PayOrder, True),
        ("created", commands.ShipOrder, False),
        ("created", commands.CancelOrder, True),
        ("paid", commands.ShipOrder, True),
        ("paid", commands.CancelOrder, True),
        ("shipped", commands.CancelOrder, False),
        ("cancelled", commands.PayOrder, False),
    ],
)
def test_order_transitions_follow_the_contract(
    status: contract.OrderStatus, command: type[commands.TransitionCommand], allowed: bool
) -> None:
    state = OrderState(version=2, status=status, customer_id=CUSTOMER, total=99)
    if not allowed:
        with pytest.raises(InvalidTransition, match=f"cannot {command.action} an order that is {status}"):
            decide.transition(state, command(ORDER))
        return
    event = decide.transition(state, command(ORDER))
    after = evolve(state, event)
    assert isinstance(after, OrderState)
    assert after.version == 3
    assert after.status == contract.ORDER_TRANSITIONS[command.action][1]
    assert (event.customer_id, event.total) == (CUSTOMER, 99)


def test_a_cancellation_remembers_what_was_cancelled() -> None:
    event = decide.transition(OrderState(2, "paid", CUSTOMER, 50), commands.CancelOrder(ORDER))
    assert event == OrderCancelled(customer_id=CUSTOMER, total=50, previous_status="paid")


def test_an_order_total_is_the_sum_of_its_lines() -> None:
    lines = [contract.OrderLine("a", 2, 150), contract.OrderLine("b", 1, 7)]
    assert decide.create_order(commands.CreateOrder(ORDER, CUSTOMER, lines)).total == 307


def test_events_that_cannot_follow_the_state_are_refused() -> None:
    with pytest.raises(EventDoesNotFit, match="DepositMade"):
        evolve(None, DepositMade(amount=1, balance_after=1))
    with pytest.raises(EventDoesNotFit, match="AccountOpened"):
        evolve(AccountState(1, 0), AccountOpened(owner="x", initial_deposit=0))
    with pytest.raises(EventDoesNotFit, match="OrderPaid"):
        evolve(AccountState(1, 0), OrderPaid(customer_id=CUSTOMER, total=1))


def test_event_data_round_trips_and_unknown_types_are_named() -> None:
    event = OrderCreated(customer_id=CUSTOMER, items=[contract.OrderLine("s", 1, 2**62)], total=2**62)
    assert decode_data("OrderCreated", encode_data(event)) == event
    with pytest.raises(UnknownEventType, match="'AccountClosed'"):
        decode_data("AccountClosed", b"{}")


@dataclass(frozen=True, slots=True)
class CloseAccount(commands.Command[contract.Account]):
    account_id: uuid.UUID


def test_the_bus_routes_by_command_type_and_names_an_unknown_one() -> None:
    bus = CommandBus()
    seen: list[commands.DepositMoney] = []

    async def deposit(
        command: commands.DepositMoney, idempotency: Idempotency | None
    ) -> Written[contract.BalanceChanged]:
        seen.append(command)
        return Written(contract.BalanceChanged(id=command.account_id, balance=command.amount, version=2))

    bus.register(commands.DepositMoney, deposit)
    written = asyncio.run(bus.dispatch(commands.DepositMoney(ACCOUNT, 5)))
    assert written.value.balance == 5
    assert seen == [commands.DepositMoney(ACCOUNT, 5)]
    with pytest.raises(UnknownCommand, match="no handler for command type CloseAccount"):
        asyncio.run(bus.dispatch(CloseAccount(ACCOUNT)))
    with pytest.raises(ValueError, match="DepositMoney already has a handler"):
        bus.register(commands.DepositMoney, deposit)


def test_shards_split_streams_by_their_last_bits() -> None:
    assert shard_of(uuid.UUID(int=0x1_0007), 4) == 3
    ids = [uuid.uuid4() for _ in range(2_000)]
    counts = [sum(shard_of(i, 4) == s for i in ids) for s in range(4)]
    assert min(counts) > 350  # uuid4's last bits are random: about 500 each
    assert Shard(1, 4).name == "1/4"
    with pytest.raises(ValueError, match="0 <= shard < shards"):
        Shard(4, 4)


def test_the_state_cache_forgets_the_least_recently_written_first() -> None:
    cache = StateCache(capacity=2)
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    cache.put(a, AccountState(1, 1))
    cache.put(b, AccountState(1, 2))
    cache.put(a, AccountState(2, 3))
    cache.put(c, AccountState(1, 4))
    assert cache.get(b) is None
    assert cache.get(a) == AccountState(2, 3)
    assert len(cache) == 2
    assert StateCache(capacity=0).get(a) is None


def test_stream_locks_serialize_one_stream_and_are_forgotten_when_free() -> None:
    locks = StreamLocks()
    order: list[str] = []

    async def hold(name: str, stream: uuid.UUID, started: asyncio.Event | None = None) -> None:
        async with locks.hold(stream):
            order.append(f"{name} in")
            if started is not None:
                started.set()
            await asyncio.sleep(0)
            order.append(f"{name} out")

    async def scenario() -> None:
        stream = uuid.uuid4()
        await asyncio.gather(hold("a", stream), hold("b", stream))
        assert len(locks) == 0

    asyncio.run(scenario())
    assert order == ["a in", "a out", "b in", "b out"]


def test_as_of_is_a_position_or_a_timestamp() -> None:
    assert parse_as_of("42") == 42
    assert parse_as_of("2025-01-31T12:00:00") == dt.datetime(2025, 1, 31, 12, tzinfo=dt.UTC)
    assert parse_as_of("2025-01-31T12:00:00+02:00") == dt.datetime(2025, 1, 31, 10, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="global position"):
        parse_as_of("yesterday")


def _recorded(stream: uuid.UUID, version: int, event: Event, position: int) -> RecordedEvent:
    return RecordedEvent(stream, version, event, position, 1000 + position, dt.datetime(2025, 1, 1, tzinfo=dt.UTC))


def test_the_dashboard_fold_counts_a_paid_then_cancelled_order_out_of_the_lifetime_total() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    lines = [contract.OrderLine("x", 1, 10)]
    events = [
        _recorded(first, 1, OrderCreated(customer_id=CUSTOMER, items=lines, total=10), 1),
        _recorded(second, 1, OrderCreated(customer_id=CUSTOMER, items=lines, total=30), 2),
        _recorded(first, 2, OrderPaid(customer_id=CUSTOMER, total=10), 3),
        _recorded(second, 2, OrderPaid(customer_id=CUSTOMER, total=30), 4),
        _recorded(first, 3, OrderShipped(customer_id=CUSTOMER, total=10), 5),
        _recorded(second, 3, OrderCancelled(customer_id=CUSTOMER, total=30, previous_status="paid"), 6),
    ]
    dashboard = fold_dashboards(events)[CUSTOMER]
    assert [o.id for o in dashboard.recent] == [second, first]
    assert dashboard.counts_by_status == {"created": 0, "paid": 0, "shipped": 1, "cancelled": 1}
    assert dashboard.lifetime_total == 10
    order = fold_stream(second, [e for e in events if e.stream_id == second])
    assert isinstance(order, contract.Order)
    assert (order.status, order.version) == ("cancelled", 3)
