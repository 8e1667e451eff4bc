"""The CQRS write side against a real PostgreSQL: the append guard, bounded retries, idempotency, the schema."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from targets.common import contract
from targets.common.errors import ConcurrencyConflict, IdempotencyKeyReused, InsufficientFunds
from targets.common.service import Idempotency
from targets.cqrs import commands
from targets.cqrs.appends import AppendOutcome
from targets.cqrs.events import DepositMade
from targets.cqrs.eventstore import apply_schema
from targets.cqrs.shards import shard_of
from targets.cqrs.state import AccountState
from tests.cqrs_support import CqrsStore

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


async def _stream_versions(store: CqrsStore, stream_id: uuid.UUID) -> list[int]:
    rows = await store.pool.fetch("SELECT version FROM events WHERE stream_id = $1 ORDER BY version", stream_id)
    return [row["version"] for row in rows]


async def test_an_append_against_a_stale_version_writes_nothing(store: CqrsStore) -> None:
    account = uuid.uuid4()
    await store.handlers().open_account(commands.OpenAccount(account, "ann", 100), None)
    await store.handlers().deposit(commands.DepositMoney(account, 5), None)
    stale = AccountState(version=1, balance=100)
    outcome = await store.store.append(
        account, stale, DepositMade(amount=1, balance_after=101), AccountState(version=2, balance=101)
    )
    assert outcome is AppendOutcome.VERSION_CONFLICT
    assert await _stream_versions(store, account) == [1, 2]
    assert await store.store.load_state(account) == AccountState(version=2, balance=105)


async def test_a_lost_version_race_is_decided_again_on_fresh_state(store: CqrsStore) -> None:
    # Two workers: the first remembers version 1, the second appends version 2 behind its back.
    first, second = store.handlers(), store.handlers()
    account = uuid.uuid4()
    await first.open_account(commands.OpenAccount(account, "bo", 100), None)
    await second.deposit(commands.DepositMoney(account, 5), None)
    written = await first.deposit(commands.DepositMoney(account, 7), None)
    assert written.value == contract.BalanceChanged(id=account, balance=112, version=3)
    assert first.conflicts == 1
    assert await _stream_versions(store, account) == [1, 2, 3]


async def test_a_refusal_is_made_on_the_stored_state_never_on_a_remembered_one(store: CqrsStore) -> None:
    first, second = store.handlers(), store.handlers()
    account = uuid.uuid4()
    await first.open_account(commands.OpenAccount(account, "bea", 100), None)
    await second.deposit(commands.DepositMoney(account, 5), None)
    # `first` remembers a balance of 100, which would refuse this; the stored balance is 105.
    written = await first.withdraw(commands.WithdrawMoney(account, 105), None)
    assert written.value == contract.BalanceChanged(id=account, balance=0, version=3)


async def test_a_race_lost_on_every_attempt_is_a_409_that_writes_nothing(store: CqrsStore) -> None:
    first, second = store.handlers(attempts=1), store.handlers()
    account = uuid.uuid4()
    await first.open_account(commands.OpenAccount(account, "cy", 100), None)
    await second.deposit(commands.DepositMoney(account, 5), None)
    with pytest.raises(ConcurrencyConflict, match="changed concurrently on each of 1 attempts"):
        await first.deposit(commands.DepositMoney(account, 1), None)
    assert await _stream_versions(store, account) == [1, 2]


async def test_workers_racing_on_one_account_never_overdraw_it(store: CqrsStore) -> None:
    workers = [store.handlers(attempts=50) for _ in range(4)]
    account = uuid.uuid4()
    await workers[0].open_account(commands.OpenAccount(account, "di", 30), None)

    async def withdraw(worker: int) -> int | None:
        try:
            return (await workers[worker % 4].withdraw(commands.WithdrawMoney(account, 7), None)).value.version
        except InsufficientFunds:
            return None

    versions = await asyncio.gather(*(withdraw(n) for n in range(12)))
    assert sorted(v for v in versions if v is not None) == [2, 3, 4, 5]
    assert await store.store.load_state(account) == AccountState(version=5, balance=2)


async def test_the_same_key_sent_by_two_workers_at_once_opens_one_account(store: CqrsStore) -> None:
    key = Idempotency(key=f"open-{uuid.uuid4()}", fingerprint="same request")
    results = await asyncio.gather(
        *(
            worker.open_account(commands.OpenAccount(uuid.uuid4(), "eve", 10), key)
            for worker in (store.handlers(), store.handlers(), store.handlers())
        )
    )
    assert len({written.value for written in results}) == 1
    assert sorted(written.replayed for written in results) == [False, True, True]
    assert await store.pool.fetchval("SELECT count(*) FROM events WHERE type = 'AccountOpened'") == 1
    with pytest.raises(IdempotencyKeyReused):
        await store.handlers().open_account(
            commands.OpenAccount(uuid.uuid4(), "eve", 11), Idempotency(key.key, "another request")
        )


async def test_a_retry_of_an_accepted_command_replays_even_when_it_would_now_be_refused(store: CqrsStore) -> None:
    handlers = store.handlers()
    account = uuid.uuid4()
    await handlers.open_account(commands.OpenAccount(account, "fi", 10), None)
    key = Idempotency(key=f"withdraw-{uuid.uuid4()}", fingerprint="withdraw 10")
    first = await handlers.withdraw(commands.WithdrawMoney(account, 10), key)
    again = await handlers.withdraw(commands.WithdrawMoney(account, 10), key)
    assert again.replayed
    assert again.value == first.value == contract.BalanceChanged(id=account, balance=0, version=2)


async def test_the_schema_applies_again_and_from_several_sessions_at_once(store: CqrsStore) -> None:
    connections = [await asyncpg.connect(store.dsn) for _ in range(3)]
    try:
        await asyncio.gather(*(apply_schema(connection) for connection in connections))
        await apply_schema(connections[0])
    finally:
        for connection in connections:
            await connection.close()


async def test_the_shard_function_is_the_same_in_sql_and_in_python(store: CqrsStore) -> None:
    ids = [uuid.uuid4() for _ in range(1_000)]
    for shards in (1, 2, 3, 7):
        rows = await store.pool.fetch("SELECT id, event_shard(id, $2) AS shard FROM unnest($1::uuid[]) id", ids, shards)
        assert {row["id"]: row["shard"] for row in rows} == {i: shard_of(i, shards) for i in ids}
