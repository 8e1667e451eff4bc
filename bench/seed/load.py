"""Seeding a target: generate the data set, load it the target's way, write the key files.

How a target is loaded is its own (its description's `seeding`); a target without one gets only
the key files.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.infra.errors import InfraError
from bench.infra.urls import redact_url
from bench.seed.keys import write_keys
from targets.common.dataset import Dataset, SeedSpec
from targets.common.seeding import Progress, Seeding, SeedPlace, no_progress, settle
from targets.registry import RegistryError, get_target


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
    try:
        seeding = get_target(target).seeder()
    except RegistryError as error:
        raise InfraError(str(error)) from None
    started = time.perf_counter()
    data = Dataset(spec)
    rows: dict[str, int] = {}
    if seeding is not None:
        if place.pg_dsn is None:
            raise InfraError(f"seeding the {target} target needs the DSN of its PostgreSQL database")
        rows = asyncio.run(_load(seeding, data, place, progress))
    key_files = write_keys(data, keys_dir)
    return SeedReport(spec, rows, time.perf_counter() - started, key_files)


async def _load(seeding: Seeding, data: Dataset, place: SeedPlace, progress: Progress) -> dict[str, int]:
    assert place.pg_dsn is not None
    try:
        connection = await asyncpg.connect(place.pg_dsn, timeout=10)
    except (OSError, asyncpg.PostgresError) as error:
        raise InfraError(f"could not connect to {redact_url(place.pg_dsn)} to seed it: {error}") from error
    try:
        rows = await seeding.load(connection, data, progress)
        progress("vacuum", 0, 1)
        await settle(connection, list(seeding.tables))
        progress("vacuum", 1, 1)
    except (asyncpg.PostgresError, RuntimeError) as error:
        raise InfraError(f"seeding {redact_url(place.pg_dsn)} failed: {error}") from error
    finally:
        await connection.close()
    if seeding.finish is not None:
        try:
            await seeding.finish(place, progress, rows)
        except RuntimeError as error:
            raise InfraError(str(error)) from error
    return rows
