"""PostgreSQL's own counters for the run's database: transactions and tuples written, events appended.

Counters are cumulative; the time series turns them into per-second rates. Events appended
come from the statistics of an `events` table (its inserted tuples), when the database has one:
counting its rows each second would scan it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg

from bench.rundir.columns import POSTGRES_COUNTERS

QUERY_TIMEOUT = 0.5

COUNTERS = """
SELECT d.xact_commit, d.xact_rollback, d.tup_inserted, d.tup_updated, d.tup_deleted, d.tup_returned, d.tup_fetched,
       (SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = to_regclass('events')) AS events_inserted
FROM pg_stat_database d WHERE d.datname = current_database()
"""


@dataclass
class PostgresCounters:
    """A connection kept open for the run, so that a sample costs one query."""

    dsn: str
    runner: asyncio.Runner
    connection: asyncpg.Connection | None = None
    error: str | None = None

    def sample(self) -> dict[str, int | None] | None:
        """The cumulative counters, or None (with `error` set) when the server does not answer in time."""
        try:
            return self.runner.run(asyncio.wait_for(self._query(), QUERY_TIMEOUT * 2))
        except Exception as error:  # any failure is a missing sample; the watchdog judges the server
            self.error = f"{type(error).__name__}: {error}"
            self._drop_connection()
            return None

    async def _query(self) -> dict[str, int | None]:
        if self.connection is None or self.connection.is_closed():
            self.connection = await asyncpg.connect(self.dsn, timeout=QUERY_TIMEOUT, command_timeout=QUERY_TIMEOUT)
        row = await self.connection.fetchrow(COUNTERS)
        if row is None:
            return dict.fromkeys(POSTGRES_COUNTERS)
        return {name: row[name] for name in POSTGRES_COUNTERS}

    def _drop_connection(self) -> None:
        """Abandon the connection (a query cut short by the timeout leaves it unusable)."""
        if self.connection is not None:
            self.connection.terminate()
            self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.runner.run(asyncio.wait_for(self.connection.close(), QUERY_TIMEOUT * 2))
            except Exception:
                self._drop_connection()
            self.connection = None
