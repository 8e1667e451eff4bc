"""The query side: reads from the read store (Redis or PostgreSQL, targets/cqrs/readstore.py), never the event store.

A stream's views that the worker read lately come from its view cache (targets/cqrs/views.py);
`?min_version=` reads wait for the projectors' announcements (targets/cqrs/waiter.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from targets.common import contract
from targets.common.errors import NotFound
from targets.common.service import Read
from targets.cqrs.readstore import ReadModelReader
from targets.cqrs.views import View, ViewCache
from targets.cqrs.waiter import BACKSTOP_SECONDS, AppliedVersions

T = TypeVar("T", bound="Versioned")

ACCOUNT_VIEW = View(contract.Account)
ORDER_VIEW = View(contract.Order)


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


class QuerySide:
    def __init__(
        self,
        reader: ReadModelReader,
        applied: AppliedVersions,
        read_wait_seconds: float,
        views: ViewCache | None = None,
    ) -> None:
        self.reader = reader
        self.applied = applied
        self.read_wait_seconds = read_wait_seconds
        self.views = views if views is not None else ViewCache(0)

    async def _fresh(
        self,
        stream_id: uuid.UUID,
        min_version: int | None,
        view: View[T],
        read: Callable[[], Awaitable[T | None]],
        what: str,
    ) -> Read[T]:
        """The read model, once it reached `min_version` or the wait ran out (then marked stale)."""
        stream = str(stream_id).encode()
        cached = self.views.get(stream, view)
        if cached is not None and (min_version is None or cached.version >= min_version):
            return Read(cached, stale=False)
        with self.views.reading(stream) as reading:
            value = await read()
            stale = False
            if min_version is not None and (value is None or value.version < min_version):
                value = await self._wait(stream_id, min_version, read)
                stale = value is None or value.version < min_version
            if value is not None:
                self.views.put(reading, view, value)
        if value is None:
            raise NotFound(f"{what} {stream_id} does not exist")
        return Read(value, stale=stale)

    async def _wait(self, stream_id: uuid.UUID, wanted: int, read: Callable[[], Awaitable[T | None]]) -> T | None:
        """The read model once it reached `wanted`, else as it is when the wait runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.read_wait_seconds
        with self.applied.watch(stream_id) as woken:
            while True:
                value = await read()  # again after registering: an announcement in between is not missed
                if value is not None and value.version >= wanted:
                    return value
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return value
                try:
                    async with asyncio.timeout(min(remaining, BACKSTOP_SECONDS)):
                        await woken.wait()
                except TimeoutError:
                    pass
                woken.clear()

    async def account(self, account_id: uuid.UUID, min_version: int | None) -> Read[contract.Account]:
        return await self._fresh(
            account_id, min_version, ACCOUNT_VIEW, lambda: self.reader.account(account_id), "account"
        )

    async def statement(self, account_id: uuid.UUID, limit: int, min_version: int | None) -> Read[contract.Statement]:
        return await self._fresh(
            account_id,
            min_version,
            View(contract.Statement, limit),
            lambda: self.reader.statement(account_id, limit),
            "account",
        )

    async def order(self, order_id: uuid.UUID, min_version: int | None) -> Read[contract.Order]:
        return await self._fresh(order_id, min_version, ORDER_VIEW, lambda: self.reader.order(order_id), "order")

    async def customer_orders(self, customer_id: uuid.UUID, limit: int) -> contract.CustomerOrders:
        return await self.reader.customer_orders(customer_id, limit)
