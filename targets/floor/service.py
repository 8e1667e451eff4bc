"""The floor: the shared stack with handlers that do no I/O.

Every route answers a well-formed synthetic response after an optional
synthetic delay, so a run against it measures the stack and the harness, and a
known delay distribution calibrates the latency measurement. A stall delay
('stall:200ms/1s') instead blocks the whole process now and then, so that a
stall of the target can be provoked and seen in the latency from the intended start.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import time
import uuid

from targets.common import contract
from targets.common.delay import DelayDistribution
from targets.common.service import Idempotency, Read, Written
from targets.common.settings import TargetSettings
from targets.floor.stats import FloorStats

_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class FloorService:
    name = "floor"

    def __init__(self, delay: DelayDistribution, spin_seconds: float = 0.0) -> None:
        self.delay = delay
        self.spin_seconds = spin_seconds
        self.rng = random.Random()
        self.requests = 0
        self._stalls: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, settings: TargetSettings) -> FloorService:
        service = cls(settings.floor_delay, settings.floor_spin_us / 1e6)
        stall = settings.floor_delay.stall
        if stall is not None:
            service._stalls = asyncio.create_task(_stall_every(*stall))
        return service

    async def close(self) -> None:
        if self._stalls is not None:
            self._stalls.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stalls

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

    async def stats(self) -> FloorStats:
        return FloorStats(target=self.name, requests=self.requests, delay=self.delay.kind)


async def _stall_every(blocked: float, period: float) -> None:
    """Block the whole process (the event loop with it) for `blocked` seconds at each multiple of `period`.

    Wall-clock multiples, so that the worker processes of one target stall together and nothing answers.
    """
    while True:
        await asyncio.sleep(period - time.time() % period)
        time.sleep(blocked)  # noqa: ASYNC251 - blocking the loop is the point: the target stops answering
