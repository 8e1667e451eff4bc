"""The read side on Redis: every read one Lua script call, and the subscription to the projectors' announcements.

Each script resolves the current generation itself, so a read sees one generation
whole, and one consistent state of the keys it reads (a script runs atomically).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import redis.asyncio as redis

from targets.common import contract
from targets.common.errors import Unavailable
from targets.cqrs.read_rows import order_items, order_status, statement_view
from targets.cqrs.readmodels import Namespace
from targets.cqrs.readstore import follow_forever

# No current generation at all: Redis lost the read models (flushed, or restarted without its data) and a
# projector is rebuilding them. -1 tells that apart from a key that is not there (false: 404).
_GENERATION = """
local gen = redis.call('GET', KEYS[1])
if not gen then return -1 end
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


def _int(raw: bytes | None) -> int:
    return int(raw) if raw is not None else 0


class RedisReader:
    def __init__(self, client: redis.Redis, namespace: Namespace) -> None:
        self.client = client
        self.namespace = namespace
        self._account = client.register_script(READ_ACCOUNT)
        self._statement = client.register_script(READ_STATEMENT)
        self._order = client.register_script(READ_ORDER)
        self._dashboard = client.register_script(READ_DASHBOARD)

    async def _run(self, script: Any, *args: str | int) -> list[Any] | None:
        reply: list[Any] | int | None = await script(keys=[self.namespace.current], args=[self.namespace.name, *args])
        if reply == -1:
            raise Unavailable("the read models are being rebuilt from the event store; retry later")
        assert not isinstance(reply, int)
        return reply

    async def account(self, account_id: uuid.UUID) -> contract.Account | None:
        reply = await self._run(self._account, str(account_id))
        if reply is None:
            return None
        owner, balance, version = reply
        return contract.Account(id=account_id, owner=owner.decode(), balance=int(balance), version=int(version))

    async def statement(self, account_id: uuid.UUID, limit: int) -> contract.Statement | None:
        reply = await self._run(self._statement, str(account_id), limit)
        if reply is None:
            return None
        balance, version, deposited, opened_empty, *lines = reply
        return statement_view(account_id, int(balance), int(version), int(deposited), int(opened_empty), lines)

    async def order(self, order_id: uuid.UUID) -> contract.Order | None:
        reply = await self._run(self._order, str(order_id))
        if reply is None:
            return None
        customer_id, status, total, version, created_at, items = reply
        return contract.Order(
            id=order_id,
            customer_id=uuid.UUID(customer_id.decode()),
            status=order_status(status.decode()),
            total=int(total),
            version=int(version),
            created_at=dt.datetime.fromisoformat(created_at.decode()),
            items=order_items.decode(items),
        )

    async def customer_orders(self, customer_id: uuid.UUID, limit: int) -> contract.CustomerOrders:
        reply = await self._run(self._dashboard, str(customer_id), limit) or [None] * 5
        counts: dict[str, int] = {
            status: _int(raw) for status, raw in zip(contract.ORDER_STATUSES, reply[:4], strict=True)
        }
        recent = [
            contract.OrderSummary(
                id=uuid.UUID(reply[k].decode()),
                status=order_status(reply[k + 1].decode()),
                total=int(reply[k + 2]),
                version=int(reply[k + 3]),
                created_at=dt.datetime.fromisoformat(reply[k + 4].decode()),
            )
            for k in range(5, len(reply), 5)
        ]
        return contract.CustomerOrders(
            customer_id=customer_id, recent=recent, counts_by_status=counts, lifetime_total=_int(reply[4])
        )


class RedisAnnouncements:
    """The projectors' announcements on the pub/sub channel "<namespace>:applied"."""

    def __init__(self, client: redis.Redis, channel: str) -> None:
        self._client = client
        self._channel = channel

    async def follow(self, announced: Callable[[bytes], None], live: Callable[[bool], None]) -> None:
        async def session(live: Callable[[bool], None]) -> None:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None:
                        continue
                    if message["type"] == "message":
                        announced(message["data"])
                    elif message["type"] == "subscribe":  # Redis confirmed: from here on nothing is missed
                        live(True)
            finally:
                with contextlib.suppress(OSError, redis.RedisError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8.2

        await follow_forever(session, live, (OSError, redis.RedisError), f"subscription to {self._channel}")
