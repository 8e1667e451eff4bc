"""The crud target with a defect planted, so that the acknowledged-writes check is seen to catch each kind.

It joins the harness through BENCH_TARGET_MODULES=tests.defective_crud; BENCH_DEFECT picks the defects (a
comma-separated list):
- `lose`: every 10th deposit is acknowledged, then undone (a commit that a failover did not keep);
- `double`: every 7th deposit is applied twice (a retry processed again, without its key);
- `stale-read`: the balance read of one account in ten is off by one cent.
The store stays consistent with itself in all three (each balance equals the fold of its ledger), so the
target's own data checks see nothing: only the client's log of what it was told can.
"""

from __future__ import annotations

import dataclasses
import os
import uuid

import msgspec
from starlette.applications import Starlette

from targets.common import contract
from targets.common.app import build_app
from targets.common.service import Idempotency, Read, Service, Written
from targets.common.settings import TargetSettings
from targets.crud import TARGET as CRUD
from targets.crud.service import CrudService

NAME = "crud-defective"
DEFECT_ENV = "BENCH_DEFECT"
LOSE_EVERY, DOUBLE_EVERY, MISREAD_EVERY = 10, 7, 10

UNDO_DEPOSIT = """
WITH still AS (
    SELECT id FROM accounts WHERE id = $1 AND version = $2 FOR UPDATE
), undone AS (
    DELETE FROM ledger_entries l USING still WHERE l.account_id = still.id AND l.version = $2 RETURNING l.amount
)
UPDATE accounts a SET balance = a.balance - undone.amount, version = a.version - 1 FROM undone WHERE a.id = $1
"""


class DefectiveCrudService(CrudService):
    name = NAME
    deposits = 0

    async def deposit(
        self, account_id: uuid.UUID, command: contract.MoneyMovement, idempotency: Idempotency | None
    ) -> Written[contract.BalanceChanged]:
        written = await super().deposit(account_id, command, idempotency)
        self.deposits += 1
        if "lose" in _defects() and self.deposits % LOSE_EVERY == 0:
            # Only while nothing was written after it: the store must stay consistent with itself.
            async with self.pool.acquire() as connection, connection.transaction():
                await connection.execute(UNDO_DEPOSIT, account_id, written.value.version)
        elif "double" in _defects() and self.deposits % DOUBLE_EVERY == 0:
            await super().deposit(account_id, command, None)
        return written

    async def get_account(self, account_id: uuid.UUID, min_version: int | None) -> Read[contract.Account]:
        read = await super().get_account(account_id, min_version)
        if "stale-read" in _defects() and account_id.int % MISREAD_EVERY == 0:
            return Read(msgspec.structs.replace(read.value, balance=read.value.balance + 1), stale=read.stale)
        return read


def _defects() -> set[str]:
    return {name.strip() for name in os.environ.get(DEFECT_ENV, "").split(",")}


async def _service(settings: TargetSettings) -> Service:
    return await DefectiveCrudService.start(settings)


def create_app() -> Starlette:
    return build_app(NAME, _service, TargetSettings.from_env())


TARGET = dataclasses.replace(CRUD, name=NAME, app="tests.defective_crud:create_app")  # crud's store and checks
