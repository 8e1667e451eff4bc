"""The read store setting, and each read store's writer against real servers: the applied-version rule,
stale generations, NOTIFY payload limits, and the checks that must catch a planted double apply."""

from __future__ import annotations

import uuid

import pytest

from targets.common import contract
from targets.common.settings import SettingsError
from targets.cqrs import commands
from targets.cqrs.eventstore import Cursor
from targets.cqrs.pg_readmodels import NOTIFY_PAYLOAD_BYTES, notify_payloads
from targets.cqrs.readstore import ApplyOptions
from targets.cqrs.settings import CqrsSettings
from targets.registry import get_target
from tests.cqrs_support import CqrsStore

pytestmark = pytest.mark.timeout(60)


def test_the_read_store_is_a_setting_whose_errors_name_the_key() -> None:
    assert CqrsSettings.from_env({}).read_store == "redis"
    postgres = CqrsSettings.from_env({"BENCH_CQRS_READ_STORE": "postgres"})
    assert postgres.read_store == "postgres"
    assert CqrsSettings.from_env(postgres.to_env()) == postgres
    with pytest.raises(SettingsError, match="BENCH_CQRS_READ_STORE='mongo': expected redis or postgres"):
        CqrsSettings.from_env({"BENCH_CQRS_READ_STORE": "mongo"})


def test_only_cqrs_with_redis_read_models_needs_redis() -> None:
    cqrs, crud, floor = get_target("cqrs", {}), get_target("crud", {}), get_target("floor", {})
    assert cqrs.uses_redis({})
    assert not cqrs.uses_redis({"BENCH_CQRS_READ_STORE": "postgres"})
    assert cqrs.uses_redis({"BENCH_CQRS_READ_STORE": "bad"}), "the target's own check is to name the bad key"
    assert not crud.uses_redis({"BENCH_CQRS_READ_STORE": "redis"})
    assert not floor.uses_redis({})


def test_announcements_are_split_below_the_notify_payload_limit() -> None:
    entries = [f"{uuid.uuid4()}:{version}" for version in range(1, 1_001)]
    payloads = notify_payloads(entries)
    assert len(payloads) > 1
    assert all(len(payload) < NOTIFY_PAYLOAD_BYTES for payload in payloads)
    assert " ".join(payloads).split(" ") == entries
    assert notify_payloads([]) == []


@pytest.fixture
def store(store_on_each_read_store: CqrsStore) -> CqrsStore:
    return store_on_each_read_store


async def _history(store: CqrsStore) -> list[uuid.UUID]:
    """Two accounts with deposits and withdrawals, and a customer's orders in every state, on the write side."""
    handlers = store.handlers()
    accounts = [uuid.uuid4(), uuid.uuid4()]
    for account in accounts:
        await handlers.open_account(commands.OpenAccount(account, "ann", 0 if account == accounts[0] else 50), None)
        await handlers.deposit(commands.DepositMoney(account, 30), None)
        await handlers.withdraw(commands.WithdrawMoney(account, 20), None)
    customer = uuid.uuid4()
    journeys: list[list[contract.OrderAction]] = [[], ["pay"], ["pay", "ship"], ["cancel"], ["pay", "cancel"]]
    for moves in journeys:
        order = uuid.uuid4()
        await handlers.create_order(
            commands.CreateOrder(order, customer, [contract.OrderLine(sku="s", qty=2, unit_price=150)]), None
        )
        for move in moves:
            await handlers.transition_order(commands.TRANSITION_COMMANDS[move](order), None)
    return accounts


def _options(cursor: Cursor) -> ApplyOptions:
    return ApplyOptions(checkpoint_field="0/1", checkpoint=cursor.encode())


@pytest.mark.anyio
async def test_a_batch_applied_twice_counts_once_and_folds_like_the_events(store: CqrsStore) -> None:
    await _history(store)
    events = await store.events()
    writer, generation = store.read.writer, await store.generation()
    first = await writer.apply(generation, writer.encode(events), _options(Cursor.after(events[-1])))
    assert (first.applied, first.gaps) == (len(events), {})
    again = await writer.apply(generation, writer.encode(events), _options(Cursor.after(events[-1])))
    assert (again.applied, again.gaps) == (0, {})
    assert await store.applied() == len(events)
    assert await store.checkpoint("0/1") == Cursor.after(events[-1])
    assert await store.mismatches() == []


@pytest.mark.anyio
async def test_a_gap_is_reported_and_holds_the_checkpoint_back(store: CqrsStore) -> None:
    [account, _] = await _history(store)
    events = [e for e in await store.events() if e.stream_id == account]
    writer, generation = store.read.writer, await store.generation()
    await writer.apply(generation, writer.encode(events[:1]), _options(Cursor.after(events[0])))
    result = await writer.apply(generation, writer.encode(events[2:]), _options(Cursor.after(events[-1])))
    assert (result.applied, result.gaps) == (0, {account: 1})
    assert await store.checkpoint("0/1") == Cursor.after(events[0])
    filled = await writer.apply(generation, writer.encode(events[1:]), _options(Cursor.after(events[-1])))
    assert (filled.applied, filled.gaps) == (2, {})
    assert await store.checkpoint("0/1") == Cursor.after(events[-1])


@pytest.mark.anyio
async def test_a_batch_for_a_generation_older_than_the_current_one_writes_nothing(store: CqrsStore) -> None:
    await _history(store)
    events = await store.events()
    writer, old = store.read.writer, await store.generation()
    new = await writer.new_generation()
    assert await writer.switch_to(new)
    assert not await writer.switch_to(old), "an older generation never comes back"
    result = await writer.apply(old, writer.encode(events), _options(Cursor.after(events[-1])))
    assert result.stale_for == new
    assert (await writer.applied(old), await writer.applied(new)) == (0, 0)
    assert await writer.held_by(old) == 0


@pytest.mark.anyio
async def test_the_checks_catch_a_planted_double_apply(store: CqrsStore) -> None:
    """What `mismatches` and the applied count prove absent, shown present when planted by hand."""
    [_, account] = await _history(store)
    events = await store.events()
    writer, generation = store.read.writer, await store.generation()
    await writer.apply(generation, writer.encode(events), _options(Cursor.after(events[-1])))
    assert await store.mismatches() == []
    await store.tamper_account(account, "deposited", 30)  # the deposit of version 2, applied a second time
    await store.tamper_applied(1)
    found = await store.mismatches()
    assert any(f"statement {account}" in problem for problem in found), found
    assert await store.applied() == len(events) + 1, "the double apply shows in the applied count too"
