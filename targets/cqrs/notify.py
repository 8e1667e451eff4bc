"""Waking the projectors after appends: a NOTIFY sent after the append committed, never inside it.

A NOTIFY inside the append's transaction would make every append take PostgreSQL's
global notify-queue lock at commit, serializing all writers. Here each API worker
sends at most one NOTIFY at a time, and at most one per `min_interval` (a projector
polls no more often than that anyway), on a connection of its own, after the appends
that asked for it committed, with synchronous_commit off for that connection only:
the notification is a hint (projectors also poll), so losing one in a crash is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

CHANNEL = "cqrs_events"

log = logging.getLogger("targets.cqrs.notify")


class AppendNotifier:
    def __init__(self, dsn: str, *, min_interval: float, channel: str = CHANNEL) -> None:
        self._dsn = dsn
        self._min_interval = min_interval
        self._channel = channel
        self._pending = asyncio.Event()
        self._connection: asyncpg.Connection[asyncpg.Record] | None = None
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="append-notifier")

    def poke(self) -> None:
        """Ask for a NOTIFY after the append that just committed; many pokes make one NOTIFY."""
        self._pending.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _run(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            try:
                if self._connection is None or self._connection.is_closed():
                    self._connection = await asyncpg.connect(self._dsn)
                    await self._connection.execute("SET synchronous_commit = off")
                await self._connection.execute("SELECT pg_notify($1, '')", self._channel)
                self.sent += 1
                if self._min_interval > 0:
                    await asyncio.sleep(self._min_interval)  # pokes meanwhile make the next NOTIFY
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                # The projectors' polling covers for the lost hint; the next poke reconnects.
                log.warning("NOTIFY %s failed: %s", self._channel, error)
                if self._connection is not None:
                    self._connection.terminate()
                    self._connection = None
