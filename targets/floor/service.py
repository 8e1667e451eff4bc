"""The floor: the shared stack with handlers that do no I/O.

Every route answers a well-formed synthetic response after an optional
synthetic delay, so a run against it measures the stack and the harness, and a
known delay distribution calibrates the latency measurement.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import uuid

from targets.common import contract
from targets.common.delay import DelayDistribution
from targets.common.service import Idempotency, Read, Written
from targets.common.settings import TargetSettings

_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class FloorService:
    name = "floor"

    def __init__(self, delay: DelayDistribution, spin_seconds: float = 0.0) -> None:
        self.delay = delay
        self.spin_seconds = spin_seconds
        self.rng = random.Random()
        self.requests = 0

    @classmethod
    async def start(cls, settings: TargetSettings) -> FloorService:
        return cls(settings.floor_delay, settings.floor_spin_us / 1e6)

    async def close(self) -> None:
        return None

    async def _serve(self) -> None:
        self.requests += 1
        seconds = self.delay.sample(self.rng)
        if seconds <= 0:
            return
        # The synthetic service time itself. uvloop's timers have millisecond grain and fire late by up
        # to about a millisecond; with a spin, the last part is awaited by yielding to the loop until the
        # deadline (exact, but it burns the CPU the loop would otherwise idle: for calibration only).
        deadline = time.perf_counter() + seconds
        if seconds > self.spin_seconds:
            await asyncio.sleep(seconds - self.spin_seconds)
        while time.perf_counter() < deadline:  # noqa: ASYNC110 - a spin that yields, not a wait for an event
            await asyncio.sleep(0)

    async def open_account(
        self, command: contract.OpenAccount, idempotency: Idempotency | None
    ) -> Written[contract.Account]:
        await self._serve()
        return Written(
            contract.Account(id=uuid.uuid4(), owner=command.owner, balance=command.initial_deposit, version=1)
        )

    async def deposit(
        self, account_id: uuid.UUID, command: contract.MoneyMovement, idempotency: Idempotency | None
    ) -> Written[contract.BalanceChanged]:
        await self._serve()
        return Written(contract.BalanceChanged(id=account_id, balance=command.amount, version=2))

    async def withdraw(
        self, account_id: uuid.UUID, command: contract.MoneyMovement, idempotency: Idempotency | None
    ) -> Written[contract.BalanceChanged]:
        await self._serve()
        return Written(contract.BalanceChanged(id=account_id, balance=0, version=2))

    async def get_account(self, account_id: uuid.UUID, min_version: int | None) -> Read[contract.Account]:
        await self._serve()
        return Read(contract.Account(id=account_id, owner="floor", balance=0, version=1))

    async def statement(self, account_id: uuid.UUID, limit: int, min_version: int | None) -> Read[contract.Statement]:
        await self._serve()
        totals = contract.StatementTotals(deposited=0, withdrawn=0, count=0)
        return Read(contract.Statement(id=account_id, balance=0, version=1, transactions=[], totals=totals))

    async def create_order(
        self, command: contract.CreateOrder, idempotency: Idempotency | None
    ) -> Written[contract.OrderCreated]:
        await self._serve()
        return Written(
            contract.OrderCreated(
                id=uuid.uuid4(),
                customer_id=command.customer_id,
                status="created",
                total=contract.order_total(command.items),
                version=1,
            )
        )

    async def transition_order(
        self, order_id: uuid.UUID, action: contract.OrderAction, idempotency: Idempotency | None
    ) -> Written[contract.OrderTransitioned]:
        await self._serve()
        _, status = contract.ORDER_TRANSITIONS[action]
        return Written(contract.OrderTransitioned(id=order_id, status=status, version=2))

    async def get_order(self, order_id: uuid.UUID, min_version: int | None) -> Read[contract.Order]:
        await self._serve()
        return Read(
            contract.Order(
                id=order_id, customer_id=order_id, status="created", total=0, version=1, created_at=_EPOCH, items=[]
            )
        )

    async def customer_orders(self, customer_id: uuid.UUID, limit: int) -> contract.CustomerOrders:
        await self._serve()
        return contract.CustomerOrders(
            customer_id=customer_id,
            recent=[],
            counts_by_status=dict.fromkeys(contract.ORDER_STATUSES, 0),
            lifetime_total=0,
        )

    async def stats(self) -> dict[str, object]:
        return {"target": self.name, "requests": self.requests, "delay": self.delay.kind}
