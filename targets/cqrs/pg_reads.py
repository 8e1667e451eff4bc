"""The read side on PostgreSQL: each read one statement over the read-model tables, and LISTEN for announcements.

Each statement resolves the current generation itself, so a read sees one generation whole, and
one snapshot of the rows it reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable

import asyncpg

from targets.common import contract
from targets.cqrs.pg_readmodels import APPLIED_CHANNEL
from targets.cqrs.read_rows import order_items, order_status, statement_view
from targets.cqrs.readstore import follow_forever

PROBE_SECONDS = 5.0  # how often a quiet LISTEN connection is checked: a half-open one fails the probe

_CURRENT = "(SELECT current FROM read_generations)"

READ_ACCOUNT = f"SELECT owner, balance, version FROM read_accounts WHERE generation = {_CURRENT} AND account_id = $1"

READ_STATEMENT = f"""
SELECT a.balance, a.version, a.deposited, a.opened_empty,
       ARRAY(SELECT t.line FROM read_transactions t
             WHERE t.generation = a.generation AND t.account_id = a.account_id
             ORDER BY t.version DESC LIMIT $2) AS lines
FROM read_accounts a WHERE a.generation = {_CURRENT} AND a.account_id = $1
"""

READ_ORDER = f"""
SELECT customer_id, status, total, version, created_at, items FROM read_orders
WHERE generation = {_CURRENT} AND order_id = $1
"""

# One row at least (the customer's counters, NULL if none), then one per recent order, newest first.
READ_DASHBOARD = """
SELECT c.created, c.paid, c.shipped, c.cancelled, c.lifetime_total,
       o.order_id, o.status, o.total, o.version, o.created_at
FROM (SELECT current AS generation FROM read_generations) g
LEFT JOIN read_customers c ON c.generation = g.generation AND c.customer_id = $1
LEFT JOIN LATERAL (
    SELECT order_id, status, total, version, created_at, position FROM read_orders r
    WHERE r.generation = g.generation AND r.customer_id = $1
    ORDER BY position DESC LIMIT $2
) o ON true
ORDER BY o.position DESC
"""


class PgReader:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def account(self, account_id: uuid.UUID) -> contract.Account | None:
        row = await self.pool.fetchrow(READ_ACCOUNT, account_id)
        if row is None:
            return None
        owner, balance, version = row
        return contract.Account(id=account_id, owner=owner, balance=balance, version=version)

    async def statement(self, account_id: uuid.UUID, limit: int) -> contract.Statement | None:
        row = await self.pool.fetchrow(READ_STATEMENT, account_id, limit)
        if row is None:
            return None
        balance, version, deposited, opened_empty, lines = row
        return statement_view(account_id, balance, version, deposited, int(opened_empty), lines)

    async def order(self, order_id: uuid.UUID) -> contract.Order | None:
        row = await self.pool.fetchrow(READ_ORDER, order_id)
        if row is None:
            return None
        customer_id, status, total, version, created_at, items = row
        return contract.Order(
            id=order_id,
            customer_id=customer_id,
            status=order_status(status),
            total=total,
            version=version,
            created_at=created_at,
            items=order_items.decode(items),
        )

    async def customer_orders(self, customer_id: uuid.UUID, limit: int) -> contract.CustomerOrders:
        rows = await self.pool.fetch(READ_DASHBOARD, customer_id, limit)
        first = rows[0]
        counts: dict[str, int] = {status: first[k] or 0 for k, status in enumerate(contract.ORDER_STATUSES)}
        recent = [
            contract.OrderSummary(
                id=row["order_id"],
                status=order_status(row["status"]),
                total=row["total"],
                version=row["version"],
                created_at=row["created_at"],
            )
            for row in rows
            if row["order_id"] is not None
        ]
        return contract.CustomerOrders(
            customer_id=customer_id, recent=recent, counts_by_status=counts, lifetime_total=first[4] or 0
        )


class PgAnnouncements:
    """The projectors' announcements as NOTIFY on APPLIED_CHANNEL, followed on a LISTEN connection of its own."""

    def __init__(self, dsn: str, channel: str = APPLIED_CHANNEL) -> None:
        self._dsn = dsn
        self._channel = channel

    async def follow(self, announced: Callable[[bytes], None], live: Callable[[bool], None]) -> None:
        def notified(_connection: object, _pid: int, _channel: str, payload: object) -> None:
            assert isinstance(payload, str)
            announced(payload.encode())

        async def session(live: Callable[[bool], None]) -> None:
            connection = await asyncpg.connect(self._dsn)
            try:
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _connection: lost.set())
                await connection.add_listener(self._channel, notified)  # LISTEN done: from here on none is missed
                live(True)
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(PROBE_SECONDS):
                            await lost.wait()
                    if not lost.is_set():
                        await connection.execute("SELECT 1")
                raise ConnectionResetError("the LISTEN connection was closed")
            finally:
                connection.terminate()

        errors = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)
        await follow_forever(session, live, errors, f"LISTEN {self._channel}")
