"""Redis loses the read models (FLUSHALL) under a running cqrs target: reads answer 503 with Retry-After
while the projectors rebuild them from the event store, never a 404 for an account that exists, and then
every account reads back as stored; writes go on throughout."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
import redis

from bench.infra.probe import wait_until
from bench.infra.stack import Infrastructure
from bench.infra.target_process import RunningTarget, start_companion, start_target
from targets.cqrs.connections import redis_client
from targets.cqrs.readmodels import Namespace, RedisReadModelWriter
from targets.cqrs.stats import CqrsStats
from targets.registry import get_target
from tests.cqrs_support import store_settings

pytestmark = pytest.mark.timeout(180)

ACCOUNTS = 30


@contextlib.contextmanager
def cqrs_on_servers_of_its_own(tmp_path: Path, projectors: int) -> Iterator[tuple[str, RunningTarget]]:
    """A cqrs target on an embedded PostgreSQL and a Redis of its own (the test flushes it), with no view
    cache: every read goes to Redis, so what Redis holds is what is read. Yields the Redis URL and the target."""
    with Infrastructure(pg_dsn=None, redis_url=None, need_postgres=True, need_redis=True) as infra:
        assert infra.database_dsn is not None
        assert infra.redis_url is not None
        namespace = f"lost-{uuid.uuid4().hex[:8]}"
        settings = store_settings(infra.database_dsn, infra.redis_url, namespace, BENCH_CQRS_VIEW_CACHE="0")
        target = start_target(get_target("cqrs"), settings_env=settings, log_dir=tmp_path, projectors=projectors)
        try:
            yield infra.redis_url, target
        finally:
            target.stop()


def test_lost_read_models_are_rebuilt_and_never_read_as_missing(tmp_path: Path) -> None:
    with cqrs_on_servers_of_its_own(tmp_path, projectors=2) as (redis_url, target):
        with httpx.Client(base_url=target.base_url, timeout=30) as client:
            balances: dict[str, tuple[int, int]] = {}  # account -> (balance, version)
            for n in range(ACCOUNTS):
                account = client.post("/accounts", json={"owner": f"o{n}", "initial_deposit": n}).json()["id"]
                written = client.post(f"/accounts/{account}/deposits", json={"amount": 100}).json()
                balances[account] = (written["balance"], written["version"])
            before = msgspec.json.decode(client.get("/stats").content, type=CqrsStats).projection.generation

            with redis.Redis.from_url(redis_url) as server:
                server.flushall()

            statuses: list[int] = []
            for account in balances:  # writes go on while the read models are rebuilt
                written = client.post(f"/accounts/{account}/deposits", json={"amount": 1}).json()
                balances[account] = (written["balance"], written["version"])

            def every_account_reads_back() -> bool:
                ok = True
                for account, (balance, version) in balances.items():
                    seen = client.get(f"/accounts/{account}", params={"min_version": version})
                    statuses.append(seen.status_code)
                    if seen.status_code == 503:
                        assert seen.headers["retry-after"] == "1"
                        assert seen.json()["error"] == "unavailable"
                        ok = False
                    elif seen.status_code == 200 and seen.headers.get("x-stale") is None:
                        assert seen.json()["balance"] == balance
                    else:
                        assert seen.status_code == 200, seen.text  # a 404 would be wrong data
                        ok = False
                return ok

            wait_until(every_account_reads_back, timeout=60, what="the read models to be rebuilt")
            assert 404 not in statuses
            after = msgspec.json.decode(client.get("/stats").content, type=CqrsStats).projection
            assert after.generation > before, "the rebuild made a generation of its own"
            assert after.events_behind == 0
        assert all(companion.poll() is None for companion in target.companions)


def test_a_projector_that_starts_over_events_and_no_read_models_rebuilds_them(tmp_path: Path) -> None:
    with (
        cqrs_on_servers_of_its_own(tmp_path, projectors=1) as (redis_url, target),
        httpx.Client(base_url=target.base_url, timeout=30) as client,
    ):
        account = client.post("/accounts", json={"owner": "kept", "initial_deposit": 42}).json()
        (projector,) = target.companions
        projector.kill()
        projector.wait(timeout=30)
        with redis.Redis.from_url(redis_url) as server:
            server.flushall()  # Redis restarted without its data while no projector ran
        refused = client.get(f"/accounts/{account['id']}")
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "1"
        target.companions[0] = start_companion(target.spec, 0, 1, settings_env=target.settings_env, log_dir=tmp_path)
        seen = client.get(f"/accounts/{account['id']}", params={"min_version": account["version"]})
        assert seen.status_code == 200, seen.text
        assert seen.json()["balance"] == 42


def test_one_owner_at_a_time_claims_the_rebuild_and_may_take_its_own_claim_again(infra: Infrastructure) -> None:
    assert infra.redis_url is not None
    url = infra.redis_url

    async def claims() -> list[bool]:
        client = redis_client(url)
        writer = RedisReadModelWriter(client, Namespace(f"claim-{uuid.uuid4().hex[:8]}"))
        try:
            seen = [await writer.claim_rebuild("a", 30), await writer.claim_rebuild("b", 30)]
            seen.append(await writer.claim_rebuild("a", 30))  # its own claim, after a lost connection
            await writer.release_rebuild("b")  # not b's to release
            seen.append(await writer.claim_rebuild("b", 30))
            await writer.release_rebuild("a")
            seen.append(await writer.claim_rebuild("b", 30))
            await writer.release_rebuild("b")
            return seen
        finally:
            await client.aclose()

    assert asyncio.run(claims()) == [True, False, True, False, True]
