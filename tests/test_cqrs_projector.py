"""Projector processes against real PostgreSQL and Redis: late commits, rollbacks, kill -9, gaps, shards;
each with the read models in Redis and in PostgreSQL.

Nothing sleeps: tests wait on checkpoints, applied counts and the projectors' poll counters,
against deadlines.
"""

from __future__ import annotations

import os
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import Popen

import asyncpg
import pytest

from bench.infra.processes import spawn, stop_process_tree
from bench.infra.target_process import start_companion
from targets.common import contract
from targets.common.errors import NotFound
from targets.cqrs import commands
from targets.cqrs.events import AccountOpened
from targets.cqrs.eventstore import Cursor, EventStore, init_connection
from targets.cqrs.state import evolve
from targets.registry import get_target
from tests.cqrs_support import CqrsStore, eventually

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(90)]

StartProjector = Callable[..., Popen[bytes]]


@pytest.fixture
def store(store_on_each_read_store: CqrsStore) -> CqrsStore:
    return store_on_each_read_store


@pytest.fixture
def start_projector(tmp_path: Path) -> Iterator[StartProjector]:
    """Start a projector process for a store and wait until it projects; all are stopped after the test."""
    started: list[Popen[bytes]] = []

    def start(store: CqrsStore, shard: int = 0, shards: int = 1, **settings: str) -> Popen[bytes]:
        env = store.settings(**settings)
        process = start_companion(get_target("cqrs"), shard, shards, settings_env=env, log_dir=tmp_path)
        started.append(process)
        return process

    yield start
    for process in started:
        stop_process_tree(process)


async def _open_accounts(store: CqrsStore, count: int, *, deposits: int = 0) -> list[uuid.UUID]:
    handlers = store.handlers()
    accounts = [uuid.uuid4() for _ in range(count)]
    for account in accounts:
        await handlers.open_account(commands.OpenAccount(account, f"owner-{account}", 1_000), None)
        for amount in range(1, deposits + 1):
            await handlers.deposit(commands.DepositMoney(account, amount), None)
    return accounts


async def _connect(dsn: str) -> asyncpg.Connection[asyncpg.Record]:
    connection: asyncpg.Connection[asyncpg.Record] = await asyncpg.connect(dsn)
    await init_connection(connection)
    return connection


async def _append_opening(connection: asyncpg.Connection[asyncpg.Record], account: uuid.UUID) -> Cursor:
    """Append an AccountOpened with the target's own append statement on `connection`; its cursor."""
    event = AccountOpened(owner="raw", initial_deposit=10)
    await EventStore(connection).append(account, None, event, evolve(None, event))
    row = await connection.fetchrow("SELECT tx_id, global_position FROM events WHERE stream_id = $1", account)
    assert row is not None
    return Cursor(row["tx_id"], row["global_position"])


async def _has_read_model(store: CqrsStore, account: uuid.UUID) -> bool:
    try:
        await store.queries().account(account, None)
    except NotFound:
        return False
    return True


async def _polls_after_now(store: CqrsStore, shard: str, polls: int) -> None:
    """Wait until the projector finished `polls` more polls, each of which started after this call."""
    start = (await store.heartbeat(shard))["polls"]

    async def done() -> bool:
        return bool((await store.heartbeat(shard))["polls"] >= start + polls + 1)

    await eventually(done, f"{polls} polls of projector {shard}")


async def test_a_transaction_that_commits_late_is_waited_for_not_skipped(
    store: CqrsStore, start_projector: StartProjector
) -> None:
    start_projector(store)
    await _open_accounts(store, 1)
    await eventually(store.caught_up, "the first event applied")
    early, late = await _connect(store.dsn), await _connect(store.dsn)
    try:
        first, second = uuid.uuid4(), uuid.uuid4()
        transaction = early.transaction()
        await transaction.start()
        first_cursor = await _append_opening(early, first)  # T1: appended, not committed
        second_cursor = await _append_opening(late, second)  # T2: appended and committed
        assert second_cursor.tx_id > first_cursor.tx_id

        await _polls_after_now(store, "0/1", 3)
        assert not await _has_read_model(store, second), "T2's event was applied while T1 was still open"
        assert await store.checkpoint("0/1") < first_cursor
        assert await store.applied() == 1

        await transaction.commit()
        await eventually(lambda: _has_read_model(store, second), "T2's event applied once T1 committed")
        assert await _has_read_model(store, first)
        assert await store.checkpoint("0/1") == second_cursor
        assert await store.applied() == 3
        assert await store.mismatches() == []
    finally:
        await early.close()
        await late.close()


async def test_a_rolled_back_append_leaves_no_stall(store: CqrsStore, start_projector: StartProjector) -> None:
    start_projector(store)
    early, late = await _connect(store.dsn), await _connect(store.dsn)
    try:
        transaction = early.transaction()
        await transaction.start()
        rolled_back = uuid.uuid4()
        await _append_opening(early, rolled_back)
        committed = uuid.uuid4()
        committed_cursor = await _append_opening(late, committed)
        await transaction.rollback()
        await eventually(lambda: _has_read_model(store, committed), "the committed event applied")
        assert await store.checkpoint("0/1") == committed_cursor
        assert not await _has_read_model(store, rolled_back)
        assert await store.mismatches() == []
    finally:
        await early.close()
        await late.close()


async def test_a_projector_killed_between_applying_and_checkpointing_applies_nothing_twice(
    store: CqrsStore, start_projector: StartProjector, tmp_path: Path
) -> None:
    await _open_accounts(store, 6, deposits=9)
    events = await store.events()
    assert len(events) == 60
    # Batches of 5; the hook applies the third batch, skips its checkpoint and SIGKILLs itself.
    env = {**os.environ, **store.settings(BENCH_CQRS_BATCH="5", BENCH_CQRS_CRASH_AFTER_BATCHES="3")}
    argv = [sys.executable, "-m", "targets.cqrs.projector", "--shard", "0", "--shards", "1"]
    crashing = spawn(argv, env=env, log_path=tmp_path / "crashing-projector.log")
    try:

        async def exited() -> bool:
            return crashing.poll() is not None

        await eventually(exited, "the projector's crash hook")
    finally:
        stop_process_tree(crashing)
    assert crashing.returncode == -signal.SIGKILL
    assert await store.applied() == 15
    assert await store.checkpoint("0/1") == Cursor.after(events[9])

    start_projector(store, BENCH_CQRS_BATCH="5")
    await eventually(store.caught_up, "all events applied after the restart")
    assert await store.applied() == 60  # the 5 events met again after the restart counted once
    assert await store.checkpoint("0/1") == Cursor.after(events[-1])
    assert await store.mismatches() == []


async def test_a_gap_is_filled_from_the_event_store(store: CqrsStore, start_projector: StartProjector) -> None:
    [account] = await _open_accounts(store, 1, deposits=2)
    projector = start_projector(store)
    await eventually(store.caught_up, "the first three events applied")
    stop_process_tree(projector)

    handlers = store.handlers()
    await handlers.deposit(commands.DepositMoney(account, 40), None)
    await handlers.deposit(commands.DepositMoney(account, 50), None)
    events = await store.events()
    fourth = next(e for e in events if e.version == 4)
    # As if version 4 had been checkpointed but never applied: the projector next meets version 5.
    await store.plant_checkpoint("0/1", Cursor.after(fourth))

    start_projector(store)
    await eventually(store.caught_up, "versions 4 and 5 applied")
    statement = (await store.queries().statement(account, contract.MAX_LIMIT, None)).value
    assert [t.version for t in statement.transactions] == [5, 4, 3, 2, 1]
    assert await store.mismatches() == []


async def test_shards_split_the_streams_between_projectors(store: CqrsStore, start_projector: StartProjector) -> None:
    start_projector(store, shard=0, shards=2)
    start_projector(store, shard=1, shards=2)
    await _open_accounts(store, 20, deposits=1)
    await eventually(store.caught_up, "every event applied by the two shards")

    async def reported() -> list[int]:
        return [(await store.heartbeat(shard)).get("applied", 0) for shard in ("0/2", "1/2")]

    async def all_reported() -> bool:
        return sum(await reported()) == 40

    await eventually(all_reported, "both shards reporting what they applied")
    assert min(await reported()) > 0
    assert await store.mismatches() == []
