"""The CQRS target over HTTP with two projector shards: concurrent load, the horizon stall, rebuild, history;
each with the read models in Redis and in PostgreSQL (where Redis is not given to the target at all)."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from bench.infra.stack import Infrastructure
from bench.infra.target_process import RunningTarget, start_target
from targets.cqrs.checks import check_data
from targets.cqrs.events import OrderCreated
from targets.cqrs.settings import READ_STORE_KEY, READ_STORES, read_store_setting
from targets.registry import get_target
from tests.cqrs_support import CqrsStore, cqrs_store, eventually, forget_database, new_database, store_settings

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

PROJECTORS = 2


@pytest.fixture(scope="module", params=READ_STORES)
def target(
    request: pytest.FixtureRequest, infra: Infrastructure, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningTarget]:
    assert infra.redis_url is not None
    dsn = new_database(infra)
    settings = store_settings(dsn, infra.redis_url, f"test-{uuid.uuid4().hex[:12]}", request.param)
    running = start_target(
        get_target("cqrs"), settings_env=settings, log_dir=tmp_path_factory.mktemp("cqrs"), projectors=PROJECTORS
    )
    try:
        yield running
    finally:
        running.stop()
        forget_database(infra, dsn)


@pytest.fixture
async def store(target: RunningTarget, infra: Infrastructure) -> AsyncIterator[CqrsStore]:
    env = target.settings_env
    read_store = read_store_setting(env)
    async with cqrs_store(env["BENCH_PG_DSN"], infra.redis_url, env["BENCH_CQRS_NAMESPACE"], read_store) as opened:
        yield opened


@pytest.fixture
async def client(target: RunningTarget) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=target.base_url, timeout=30.0, limits=limits) as opened:
        yield opened


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    response = await client.post(path, json=body)
    assert response.status_code < 500, f"POST {path}: {response.status_code} {response.text}"
    return response


async def _stats(client: httpx.AsyncClient) -> dict[str, Any]:
    stats: dict[str, Any] = (await client.get("/stats")).json()["projection"]
    return stats


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, timeout=90)


def _store_args(target: RunningTarget) -> list[str]:
    """The event store's, then the read store's options of `bench rebuild` and `bench history` for `target`."""
    env = target.settings_env
    read_store = ["--redis-url", env["BENCH_REDIS_URL"]] if "BENCH_REDIS_URL" in env else []
    return [
        *("--pg-dsn", env["BENCH_PG_DSN"]),
        *read_store,
        *("--namespace", env["BENCH_CQRS_NAMESPACE"]),
        *("--read-store", env[READ_STORE_KEY]),
    ]


async def test_concurrent_mixed_commands_lose_no_event(client: httpx.AsyncClient, store: CqrsStore) -> None:
    rng = random.Random(3)
    opened = await asyncio.gather(
        *(_post(client, "/accounts", {"owner": f"load-{n}", "initial_deposit": 500}) for n in range(20))
    )
    accounts = [r.json()["id"] for r in opened]
    customers = [str(uuid.uuid4()) for _ in range(5)]
    created = await asyncio.gather(
        *(
            _post(
                client,
                "/orders",
                {"customer_id": rng.choice(customers), "items": [{"sku": "s", "qty": n % 3 + 1, "unit_price": 100}]},
            )
            for n in range(20)
        )
    )
    orders = [r.json()["id"] for r in created]

    requests: list[tuple[str, dict[str, Any] | None]] = []
    for _ in range(1_500):
        kind = rng.random()
        if kind < 0.35:
            requests.append((f"/accounts/{rng.choice(accounts)}/deposits", {"amount": rng.randint(1, 100)}))
        elif kind < 0.7:
            requests.append((f"/accounts/{rng.choice(accounts)}/withdrawals", {"amount": rng.randint(1, 300)}))
        else:
            requests.append((f"/orders/{rng.choice(orders)}/{rng.choice(['pay', 'ship', 'cancel'])}", None))
    responses = await asyncio.gather(*(_post(client, path, body) for path, body in requests))

    refusals = {r.json()["error"] for r in responses if r.status_code == 409}
    assert refusals <= {"insufficient_funds", "invalid_transition"}
    assert sum(r.status_code == 200 for r in responses) > 500

    events = await store.events()
    await eventually(store.caught_up, "every event applied")
    assert await store.applied() == len(events)
    assert await store.mismatches() == []

    # What each accepted command answered is exactly what the event store holds, version by version.
    answered: dict[str, set[int]] = {}
    for response in (*opened, *created, *responses):
        if response.status_code in (200, 201):
            answered.setdefault(response.json()["id"], set()).add(response.json()["version"])
    stored: dict[str, set[int]] = {}
    for recorded in events:
        if str(recorded.stream_id) in answered:
            stored.setdefault(str(recorded.stream_id), set()).add(recorded.version)
    assert answered == stored

    stats = await _stats(client)
    assert [shard["events_behind"] for shard in stats["shards"]] == [0] * PROJECTORS
    assert [shard["shard"] for shard in stats["shards"]] == [f"{i}/{PROJECTORS}" for i in range(PROJECTORS)]
    whole = (await client.get("/stats")).json()
    assert whole["read_store"] == store.read_store
    group_commit = whole["write_side"]["group_commit"]
    assert group_commit["largest_batch"] > 1, "concurrent commands were appended together"


async def test_a_transaction_left_open_stalls_the_projection_visibly_until_it_ends(
    client: httpx.AsyncClient, store: CqrsStore
) -> None:
    account = (await _post(client, "/accounts", {"owner": "stalled", "initial_deposit": 10})).json()
    assert (await client.get(f"/accounts/{account['id']}", params={"min_version": 1})).headers.get("x-stale") is None
    holder = await asyncpg.connect(store.dsn)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.fetchval("SELECT pg_current_xact_id()")  # now it has an xid: the horizon stops here
        assert (await _post(client, f"/accounts/{account['id']}/deposits", {"amount": 5})).json()["version"] == 2

        async def lagging() -> bool:
            stats = await _stats(client)
            return bool(stats["events_behind"] >= 1 and stats["seconds_behind"] >= 0.5)

        await eventually(lagging, "a projection lag of one event and half a second")
        stats = await _stats(client)
        assert stats["horizon_holder"]["pid"] == holder.get_server_pid()
        assert stats["horizon_holder"]["state"] == "idle in transaction"
        stale = await client.get(f"/accounts/{account['id']}", params={"min_version": 2})
        assert stale.headers["x-stale"] == "true"
        assert stale.json()["version"] == 1
        await transaction.rollback()
    finally:
        await holder.close()

    async def caught_up() -> bool:
        return bool((await _stats(client))["events_behind"] == 0)

    await eventually(caught_up, "the projection catching up once the transaction ended")
    fresh = await client.get(f"/accounts/{account['id']}", params={"min_version": 2})
    assert fresh.headers.get("x-stale") is None
    assert fresh.json()["balance"] == 15


async def _snapshot(client: httpx.AsyncClient, store: CqrsStore) -> dict[str, Any]:
    """Every read model, as the API serves it."""
    snapshot: dict[str, Any] = {}
    customers: set[uuid.UUID] = set()
    events = await store.events()
    streams = {recorded.stream_id: recorded for recorded in events if recorded.version == 1}
    for stream_id, first in streams.items():
        if isinstance(first.event, OrderCreated):
            snapshot[f"order {stream_id}"] = (await client.get(f"/orders/{stream_id}")).json()
            customers.add(first.event.customer_id)
        else:
            snapshot[f"statement {stream_id}"] = (await client.get(f"/accounts/{stream_id}/statement?limit=100")).json()
    for customer in customers:
        snapshot[f"dashboard {customer}"] = (await client.get(f"/customers/{customer}/orders?limit=100")).json()
    return snapshot


async def test_a_rebuild_reproduces_the_live_read_models(
    client: httpx.AsyncClient, store: CqrsStore, target: RunningTarget
) -> None:
    account = (await _post(client, "/accounts", {"owner": "rebuilt", "initial_deposit": 70})).json()
    order = (
        await _post(
            client, "/orders", {"customer_id": str(uuid.uuid4()), "items": [{"sku": "r", "qty": 2, "unit_price": 9}]}
        )
    ).json()
    await _post(client, f"/orders/{order['id']}/pay")
    await eventually(store.caught_up, "the live read models caught up")
    live = await _snapshot(client, store)
    generation = await store.generation()

    result = _bench("rebuild", *_store_args(target))
    assert result.returncode == 0, result.stderr
    assert f"rebuilt generation {generation + 1} from {len(await store.events()):,} events" in result.stdout
    assert "events/s" in result.stdout

    assert await store.generation() == generation + 1
    assert await _snapshot(client, store) == live
    assert await store.read.writer.held_by(generation) == 0
    # The projectors moved to the new generation: a new write is read back through it.
    deposited = (await _post(client, f"/accounts/{account['id']}/deposits", {"amount": 1})).json()
    fresh = await client.get(f"/accounts/{account['id']}", params={"min_version": deposited["version"]})
    assert fresh.headers.get("x-stale") is None
    assert fresh.json()["balance"] == 71


async def test_a_rebuild_under_writes_switches_without_losing_any(
    client: httpx.AsyncClient, store: CqrsStore, target: RunningTarget
) -> None:
    accounts = [
        (await _post(client, "/accounts", {"owner": f"busy-{n}", "initial_deposit": 0})).json()["id"] for n in range(8)
    ]
    rebuilding = asyncio.create_task(asyncio.to_thread(_bench, "rebuild", *_store_args(target)))
    writes = 0
    while not rebuilding.done():
        await asyncio.gather(*(_post(client, f"/accounts/{a}/deposits", {"amount": 1}) for a in accounts))
        writes += len(accounts)
    result = await rebuilding
    assert result.returncode == 0, result.stderr
    assert writes > 0
    await eventually(store.caught_up, "the new generation caught up with the writes")
    assert await store.applied() == len(await store.events())
    assert await store.mismatches() == []


async def test_history_shows_a_stream_as_it_was(
    client: httpx.AsyncClient, store: CqrsStore, target: RunningTarget
) -> None:
    account = (await _post(client, "/accounts", {"owner": "past", "initial_deposit": 100})).json()
    for amount in (10, 20):
        await _post(client, f"/accounts/{account['id']}/deposits", {"amount": amount})
    stream = [e for e in await store.events() if str(e.stream_id) == account["id"]]
    second = stream[1]
    pg_only = _store_args(target)[:2]

    for as_of in (str(second.global_position), second.created_at.isoformat()):
        result = _bench("history", account["id"], "--as-of", as_of, "--json", *pg_only)
        assert result.returncode == 0, result.stderr
        document = httpx.Response(200, content=result.stdout).json()
        assert [e["version"] for e in document["events"]] == [1, 2]
        assert document["state"]["balance"] == 110
        assert document["state"]["version"] == 2

    now = _bench("history", account["id"], *_store_args(target))
    assert now.returncode == 0, now.stderr
    assert "3 event(s)" in now.stdout
    assert "DepositMade" in now.stdout
    assert '"balance": 130' in now.stdout
    assert "read model now: version" in now.stdout

    unknown = _bench("history", str(uuid.uuid4()), *pg_only)
    assert unknown.returncode == 1
    assert "has no events" in unknown.stderr


async def test_the_data_checks_pass_then_catch_a_wrong_read_model_and_a_double_apply(
    client: httpx.AsyncClient, store: CqrsStore, target: RunningTarget
) -> None:
    """Last in this module: the target's view cache may keep the planted value it was shown."""

    async def new_account() -> uuid.UUID:
        opened = await _post(client, "/accounts", {"owner": "checked", "initial_deposit": 40})
        await eventually(store.caught_up, "the new account applied")
        return uuid.UUID(opened.json()["id"])

    connection = await asyncpg.connect(store.dsn)
    try:

        async def failing() -> set[str]:
            return {check.name for check in await check_data(connection, target.base_url) if not check.passed}

        await new_account()
        assert await failing() == set()
        # An account the checks have not read yet (so not in the target's view cache), a cent off.
        await store.tamper_account(await new_account(), "balance", 1)
        assert await failing() == {"read models caught up"}
        await store.tamper_applied(1)
        assert await failing() == {"read models caught up", "read models applied every event once"}
    finally:
        await store.tamper_applied(-1)
        await connection.close()
