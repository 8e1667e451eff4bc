"""After an arm's load stops: is the data still right? The target's own checks, run against its database.

Each target's checks live with it (its description's `checks`, beside its schema.sql); this module
looks the target up, runs them on a connection to the run's database and times them. What it
returns is invariants.json's struct, `DataChecks`.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg

from bench.rundir.checks import DataChecks, not_checked
from targets.common.checks import DataCheck, DataChecker
from targets.registry import get_target

__all__ = ["DataChecks", "check_invariants", "not_checked"]


def check_invariants(target: str | None, database_dsn: str | None, base_url: str) -> DataChecks:
    if target is None:
        return not_checked("an external service: its database is not the harness's to read")
    checker = get_target(target).checker()
    if checker is None or database_dsn is None:
        return not_checked(f"the {target} target keeps no data")
    started = time.monotonic()
    checks = asyncio.run(_run(checker, database_dsn, base_url))
    return DataChecks(checked=True, checks=checks, seconds=round(time.monotonic() - started, 2))


async def _run(checker: DataChecker, database_dsn: str, base_url: str) -> list[DataCheck]:
    connection = await asyncpg.connect(database_dsn)
    try:
        return await checker(connection, base_url)
    finally:
        await connection.close()
