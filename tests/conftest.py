"""Real servers for the whole session: embedded PostgreSQL and Redis, or BENCH_PG_DSN / BENCH_REDIS_URL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from bench.infra.postgres import create_database, drop_database
from bench.infra.stack import Infrastructure
from bench.infra.target_process import RunningTarget, harness_settings, start_target
from targets.cqrs.settings import READ_STORE_KEY, READ_STORES, CqrsSettings
from targets.registry import all_targets, get_target
from tests.api import Api
from tests.cli_support import BenchCli
from tests.cqrs_support import CqrsStore, cqrs_store, forget_database, new_database

# The contract suite runs against every target that keeps data (BENCH_TARGET_MODULES adds more), and against
# cqrs once more with its read models in PostgreSQL: both read stores must give the same answers.
CONTRACT_TARGETS = [
    *(pytest.param((target.name, {}), id=target.name) for target in all_targets().values() if target.keeps_data),
    pytest.param(("cqrs", {READ_STORE_KEY: "postgres"}), id="cqrs-postgres"),
]


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    with Infrastructure.from_env(need_postgres=True, need_redis=True) as infrastructure:
        yield infrastructure


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("target-logs")


def target_settings(infra: Infrastructure, database_dsn: str | None) -> dict[str, str]:
    # Each target instance keeps its Redis keys under a namespace of its own (only cqrs uses Redis),
    # which also isolates them on an external server, where the harness holds just one db index.
    shared = replace(harness_settings(database_dsn, infra.redis_url), pg_pool_size=8)
    cqrs = replace(CqrsSettings.from_env(), namespace=f"test-{uuid.uuid4().hex[:12]}")
    return {**shared.to_env(), **cqrs.to_env()}


@pytest.fixture(scope="session", params=CONTRACT_TARGETS)
def running_target(request: pytest.FixtureRequest, infra: Infrastructure, logs_dir: Path) -> Iterator[RunningTarget]:
    """One target process per target (and settings) for the session, on a database of its own (cqrs: with its
    projector)."""
    name, settings = request.param
    spec = get_target(name)
    assert infra.postgres is not None
    database_dsn = create_database(infra.postgres.admin_dsn) if spec.needs_postgres else None
    settings_env = {**target_settings(infra, database_dsn), **settings}
    target = start_target(spec, settings_env=settings_env, log_dir=logs_dir)
    try:
        yield target
    finally:
        target.stop()
        if database_dsn is not None:
            drop_database(infra.postgres.admin_dsn, database_dsn)


@pytest.fixture(scope="session")
def api(running_target: RunningTarget) -> Iterator[Api]:
    with httpx.Client(base_url=running_target.base_url, timeout=30.0) as client:
        yield Api(running_target.spec.name, running_target.base_url, client)


# The CQRS store tests: a database of their own on the session's servers, and the store opened on it.
@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def database(infra: Infrastructure) -> Iterator[str]:
    dsn = new_database(infra)
    yield dsn
    forget_database(infra, dsn)


@pytest.fixture
async def store(database: str, infra: Infrastructure) -> AsyncIterator[CqrsStore]:
    assert infra.redis_url is not None
    async with cqrs_store(database, infra.redis_url) as opened:
        yield opened


@pytest.fixture(params=READ_STORES)
async def store_on_each_read_store(
    request: pytest.FixtureRequest, database: str, infra: Infrastructure
) -> AsyncIterator[CqrsStore]:
    """The `store`, once with its read models in Redis and once in PostgreSQL."""
    async with cqrs_store(database, infra.redis_url, read_store=request.param) as opened:
        yield opened


# `bench` as a command line in-process; tests of signals and process trees start a real one instead.
@pytest.fixture
def bench() -> BenchCli:
    return BenchCli()
