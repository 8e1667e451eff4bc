"""The query side: every read is one Lua script call on Redis, never a database query.

Each script resolves the current generation itself, so a read sees one generation
whole, and one consistent state of the keys it reads (a script runs atomically).
A stream's views that the worker read lately come from its view cache (targets/cqrs/views.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import msgspec
import redis.asyncio as redis

from targets.common import contract
from targets.common.errors import NotFound
from targets.common.service import Read
from targets.cqrs.readmodels import Namespace
from targets.cqrs.views import View, ViewCache
from targets.cqrs.waiter import BACKSTOP_SECONDS, AppliedVersions

_GENERATION = """
local gen = redis.call('GET', KEYS[1])
if not gen then return false end
local p = ARGV[1] .. ':' .. gen .. ':'
"""

# ARGV: namespace, account. -> owner, balance, version
READ_ACCOUNT = (
    _GENERATION
    + """
local account = redis.call('HMGET', p .. 'a:' .. ARGV[2], 'owner', 'balance', 'version')
if not account[3] then return false end
return account
"""
)

# ARGV: namespace, account, limit. -> balance, version, deposited, opened_empty, transactions...
READ_STATEMENT = (
    _GENERATION
    + """
local out = redis.call('HMGET', p .. 'a:' .. ARGV[2], 'balance', 'version', 'deposited', 'opened_empty')
if not out[2] then return false end
for _, tx in ipairs(redis.call('LRANGE', p .. 't:' .. ARGV[2], 0, tonumber(ARGV[3]) - 1)) do out[#out + 1] = tx end
return out
"""
)

# ARGV: namespace, order. -> customer_id, status, total, version, created_at, items
READ_ORDER = (
    _GENERATION
    + """
local order = redis.call('HMGET', p .. 'o:' .. ARGV[2], 'customer_id', 'status', 'total', 'version', 'created_at',
  'items')
if not order[4] then return false end
return order
"""
)

# ARGV: namespace, customer, limit.
# -> created, paid, shipped, cancelled, lifetime_total, then per recent order: id, status, total, version, created_at
READ_DASHBOARD = (
    _GENERATION
    + """
local out = redis.call('HMGET', p .. 'c:' .. ARGV[2], 'created', 'paid', 'shipped', 'cancelled', 'lifetime_total')
for _, id in ipairs(redis.call('ZREVRANGE', p .. 'r:' .. ARGV[2], 0, tonumber(ARGV[3]) - 1)) do
  local o = redis.call('HMGET', p .. 'o:' .. id, 'status', 'total', 'version', 'created_at')
  out[#out + 1] = id
  for k = 1, 4 do out[#out + 1] = o[k] end
end
return out
"""
)

T = TypeVar("T", bound="Versioned")

ACCOUNT_VIEW = View(contract.Account)
ORDER_VIEW = View(contract.Order)

_transaction = msgspec.json.Decoder(contract.Transaction)
_items = msgspec.json.Decoder(list[contract.OrderLine])


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


def _int(raw: bytes | None) -> int:
    return int(raw) if raw is not None else 0


def _status(raw: bytes) -> contract.OrderStatus:
    status = raw.decode()
    assert status in contract.ORDER_STATUSES, f"unknown order status {status!r} in the read model"
    return status


class QuerySide:
    def __init__(
        self,
        client: redis.Redis,
        namespace: Namespace,
        applied: AppliedVersions,
        read_wait_seconds: float,
        views: ViewCache | None = None,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.applied = applied
        self.read_wait_seconds = read_wait_seconds
        self.views = views if views is not None else ViewCache(0)
        self._account = client.register_script(READ_ACCOUNT)
        self._statement = client.register_script(READ_STATEMENT)
        self._order = client.register_script(READ_ORDER)
        self._dashboard = client.register_script(READ_DASHBOARD)

    async def _run(self, script: Any, *args: str | int) -> list[Any] | None:
        reply: list[Any] | None = await script(keys=[self.namespace.current], args=[self.namespace.name, *args])
        return reply

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
        async def read() -> contract.Account | None:
            reply = await self._run(self._account, str(account_id))
            if reply is None:
                return None
            owner, balance, version = reply
            return contract.Account(id=account_id, owner=owner.decode(), balance=int(balance), version=int(version))

        return await self._fresh(account_id, min_version, ACCOUNT_VIEW, read, "account")

    async def statement(self, account_id: uuid.UUID, limit: int, min_version: int | None) -> Read[contract.Statement]:
        async def read() -> contract.Statement | None:
            reply = await self._run(self._statement, str(account_id), limit)
            if reply is None:
                return None
            raw_balance, raw_version, raw_deposited, opened_empty, *transactions = reply
            balance, version, deposited = int(raw_balance), int(raw_version), int(raw_deposited)
            return contract.Statement(
                id=account_id,
                balance=balance,
                version=version,
                transactions=[_transaction.decode(tx) for tx in transactions],
                totals=contract.StatementTotals(
                    deposited=deposited, withdrawn=deposited - balance, count=version - int(opened_empty)
                ),
            )

        return await self._fresh(account_id, min_version, View(contract.Statement, limit), read, "account")

    async def order(self, order_id: uuid.UUID, min_version: int | None) -> Read[contract.Order]:
        async def read() -> contract.Order | None:
            reply = await self._run(self._order, str(order_id))
            if reply is None:
                return None
            customer_id, status, total, version, created_at, items = reply
            return contract.Order(
                id=order_id,
                customer_id=uuid.UUID(customer_id.decode()),
                status=_status(status),
                total=int(total),
                version=int(version),
                created_at=dt.datetime.fromisoformat(created_at.decode()),
                items=_items.decode(items),
            )

        return await self._fresh(order_id, min_version, ORDER_VIEW, read, "order")

    async def customer_orders(self, customer_id: uuid.UUID, limit: int) -> contract.CustomerOrders:
        reply = await self._run(self._dashboard, str(customer_id), limit) or [None] * 5
        counts: dict[str, int] = {
            status: _int(raw) for status, raw in zip(contract.ORDER_STATUSES, reply[:4], strict=True)
        }
        recent = [
            contract.OrderSummary(
                id=uuid.UUID(reply[k].decode()),
                status=_status(reply[k + 1]),
                total=int(reply[k + 2]),
                version=int(reply[k + 3]),
                created_at=dt.datetime.fromisoformat(reply[k + 4].decode()),
            )
            for k in range(5, len(reply), 5)
        ]
        return contract.CustomerOrders(
            customer_id=customer_id, recent=recent, counts_by_status=counts, lifetime_total=_int(reply[4])
        )
