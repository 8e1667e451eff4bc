"""The data checks run after an arm's load: they pass on a target's real data and catch a corruption."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from bench.infra.postgres import create_database, drop_database
from bench.infra.stack import Infrastructure
from bench.infra.target_process import RunningTarget, start_target
from bench.run.invariants import check_invariants
from bench.seed.load import seed_target
from targets.common.dataset import SeedSpec
from targets.common.seeding import SeedPlace
from targets.registry import get_target
from tests.conftest import target_settings

pytestmark = pytest.mark.timeout(120)

SMALL = SeedSpec(accounts=40, entries=5, customers=10, orders=30, seed=7)


@dataclass
class Seeded:
    target: RunningTarget
    database_dsn: str
    account_ids: list[str]


@pytest.fixture(params=["crud", "cqrs"])
def seeded(request: pytest.FixtureRequest, infra: Infrastructure, tmp_path: Path) -> Iterator[Seeded]:
    """A target on a fresh database with a small seeded data set, after some real traffic."""
    assert infra.postgres is not None
    database_dsn = create_database(infra.postgres.admin_dsn)
    settings = target_settings(infra, database_dsn)
    seed_target(
        request.param, SMALL, keys_dir=tmp_path / "keys", place=SeedPlace(database_dsn, infra.redis_url, settings)
    )
    target = start_target(get_target(request.param), settings_env=settings, log_dir=tmp_path)
    try:
        account_ids = (tmp_path / "keys" / "accounts.txt").read_text().split()
        with httpx.Client(base_url=target.base_url, timeout=10.0) as client:
            for index, account_id in enumerate(account_ids[:10]):
                client.post(f"/accounts/{account_id}/deposits", json={"amount": 500 + index}).raise_for_status()
                assert client.post(f"/accounts/{account_id}/withdrawals", json={"amount": 10**9}).status_code == 409
            client.post("/accounts", json={"owner": "new", "initial_deposit": 0}).raise_for_status()
        yield Seeded(target, database_dsn, account_ids)
    finally:
        target.stop()
        drop_database(infra.postgres.admin_dsn, database_dsn)


def execute(dsn: str, statement: str, *args: object) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(statement, *args)
        finally:
            await connection.close()

    asyncio.run(run())


def failed(report_checks: list[object]) -> set[str]:
    return {check.name for check in report_checks if not check.passed}  # type: ignore[attr-defined]


def test_real_data_passes_every_check(seeded: Seeded) -> None:
    report = check_invariants(seeded.target.spec.name, seeded.database_dsn, seeded.target.base_url)
    assert report.checked
    assert report.passed, [check for check in report.checks if not check.passed]
    assert {check.name for check in report.checks} >= {"no overdraft", "read models caught up"}


def test_a_balance_unlike_its_history_is_caught(seeded: Seeded) -> None:
    table, key = ("accounts", "id") if seeded.target.spec.name == "crud" else ("streams", "stream_id")
    execute(
        seeded.database_dsn,
        f"UPDATE {table} SET balance = balance + 1 WHERE {key} = $1",
        uuid.UUID(seeded.account_ids[0]),
    )
    report = check_invariants(seeded.target.spec.name, seeded.database_dsn, seeded.target.base_url)
    assert report.passed is False
    assert any("balances equal" in name for name in failed(list(report.checks)))


def test_a_lost_write_is_caught(seeded: Seeded) -> None:
    """The newest entry of an account disappears: its history has a hole where the balance came from."""
    if seeded.target.spec.name == "crud":
        statement = (
            "DELETE FROM ledger_entries WHERE account_id = $1 AND version = "
            "(SELECT max(version) - 1 FROM ledger_entries WHERE account_id = $1)"
        )
        expected = "no ledger entry lost or duplicated"
    else:
        statement = (
            "DELETE FROM events WHERE stream_id = $1 AND version = "
            "(SELECT max(version) - 1 FROM events WHERE stream_id = $1)"
        )
        expected = "no event lost or duplicated"
    execute(seeded.database_dsn, statement, uuid.UUID(seeded.account_ids[0]))
    report = check_invariants(seeded.target.spec.name, seeded.database_dsn, seeded.target.base_url)
    assert expected in failed(list(report.checks))


def test_targets_without_data_are_not_checked() -> None:
    assert not check_invariants("floor", None, "http://127.0.0.1:1").checked
    external = check_invariants(None, None, "http://127.0.0.1:1")
    assert not external.checked
    assert external.why_not_checked is not None
    assert "external" in external.why_not_checked
