"""The API worker's view cache: its races closed by rule (unit tests), and against a real projector with the
read models (and announcements) in Redis and in PostgreSQL.

A cached view must never hide an announced version, so each rule is checked with the read or the
announcement arriving in the order that would break it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from subprocess import Popen

import pytest

from bench.infra.processes import stop_process_tree
from bench.infra.target_process import start_companion
from targets.common import contract
from targets.cqrs import commands
from targets.cqrs.handlers import CommandHandlers
from targets.cqrs.queries import QuerySide
from targets.cqrs.views import View, ViewCache
from targets.registry import get_target
from tests.cqrs_support import CqrsStore, eventually

pytestmark = pytest.mark.timeout(60)

ACCOUNT = View(contract.Account)
STREAM = b"stream-a"


def _account(version: int) -> contract.Account:
    return contract.Account(id=uuid.UUID(int=1), owner="ann", balance=100 * version, version=version)


def _live_cache(capacity: int = 10) -> ViewCache:
    views = ViewCache(capacity)
    views.set_live(True)
    return views


def test_a_read_overtaken_by_an_announcement_is_served_but_not_cached() -> None:
    views = _live_cache()
    with views.reading(STREAM) as reading:
        views.announced(STREAM, 2)  # the projector applied version 2 while version 1 was on its way
        views.put(reading, ACCOUNT, _account(1))
    assert views.get(STREAM, ACCOUNT) is None
    with views.reading(STREAM) as reading:
        views.put(reading, ACCOUNT, _account(2))
    assert views.get(STREAM, ACCOUNT) == _account(2)


def test_an_announcement_drops_older_views_of_its_stream_only() -> None:
    views = _live_cache()
    for stream in (STREAM, b"stream-b"):
        with views.reading(stream) as reading:
            views.put(reading, ACCOUNT, _account(3))
            views.put(reading, View(contract.Statement, 5), contract.Statement(uuid.UUID(int=1), 300, 3, [], TOTALS))
    views.announced(STREAM, 3)  # a late announcement of what the cache already holds
    assert views.get(STREAM, ACCOUNT) == _account(3)
    views.announced(STREAM, 4)
    assert views.get(STREAM, ACCOUNT) is None
    assert views.get(STREAM, View(contract.Statement, 5)) is None
    assert views.get(b"stream-b", ACCOUNT) == _account(3)
    assert len(views) == 2


TOTALS = contract.StatementTotals(deposited=300, withdrawn=0, count=3)


def test_nothing_is_cached_unless_announcements_are_received() -> None:
    views = ViewCache(10)
    with views.reading(STREAM) as reading:
        views.put(reading, ACCOUNT, _account(1))
    assert views.get(STREAM, ACCOUNT) is None, "cached before the subscription stood"
    views.set_live(True)
    with views.reading(STREAM) as reading:
        views.put(reading, ACCOUNT, _account(1))
    assert views.get(STREAM, ACCOUNT) == _account(1)
    views.set_live(False)
    assert views.get(STREAM, ACCOUNT) is None, "kept although announcements may have been missed"


def test_a_read_begun_in_another_subscription_epoch_is_not_cached() -> None:
    views = _live_cache()
    with views.reading(STREAM) as reading:
        views.set_live(False)  # announcements lost meanwhile ...
        views.set_live(True)  # ... and the subscription back before the read returned
        views.put(reading, ACCOUNT, _account(1))
    assert views.get(STREAM, ACCOUNT) is None


def test_the_cache_keeps_at_most_its_capacity_forgetting_the_least_recent_stream() -> None:
    views = _live_cache(capacity=2)
    for stream in (b"a", b"b", b"a", b"c"):
        with views.reading(stream) as reading:
            views.put(reading, ACCOUNT, _account(1))
    assert len(views) == 2
    assert views.get(b"b", ACCOUNT) is None
    assert views.get(b"a", ACCOUNT) is not None
    assert views.get(b"c", ACCOUNT) is not None
    assert (views.hits, views.misses) == (2, 1)


def test_an_account_view_is_not_taken_for_a_statement() -> None:
    views = _live_cache()
    with views.reading(STREAM) as reading:
        views.put(reading, ACCOUNT, _account(1))
    assert views.get(STREAM, View(contract.Statement, 5)) is None


StartProjector = Callable[[CqrsStore], Popen[bytes]]
READ_WAIT_SECONDS = 10.0


@pytest.fixture
def store(store_on_each_read_store: CqrsStore) -> CqrsStore:
    return store_on_each_read_store


@pytest.fixture
def start_projector(tmp_path: Path) -> Iterator[StartProjector]:
    started: list[Popen[bytes]] = []

    def start(store: CqrsStore) -> Popen[bytes]:
        env = store.settings()
        process = start_companion(get_target("cqrs"), 0, 1, settings_env=env, log_dir=tmp_path)
        started.append(process)
        return process

    yield start
    for process in started:
        stop_process_tree(process)


@asynccontextmanager
async def _worker_queries(store: CqrsStore, views: ViewCache) -> AsyncIterator[QuerySide]:
    """The query side as an API worker has it: following the announcements, with a view cache."""
    applied = store.announced_versions(views)
    await applied.start()
    try:
        # min_version reads wait for the projector (which starts just before) as a worker's would.
        yield QuerySide(store.read.reader, applied, READ_WAIT_SECONDS, views)
    finally:
        await applied.close()


async def _opened_account(store: CqrsStore, handlers: CommandHandlers, start_projector: StartProjector) -> uuid.UUID:
    """An account opened on the write side, with a projector running to show it to readers."""
    account = uuid.uuid4()
    await handlers.open_account(commands.OpenAccount(account, "ann", 1_000), None)
    start_projector(store)
    return account


@pytest.mark.anyio
async def test_a_worker_serves_hot_views_from_memory_and_every_new_version_reaches_it(
    store: CqrsStore, start_projector: StartProjector
) -> None:
    handlers = store.handlers()
    account = await _opened_account(store, handlers, start_projector)
    views = ViewCache(100)
    async with _worker_queries(store, views) as queries:
        first = await queries.account(account, 1)
        again = await queries.account(account, None)
        assert (first.value, again.value.version) == (again.value, 1)
        assert views.hits >= 1, "the second read came from Redis, not from the cache"
        for amount in range(1, 21):
            await handlers.deposit(commands.DepositMoney(account, amount), None)

            async def caught_up(version: int = 1 + amount) -> bool:
                return (await queries.account(account, None)).value.version == version

            # Without min_version: only the announcement can take the cached version 1 out.
            await eventually(caught_up, f"a plain read of version {1 + amount}")
        balance = (await queries.account(account, None)).value.balance
        assert balance == 1_000 + sum(range(1, 21))
        hits_before = views.hits
        await queries.account(account, None)
        assert views.hits == hits_before + 1


@pytest.mark.anyio
async def test_a_lost_subscription_empties_the_cache_until_it_is_back(
    store: CqrsStore, start_projector: StartProjector
) -> None:
    account = await _opened_account(store, store.handlers(), start_projector)
    views = ViewCache(100)
    async with _worker_queries(store, views) as queries:
        await queries.account(account, 1)
        assert len(views) == 1
        await store.cut_announcements()

        async def emptied() -> bool:
            return len(views) == 0

        await eventually(emptied, "the cache forgotten after the subscription was cut")

        async def cached_again() -> bool:
            await queries.account(account, None)
            return len(views) == 1

        await eventually(cached_again, "caching again once the subscription is back")
