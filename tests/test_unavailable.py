"""PostgreSQL out of reach: every target answers 503 with Retry-After and a JSON body, never a 500, writes
nothing it did not acknowledge, and serves again by itself once the server is back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from bench.infra.probe import wait_until
from bench.infra.stack import Infrastructure
from bench.infra.target_process import RunningTarget, start_target
from targets.common import endpoints
from targets.registry import get_target
from tests.cqrs_support import forget_database, new_database, store_settings
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.timeout(120)

ARMS = [("crud", None), ("cqrs", "postgres"), ("cqrs", "redis")]


@dataclass
class Cut:
    target: RunningTarget
    proxy: TcpProxy


def _through(dsn: str, proxy: TcpProxy) -> str:
    parts = urlsplit(dsn)
    host, port = proxy.address
    netloc = parts.netloc.rpartition("@")[0]
    return parts._replace(netloc=f"{netloc}@{host}:{port}" if netloc else f"{host}:{port}").geturl()


@pytest.fixture(params=ARMS, ids=lambda arm: "-".join(filter(None, arm)))
def cut(request: pytest.FixtureRequest, infra: Infrastructure, tmp_path: Path) -> Iterator[Cut]:
    name, read_store = request.param
    dsn = new_database(infra)
    upstream = urlsplit(dsn)
    assert upstream.hostname is not None
    assert upstream.port is not None
    with TcpProxy((upstream.hostname, upstream.port)) as proxy:
        if read_store is None:
            settings = {"BENCH_PG_DSN": _through(dsn, proxy), "BENCH_PG_POOL_SIZE": "4"}
        else:
            namespace = f"test-{uuid.uuid4().hex[:12]}"
            settings = store_settings(_through(dsn, proxy), infra.redis_url, namespace, read_store)
        target = start_target(get_target(name), settings_env=settings, log_dir=tmp_path)
        try:
            yield Cut(target, proxy)
        finally:
            target.stop()
    forget_database(infra, dsn)


def _deposit(client: httpx.Client, account: str, amount: int) -> httpx.Response:
    return client.post(f"/accounts/{account}/deposits", json={"amount": amount})


def test_without_its_database_a_target_answers_503_and_recovers_by_itself(cut: Cut) -> None:
    with httpx.Client(base_url=cut.target.base_url, timeout=30) as client:
        opened = client.post("/accounts", json={"owner": "outage", "initial_deposit": 100})
        assert opened.status_code == 201, opened.text
        account = opened.json()["id"]
        assert _deposit(client, account, 10).status_code == 200

        cut.proxy.cut()
        for attempt in range(5):
            refused = _deposit(client, account, 1000 + attempt)
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"] == "1"
            assert refused.json()["error"] == "unavailable"
            assert "cannot be reached" in refused.json()["detail"]
        created = client.post(
            "/orders", json={"customer_id": str(uuid.uuid4()), "items": [{"sku": "s", "qty": 1, "unit_price": 1}]}
        )
        assert created.status_code == 503, created.text

        cut.proxy.restore()
        answered: list[httpx.Response] = []

        def deposits_again() -> bool:
            answered.append(_deposit(client, account, 1))
            return answered[-1].status_code == 200

        wait_until(deposits_again, timeout=30, what="deposits to succeed again after the database came back")
        assert {response.status_code for response in answered} <= {200, 503}
        written = answered[-1].json()
        # The refused deposits wrote nothing: only the acknowledged ones are in the balance.
        assert written["balance"] == 100 + 10 + 1 * sum(r.status_code == 200 for r in answered)
        seen = client.get(f"/accounts/{account}", params={"min_version": written["version"]})
        assert seen.status_code == 200, seen.text
        assert seen.json()["balance"] == written["balance"]


def test_the_schema_documents_the_503(cut: Cut) -> None:
    with httpx.Client(base_url=cut.target.base_url, timeout=30) as client:
        paths = client.get("/openapi.json").json()["paths"]
    for endpoint in endpoints.CONTRACT:
        assert "503" in paths[endpoint.path][endpoint.method.lower()]["responses"], endpoint.name
