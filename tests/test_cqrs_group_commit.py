"""Group commit against a real PostgreSQL: many appends in one statement, each with its own guard and outcome."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable

import asyncpg
import pytest

from bench.compare.target_settings import arm_settings
from targets.common import contract
from targets.common.service import Idempotency
from targets.common.settings import SettingsError
from targets.cqrs import commands
from targets.cqrs.appends import AppendOutcome
from targets.cqrs.events import DepositMade
from targets.cqrs.eventstore import EventStore
from targets.cqrs.handlers import CommandHandlers
from targets.cqrs.settings import CqrsSettings
from targets.cqrs.state import AccountState
from tests.cqrs_support import CqrsStore, eventually

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


async def _open(handlers: CommandHandlers, count: int, balance: int = 100) -> list[uuid.UUID]:
    accounts = [uuid.uuid4() for _ in range(count)]
    for account in accounts:
        await handlers.open_account(commands.OpenAccount(account, "gc", balance), None)
    return accounts


async def _versions(store: CqrsStore, stream_id: uuid.UUID) -> list[int]:
    rows = await store.pool.fetch("SELECT version FROM events WHERE stream_id = $1 ORDER BY version", stream_id)
    return [row["version"] for row in rows]


def _deposit(state: AccountState, amount: int) -> tuple[DepositMade, AccountState]:
    event = DepositMade(amount=amount, balance_after=state.balance + amount)
    return event, AccountState(version=state.version + 1, balance=event.balance_after)


def _group_commit(handlers: CommandHandlers) -> tuple[int, int, int, int]:
    """(batches, appends, largest batch, appends retried alone) of a worker."""
    group_commit = handlers.store.group_commit
    assert group_commit is not None
    return group_commit.batches, group_commit.appends, group_commit.largest_batch, group_commit.retried_alone


async def test_one_batch_answers_winners_and_losers_each_with_its_own_outcome(store: CqrsStore) -> None:
    accounts = await _open(store.handlers(group_commit_max=0), 4)
    stale = AccountState(version=1, balance=100)
    await store.handlers(group_commit_max=0).deposit(commands.DepositMoney(accounts[0], 1), None)
    await store.handlers(group_commit_max=0).deposit(commands.DepositMoney(accounts[1], 1), None)

    batching = EventStore(store.pool, group_commit_max=10)
    appends = [batching.append(account, stale, *_deposit(stale, 5)) for account in accounts]
    outcomes = await asyncio.gather(*appends)

    assert outcomes == [AppendOutcome.VERSION_CONFLICT] * 2 + [AppendOutcome.APPENDED] * 2
    assert batching.group_commit is not None
    assert (batching.group_commit.batches, batching.group_commit.largest_batch) == (1, 4)
    for account in accounts:
        assert await _versions(store, account) == [1, 2]
    assert [await store.store.load_state(account) for account in accounts] == [
        AccountState(2, 101),
        AccountState(2, 101),
        AccountState(2, 105),
        AccountState(2, 105),
    ]


async def test_the_losers_of_a_batch_are_retried_alone_and_every_deposit_counts(store: CqrsStore) -> None:
    worker, other = store.handlers(), store.handlers(group_commit_max=0)
    accounts = await _open(worker, 6)  # `worker` now remembers each at version 1
    for account in accounts[:3]:
        await other.deposit(commands.DepositMoney(account, 1), None)

    written = await asyncio.gather(*(worker.deposit(commands.DepositMoney(a, 10), None) for a in accounts))

    assert [w.value.balance for w in written] == [111] * 3 + [110] * 3
    assert [w.value.version for w in written] == [3] * 3 + [2] * 3
    assert worker.conflicts == 3
    batches, appends, largest, _ = _group_commit(worker)
    assert largest == 6, "the six deposits went in one batch"
    assert appends == 6 + 6 + 3  # the opens one by one, the batch, the three losers again
    assert batches < appends


async def test_a_batch_whose_server_connection_dies_fails_every_append_and_writes_nothing(store: CqrsStore) -> None:
    worker = store.handlers()
    accounts = await _open(worker, 3)
    events_before = len(await store.events())
    blocker = await asyncpg.connect(store.dsn)
    try:
        blocking = blocker.transaction()
        await blocking.start()
        await blocker.execute("SELECT 1 FROM streams WHERE stream_id = $1 FOR UPDATE", accounts[1])
        deposits = [asyncio.create_task(worker.deposit(commands.DepositMoney(a, 7), None)) for a in accounts]

        async def batch_waits_for_the_lock() -> bool:
            # The backend our row lock holds up (its `query` may still show asyncpg's type introspection).
            pid = await blocker.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            if pid is None:
                return False
            await blocker.execute("SELECT pg_terminate_backend($1)", pid)
            return True

        await eventually(batch_waits_for_the_lock, "the batch waiting for the locked row")
        results = await asyncio.gather(*deposits, return_exceptions=True)
        await blocking.rollback()
    finally:
        await blocker.close()

    assert all(isinstance(result, asyncpg.PostgresError | asyncpg.InterfaceError) for result in results), results
    assert len({type(result) for result in results}) == 1, "every command got the batch's error"
    assert _group_commit(worker)[2] == 3, "the three deposits were one batch"
    assert len(await store.events()) == events_before
    for account in accounts:
        assert await store.store.load_state(account) == AccountState(version=1, balance=100)
    # The worker goes on: its pool replaces the lost connection.
    retried = await worker.deposit(commands.DepositMoney(accounts[1], 7), None)
    assert retried.value == contract.BalanceChanged(id=accounts[1], balance=107, version=2)


@pytest.mark.parametrize("group_commit_max", [100, 3, 0], ids=["on", "small-batches", "off"])
async def test_concurrent_deposits_from_two_workers_give_exact_balances(
    store: CqrsStore, group_commit_max: int
) -> None:
    workers = [store.handlers(attempts=100, group_commit_max=group_commit_max) for _ in range(2)]
    accounts = await _open(workers[0], 5, balance=0)
    hot = accounts[0]
    targets = [hot if n % 3 == 0 else accounts[n % 5] for n in range(90)]  # a hot account and four others

    await asyncio.gather(
        *(workers[n % 2].deposit(commands.DepositMoney(account, n + 1), None) for n, account in enumerate(targets))
    )

    for account in accounts:
        amounts = [n + 1 for n, target in enumerate(targets) if target == account]
        assert await store.store.load_state(account) == AccountState(len(amounts) + 1, sum(amounts))
        assert await _versions(store, account) == list(range(1, len(amounts) + 2))
    if group_commit_max == 0:
        assert all(worker.store.group_commit is None for worker in workers)
    else:
        assert all(_group_commit(worker)[2] > 1 for worker in workers), "appends were batched"
        assert all(_group_commit(worker)[2] <= group_commit_max for worker in workers)


async def test_a_second_append_to_a_stream_waits_for_the_next_batch(store: CqrsStore) -> None:
    (account,) = await _open(store.handlers(group_commit_max=0), 1)
    batching = EventStore(store.pool, group_commit_max=10)
    first = AccountState(version=1, balance=100)
    event, second = _deposit(first, 1)
    appends: list[Awaitable[AppendOutcome]] = [
        batching.append(account, first, event, second),
        batching.append(account, second, *_deposit(second, 2)),
    ]
    assert await asyncio.gather(*appends) == [AppendOutcome.APPENDED] * 2
    assert batching.group_commit is not None
    assert batching.group_commit.batches == 2
    assert await store.store.load_state(account) == AccountState(version=3, balance=103)


async def test_replayed_and_new_keys_in_one_batch_each_get_their_exact_answer(store: CqrsStore) -> None:
    worker = store.handlers()
    accounts = await _open(worker, 3)
    replayed_key = Idempotency(key=f"deposit-{uuid.uuid4()}", fingerprint="deposit 5")
    original = await worker.deposit(commands.DepositMoney(accounts[0], 5), replayed_key)
    new_key = Idempotency(key=f"deposit-{uuid.uuid4()}", fingerprint="deposit 6")
    _, appends_before, _, _ = _group_commit(worker)

    written = await asyncio.gather(
        worker.deposit(commands.DepositMoney(accounts[0], 5), replayed_key),  # a retry of the committed deposit
        worker.deposit(commands.DepositMoney(accounts[1], 6), new_key),
        worker.deposit(commands.DepositMoney(accounts[2], 7), None),
    )

    assert [w.replayed for w in written] == [True, False, False]
    assert written[0].value == original.value
    assert [w.value.balance for w in written] == [105, 106, 107]
    _, appends, largest, retried_alone = _group_commit(worker)
    assert (appends - appends_before, largest, retried_alone) == (3, 3, 3), "one batch, aborted, then sent alone"
    assert await store.store.load_state(accounts[0]) == AccountState(version=2, balance=105)


async def test_one_key_three_times_in_one_batch_opens_one_account(store: CqrsStore) -> None:
    worker = store.handlers()
    key = Idempotency(key=f"open-{uuid.uuid4()}", fingerprint="same request")
    results = await asyncio.gather(
        *(worker.open_account(commands.OpenAccount(uuid.uuid4(), "kay", 10), key) for _ in range(3))
    )
    assert len({written.value for written in results}) == 1
    assert sorted(written.replayed for written in results) == [False, True, True]
    assert _group_commit(worker)[2:] == (3, 3)
    assert await store.pool.fetchval("SELECT count(*) FROM events WHERE type = 'AccountOpened'") == 1


def test_group_commit_is_a_setting_on_by_default_and_its_errors_name_the_key() -> None:
    default = CqrsSettings.from_env({})
    assert (default.group_commit, default.appends_per_statement) == (True, 100)
    off = CqrsSettings.from_env({"BENCH_CQRS_GROUP_COMMIT": "off", "BENCH_CQRS_GROUP_COMMIT_MAX": "7"})
    assert (off.group_commit, off.group_commit_max, off.appends_per_statement) == (False, 7, 0)
    assert CqrsSettings.from_env(off.to_env()) == off
    assert off.for_manifest()["group_commit"] is False
    arm = arm_settings({"BENCH_CQRS_GROUP_COMMIT": False}, "arms[1].settings", "cqrs")  # an arm turns it off
    assert CqrsSettings.from_env(arm).group_commit is False
    with pytest.raises(SettingsError, match="BENCH_CQRS_GROUP_COMMIT='maybe': expected on or off"):
        CqrsSettings.from_env({"BENCH_CQRS_GROUP_COMMIT": "maybe"})
    with pytest.raises(SettingsError, match="BENCH_CQRS_GROUP_COMMIT_MAX=0"):
        CqrsSettings.from_env({"BENCH_CQRS_GROUP_COMMIT_MAX": "0"})
