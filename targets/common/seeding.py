"""How a target is seeded: its loader, the tables it settles afterwards, and what every database load shares.

A target names a `Seeding` in its description; the harness generates the data set, calls the
loader on a connection to the target's database, settles the tables and then calls `finish`
(the cqrs target rebuilds its read models there).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import asyncpg

from targets.common.dataset import Dataset


class Progress(Protocol):
    def __call__(self, table: str, rows: int, total: int) -> None: ...


def no_progress(table: str, rows: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class SeedPlace:
    """Where the data goes: the target's database and Redis (None where the target has none), and its settings."""

    pg_dsn: str | None = None
    redis_url: str | None = None
    settings_env: dict[str, str] = field(default_factory=dict)


Loader = Callable[[asyncpg.Connection, Dataset, Progress], Awaitable[dict[str, int]]]
Finish = Callable[[SeedPlace, Progress, dict[str, int]], Awaitable[None]]


class NotEmptyError(RuntimeError):
    """The target's tables already hold data: seeding goes into a fresh database only."""


@dataclass(frozen=True)
class Seeding:
    """`load` COPYs the data set in and returns rows per table; `tables` are vacuumed and analyzed after it."""

    load: Loader
    tables: tuple[str, ...]
    finish: Finish | None = None


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
