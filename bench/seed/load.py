"""Seeding a target: generate the data set, load it the target's way, write the key files.

Each target's way of loading is an entry of SEED_TARGETS, so a new target joins by adding one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench.infra.errors import InfraError
from bench.infra.urls import redact_url
from bench.seed.cqrs import load_cqrs_events, rebuild_read_models
from bench.seed.crud import load_crud
from bench.seed.database import settle
from bench.seed.dataset import Dataset, SeedSpec
from bench.seed.keys import write_keys
from bench.seed.progress import Progress, no_progress
from targets.cqrs.settings import DEFAULT_NAMESPACE

Loader = Callable[[asyncpg.Connection, Dataset, Progress], Awaitable[dict[str, int]]]


@dataclass(frozen=True)
class SeedPlace:
    """Where the data goes: the target's database and Redis (None where the target has none)."""

    pg_dsn: str | None = None
    redis_url: str | None = None
    settings_env: dict[str, str] = field(default_factory=dict)

    @property
    def cqrs_namespace(self) -> str:
        return self.settings_env.get("BENCH_CQRS_NAMESPACE") or DEFAULT_NAMESPACE


async def _after_cqrs_load(place: SeedPlace, progress: Progress, rows: dict[str, int]) -> None:
    if place.pg_dsn is None or place.redis_url is None:
        raise InfraError("seeding the cqrs target needs its PostgreSQL DSN and its Redis URL")
    total = rows["events"]
    rows["events_replayed"] = await rebuild_read_models(
        place.pg_dsn, place.redis_url, place.cqrs_namespace, lambda done: progress("rebuild", done, total)
    )


@dataclass(frozen=True)
class SeedTarget:
    """How one target is seeded. Without a loader (floor) only the key files are written."""

    loader: Loader | None = None
    tables: tuple[str, ...] = ()  # vacuumed and analyzed after the load
    finish: Callable[[SeedPlace, Progress, dict[str, int]], Awaitable[None]] | None = None


SEED_TARGETS: dict[str, SeedTarget] = {
    "floor": SeedTarget(),
    "crud": SeedTarget(load_crud, ("accounts", "ledger_entries", "orders", "order_items")),
    "cqrs": SeedTarget(load_cqrs_events, ("events", "streams"), _after_cqrs_load),
}


@dataclass(frozen=True)
class SeedReport:
    spec: SeedSpec
    rows: dict[str, int]
    seconds: float
    key_files: list[Path]

    def as_dict(self) -> dict[str, object]:
        return {
            "spec": vars(self.spec),
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "key_files": [path.name for path in self.key_files],
        }


def seed_target(
    target: str, spec: SeedSpec, *, keys_dir: Path, place: SeedPlace, progress: Progress = no_progress
) -> SeedReport:
    """Load the data set of `spec` into `target` at `place` and write its key files into `keys_dir`."""
    how = SEED_TARGETS.get(target)
    if how is None:
        raise InfraError(f"no seeding is defined for target {target!r}; expected one of {', '.join(SEED_TARGETS)}")
    started = time.perf_counter()
    data = Dataset(spec)
    rows: dict[str, int] = {}
    if how.loader is not None:
        if place.pg_dsn is None:
            raise InfraError(f"seeding the {target} target needs the DSN of its PostgreSQL database")
        rows = asyncio.run(_load(how, data, place, progress))
    key_files = write_keys(data, keys_dir)
    return SeedReport(spec, rows, time.perf_counter() - started, key_files)


async def _load(how: SeedTarget, data: Dataset, place: SeedPlace, progress: Progress) -> dict[str, int]:
    assert how.loader is not None
    assert place.pg_dsn is not None
    try:
        connection = await asyncpg.connect(place.pg_dsn, timeout=10)
    except (OSError, asyncpg.PostgresError) as error:
        raise InfraError(f"could not connect to {redact_url(place.pg_dsn)} to seed it: {error}") from error
    try:
        rows = await how.loader(connection, data, progress)
        progress("vacuum", 0, 1)
        await settle(connection, list(how.tables))
        progress("vacuum", 1, 1)
    except (asyncpg.PostgresError, RuntimeError) as error:
        raise InfraError(f"seeding {redact_url(place.pg_dsn)} failed: {error}") from error
    finally:
        await connection.close()
    if how.finish is not None:
        await how.finish(place, progress, rows)
    return rows
