"""PostgreSQL restarted (fast shutdown, then the same data) under a cqrs target, again and again: the
projector reconnects and projects on every time, writes meanwhile are 503 (never 500), and nothing an
answer acknowledged is lost."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from bench.infra.postgres import EmbeddedPostgres
from bench.infra.probe import wait_until
from bench.infra.stack import Infrastructure
from bench.infra.target_process import start_target
from targets.cqrs.settings import READ_STORES, ReadStore
from targets.registry import get_target
from tests.cqrs_support import store_settings

pytestmark = pytest.mark.timeout(180)

RESTARTS = 6


@pytest.mark.parametrize("read_store", READ_STORES)
def test_the_projector_lives_through_postgres_restarts(tmp_path: Path, read_store: ReadStore) -> None:
    with Infrastructure(pg_dsn=None, redis_url=None, need_postgres=True, need_redis=read_store == "redis") as infra:
        assert isinstance(infra.postgres, EmbeddedPostgres)
        assert infra.database_dsn is not None
        namespace = f"restart-{uuid.uuid4().hex[:8]}"
        settings = store_settings(infra.database_dsn, infra.redis_url, namespace, read_store)
        target = start_target(get_target("cqrs"), settings_env=settings, log_dir=tmp_path)
        try:
            with httpx.Client(base_url=target.base_url, timeout=30) as client:
                account = client.post("/accounts", json={"owner": "restarts", "initial_deposit": 0}).json()["id"]
                balance = 0
                for restart in range(RESTARTS):
                    infra.postgres.restart()
                    answers: list[int] = []

                    def deposited(amount: int = restart + 1, answers: list[int] = answers) -> bool:
                        answered = client.post(f"/accounts/{account}/deposits", json={"amount": amount})
                        answers.append(answered.status_code)
                        return answered.status_code == 200

                    wait_until(deposited, timeout=30, what=f"a deposit to succeed after restart {restart + 1}")
                    assert set(answers) <= {200, 503}, answers
                    balance += restart + 1
                    seen: list[httpx.Response] = []

                    def caught_up(version: int = restart + 2, seen: list[httpx.Response] = seen) -> bool:
                        seen.append(client.get(f"/accounts/{account}", params={"min_version": version}))
                        return seen[-1].status_code == 200 and seen[-1].headers.get("x-stale") is None

                    wait_until(caught_up, timeout=30, what=f"the read side to catch up after restart {restart + 1}")
                    assert seen[-1].json()["balance"] == balance
                    assert all(companion.poll() is None for companion in target.companions), (
                        f"a projector died at restart {restart + 1}; see {tmp_path}"
                    )
        finally:
            target.stop()
