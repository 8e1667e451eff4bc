"""The CRUD baseline: normalized tables, updates in place, strongly consistent reads."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TypeAlias, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from targets.common import contract
from targets.common.errors import BalanceLimit, InsufficientFunds, InvalidTransition, NotFound
from targets.common.idempotency import encode_response, replay
from targets.common.pg_pool import keep_session
from targets.common.service import Idempotency, Read, Written
from targets.common.settings import TargetSettings
from targets.common.stats import PoolStats
from targets.crud import queries
from targets.crud.stats import CrudStats

T = TypeVar("T")
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
Write = Callable[[Connection], Awaitable[T]]


def schema_sql() -> str:
    return resources.files("targets.crud").joinpath("schema.sql").read_text()


async def apply_schema(connection: Connection) -> None:
    async with connection.transaction():
        await connection.execute(schema_sql())


def _account_not_found(account_id: uuid.UUID) -> NotFound:
    return NotFound(f"account {account_id} does not exist")


def _order_not_found(order_id: uuid.UUID) -> NotFound:
    return NotFound(f"order {order_id} does not exist")


class CrudService:
    name = "crud"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def start(cls, settings: TargetSettings) -> CrudService:
        pool = await asyncpg.create_pool(
            settings.require_pg_dsn(),
            min_size=settings.pg_pool_size,
            max_size=settings.pg_pool_size,
            reset=keep_session,
        )
        async with pool.acquire() as connection:
            await apply_schema(connection)
        return cls(pool)

    async def close(self) -> None:
        await self.pool.close()

    async def _write(self, idempotency: Idempotency | None, response_type: type[T], write: Write[T]) -> Written[T]:
        async with self.pool.acquire() as connection:
            if idempotency is None:
                return Written(await write(connection))
            async with connection.transaction():
                # Blocks while a concurrent request holding the same key is in flight.
                claimed = await connection.fetchval(
                    queries.CLAIM_IDEMPOTENCY_KEY, idempotency.key, idempotency.fingerprint
                )
                if claimed:
                    value = await write(connection)
                    await connection.execute(queries.STORE_IDEMPOTENT_RESPONSE, idempotency.key, encode_response(value))
                    return Written(value)
            stored = await connection.fetchrow(queries.STORED_IDEMPOTENT_RESPONSE, idempotency.key)
        assert stored is not None
        assert stored["response"] is not None
        return replay(idempotency, stored["fingerprint"], stored["response"], response_type)

    async def open_account(
        self, command: contract.OpenAccount, idempotency: Idempotency | None
    ) -> Written[contract.Account]:
        async def write(connection: Connection) -> contract.Account:
            row = await connection.fetchrow(queries.OPEN_ACCOUNT, uuid.uuid4(), command.owner, command.initial_deposit)
            assert row is not None
            return contract.Account(**row)

        return await self._write(idempotency, contract.Account, write)

    async def deposit(
        self, account_id: uuid.UUID, command: contract.MoneyMovement, idempotency: Idempotency | None
    ) -> Written[contract.BalanceChanged]:
        async def write(connection: Connection) -> contract.BalanceChanged:
            row = await connection.fetchrow(queries.DEPOSIT, account_id, command.amount, contract.MAX_BALANCE)
            if row is not None:
                return contract.BalanceChanged(**row)
            balance = await connection.fetchval(queries.ACCOUNT_BALANCE, account_id)
            if balance is None:
                raise _account_not_found(account_id)
            raise BalanceLimit(f"a deposit of {command.amount} would take the balance past {contract.MAX_BALANCE}")

        return await self._write(idempotency, contract.BalanceChanged, write)

    async def withdraw(
        self, account_id: uuid.UUID, command: contract.MoneyMovement, idempotency: Idempotency | None
    ) -> Written[contract.BalanceChanged]:
        async def write(connection: Connection) -> contract.BalanceChanged:
            row = await connection.fetchrow(queries.WITHDRAW, account_id, command.amount)
            if row is not None:
                return contract.BalanceChanged(**row)
            balance = await connection.fetchval(queries.ACCOUNT_BALANCE, account_id)
            if balance is None:
                raise _account_not_found(account_id)
            raise InsufficientFunds(f"cannot withdraw {command.amount}: the balance is {balance}")

        return await self._write(idempotency, contract.BalanceChanged, write)

    async def get_account(self, account_id: uuid.UUID, min_version: int | None) -> Read[contract.Account]:
        row = await self.pool.fetchrow(queries.GET_ACCOUNT, account_id)
        if row is None:
            raise _account_not_found(account_id)
        account = contract.Account(**row)
        return Read(account, stale=_behind(account.version, min_version))

    async def statement(self, account_id: uuid.UUID, limit: int, min_version: int | None) -> Read[contract.Statement]:
        rows = await self.pool.fetch(queries.STATEMENT, account_id, limit)
        if not rows:
            raise _account_not_found(account_id)
        first = rows[0]
        transactions = [
            contract.Transaction(
                version=row["entry_version"],
                kind=row["kind"],
                amount=row["amount"],
                balance_after=row["balance_after"],
                at=row["at"],
            )
            for row in rows
            if row["entry_version"] is not None
        ]
        statement = contract.Statement(
            id=account_id,
            balance=first["balance"],
            version=first["version"],
            transactions=transactions,
            totals=contract.StatementTotals(
                deposited=first["deposited"], withdrawn=first["withdrawn"], count=first["count"]
            ),
        )
        return Read(statement, stale=_behind(statement.version, min_version))

    async def create_order(
        self, command: contract.CreateOrder, idempotency: Idempotency | None
    ) -> Written[contract.OrderCreated]:
        total = contract.order_total(command.items)

        async def write(connection: Connection) -> contract.OrderCreated:
            order_id = uuid.uuid4()
            await connection.fetchval(
                queries.CREATE_ORDER,
                order_id,
                command.customer_id,
                total,
                [item.sku for item in command.items],
                [item.qty for item in command.items],
                [item.unit_price for item in command.items],
            )
            return contract.OrderCreated(
                id=order_id, customer_id=command.customer_id, status="created", total=total, version=1
            )

        return await self._write(idempotency, contract.OrderCreated, write)

    async def transition_order(
        self, order_id: uuid.UUID, action: contract.OrderAction, idempotency: Idempotency | None
    ) -> Written[contract.OrderTransitioned]:
        allowed_from, target_status = contract.ORDER_TRANSITIONS[action]

        async def write(connection: Connection) -> contract.OrderTransitioned:
            row = await connection.fetchrow(queries.TRANSITION_ORDER, order_id, target_status, list(allowed_from))
            if row is not None:
                return contract.OrderTransitioned(**row)
            status = await connection.fetchval(queries.ORDER_STATUS, order_id)
            if status is None:
                raise _order_not_found(order_id)
            raise InvalidTransition(f"cannot {action} an order that is {status}")

        return await self._write(idempotency, contract.OrderTransitioned, write)

    async def get_order(self, order_id: uuid.UUID, min_version: int | None) -> Read[contract.Order]:
        rows = await self.pool.fetch(queries.GET_ORDER, order_id)
        if not rows:
            raise _order_not_found(order_id)
        first = rows[0]
        order = contract.Order(
            id=first["id"],
            customer_id=first["customer_id"],
            status=first["status"],
            total=first["total"],
            version=first["version"],
            created_at=first["created_at"],
            items=[contract.OrderLine(sku=r["sku"], qty=r["qty"], unit_price=r["unit_price"]) for r in rows],
        )
        return Read(order, stale=_behind(order.version, min_version))

    async def customer_orders(self, customer_id: uuid.UUID, limit: int) -> contract.CustomerOrders:
        rows = await self.pool.fetch(queries.CUSTOMER_ORDERS, customer_id, limit)
        counts: dict[str, int] = {status: (rows[0][status] if rows else 0) for status in contract.ORDER_STATUSES}
        return contract.CustomerOrders(
            customer_id=customer_id,
            recent=[
                contract.OrderSummary(
                    id=r["id"], status=r["status"], total=r["total"], version=r["version"], created_at=r["created_at"]
                )
                for r in rows
            ],
            counts_by_status=counts,
            lifetime_total=rows[0]["lifetime_total"] if rows else 0,
        )

    async def stats(self) -> CrudStats:
        return CrudStats(target=self.name, pool=PoolStats(self.pool.get_size(), self.pool.get_idle_size()))


def _behind(version: int, min_version: int | None) -> bool:
    """CRUD reads are strongly consistent: a version not there now is not in flight somewhere."""
    return min_version is not None and version < min_version
