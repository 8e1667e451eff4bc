"""Seeding: the requested counts, the same data for the same seed, and the same answers from every target."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from bench.infra.postgres import create_database, drop_database
from bench.infra.stack import Infrastructure
from bench.infra.target_process import start_target
from bench.seed.load import seed_target
from targets.common.dataset import SeedSpec
from targets.common.seeding import SeedPlace
from targets.cqrs.settings import READ_STORE_KEY
from targets.registry import get_target
from tests.conftest import target_settings

pytestmark = pytest.mark.timeout(120)

SPEC = SeedSpec(accounts=40, entries=25, customers=8, orders=60, seed=7)
CRUD_CHECKSUMS = {
    "accounts": "SELECT md5(string_agg(concat_ws(',', id, owner, balance, version, created_at), ';' ORDER BY id))"
    " FROM accounts",
    "ledger_entries": "SELECT md5(string_agg(concat_ws(',', account_id, version, kind, amount, balance_after, at),"
    " ';' ORDER BY account_id, version)) FROM ledger_entries",
    "orders": "SELECT md5(string_agg(concat_ws(',', id, customer_id, status, total, version, created_at), ';'"
    " ORDER BY id)) FROM orders",
    "order_items": "SELECT md5(string_agg(concat_ws(',', order_id, line_no, sku, qty, unit_price), ';'"
    " ORDER BY order_id, line_no)) FROM order_items",
}


NewDatabase = Callable[[], str]


@pytest.fixture
def fresh_database(infra: Infrastructure) -> Iterator[NewDatabase]:
    """Creates empty databases on the session's server; drops them afterwards."""
    postgres = infra.postgres
    assert postgres is not None
    databases: list[str] = []

    def new() -> str:
        databases.append(create_database(postgres.admin_dsn))
        return databases[-1]

    yield new
    for dsn in databases:
        drop_database(postgres.admin_dsn, dsn)


async def _fetch(dsn: str, queries: dict[str, str]) -> dict[str, object]:
    connection = await asyncpg.connect(dsn)
    try:
        return {name: await connection.fetchval(query) for name, query in queries.items()}
    finally:
        await connection.close()


def _seed_crud(dsn: str, spec: SeedSpec, keys: Path) -> dict[str, int]:
    return seed_target("crud", spec, keys_dir=keys, place=SeedPlace(dsn)).rows


def test_crud_seed_loads_the_requested_counts(fresh_database: NewDatabase, tmp_path: Path) -> None:
    dsn = fresh_database()
    rows = _seed_crud(dsn, SPEC, tmp_path)
    counts = asyncio.run(_fetch(dsn, {table: f"SELECT count(*) FROM {table}" for table in CRUD_CHECKSUMS}))
    assert counts == rows
    assert counts["accounts"] == 40
    assert counts["ledger_entries"] == 40 * 25
    assert counts["orders"] == 60
    assert len((tmp_path / "accounts.txt").read_text().split()) == 40
    assert len((tmp_path / "orders.txt").read_text().split()) == 60
    balances = asyncio.run(
        _fetch(
            dsn,
            {
                "negative": "SELECT count(*) FROM ledger_entries WHERE balance_after < 0",
                "mismatch": "SELECT count(*) FROM accounts a JOIN ledger_entries e"
                " ON e.account_id = a.id AND e.version = a.version"
                " WHERE e.balance_after <> a.balance",
            },
        )
    )
    assert balances == {"negative": 0, "mismatch": 0}


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(
    fresh_database: NewDatabase, tmp_path: Path
) -> None:
    first, second, other = fresh_database(), fresh_database(), fresh_database()
    _seed_crud(first, SPEC, tmp_path / "a")
    _seed_crud(second, SPEC, tmp_path / "b")
    _seed_crud(other, SeedSpec(40, 25, 8, 60, seed=8), tmp_path / "c")
    checksums = [asyncio.run(_fetch(dsn, CRUD_CHECKSUMS)) for dsn in (first, second, other)]
    assert checksums[0] == checksums[1]
    assert all(checksums[0][table] != checksums[2][table] for table in CRUD_CHECKSUMS)
    for name in ("accounts.txt", "customers.txt", "orders.txt"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
        assert (tmp_path / "a" / name).read_text() != (tmp_path / "c" / name).read_text()


def test_crud_and_cqrs_seeded_alike_answer_alike(
    infra: Infrastructure, fresh_database: NewDatabase, tmp_path: Path
) -> None:
    """The same statements and dashboards from every target (cqrs with either read store, seeded into PostgreSQL
    read models without any Redis): the data set is identical for every target."""
    answers = {}
    arms = {"crud": ("crud", {}), "cqrs": ("cqrs", {}), "cqrs-postgres": ("cqrs", {READ_STORE_KEY: "postgres"})}
    for name, (target_name, extra) in arms.items():
        settings = {**target_settings(infra, fresh_database()), **extra}
        redis_url = infra.redis_url if name == "cqrs" else None
        if redis_url is None:
            settings.pop("BENCH_REDIS_URL", None)
        place = SeedPlace(settings["BENCH_PG_DSN"], redis_url, settings)
        seed_target(target_name, SPEC, keys_dir=tmp_path / name, place=place)
        target = start_target(get_target(target_name), settings_env=settings, log_dir=tmp_path)
        try:
            with httpx.Client(base_url=target.base_url, timeout=10) as client:
                accounts = (tmp_path / name / "accounts.txt").read_text().split()[:5]
                customers = (tmp_path / name / "customers.txt").read_text().split()[:3]
                orders = (tmp_path / name / "orders.txt").read_text().split()[:5]
                answers[name] = (
                    [client.get(f"/accounts/{a}/statement", params={"limit": 5}).json() for a in accounts],
                    [client.get(f"/customers/{c}/orders", params={"limit": 5}).json() for c in customers],
                    [client.get(f"/orders/{o}").json() for o in orders],
                )
        finally:
            target.stop()
    assert answers["crud"] == answers["cqrs"] == answers["cqrs-postgres"]
