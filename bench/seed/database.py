"""What every database load ends with, so that a run starts from a settled database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg


@contextlib.asynccontextmanager
async def bulk_load(connection: asyncpg.Connection) -> AsyncIterator[None]:
    """A transaction for loading data known to be consistent: foreign-key triggers skipped where allowed.

    The seeded data is generated consistent, and checking each row's foreign key one by one
    takes twice as long as the COPY itself. session_replication_role needs a superuser (the
    embedded server's role); elsewhere the checks simply run.
    """
    async with connection.transaction():
        try:
            async with connection.transaction():  # a savepoint: a refusal must not abort the load
                await connection.execute("SET LOCAL session_replication_role = replica")
        except asyncpg.InsufficientPrivilegeError:
            pass
        yield


async def settle(connection: asyncpg.Connection, tables: list[str]) -> None:
    """VACUUM ANALYZE the loaded tables, then CHECKPOINT.

    Without this, autovacuum and the first checkpoint would process the bulk load in the
    middle of the measurement, and the planner would plan against empty-table statistics.
    """
    for table in tables:
        await connection.execute(f"VACUUM (ANALYZE) {table}")
    # An external server's role may not checkpoint; the measurement then shares its I/O.
    with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
        await connection.execute("CHECKPOINT")
