"""The banking domain: account reads (balance, statement) and money movements."""

from __future__ import annotations

import time
from typing import ClassVar

from scenarios import probes
from scenarios.mix import BANKING, Domain
from scenarios.users.base import BenchUser, version_of
from targets.common import endpoints

DEPOSIT, WITHDRAWAL = "deposit", "withdrawal"  # as the stores name them
MIN_AMOUNT = 100  # cents
MAX_AMOUNT = 10_000


class BankingUser(BenchUser):
    abstract = True
    domains: ClassVar[tuple[Domain, ...]] = (BANKING,)

    def _amount(self) -> int:
        return self.rng.randint(MIN_AMOUNT, MAX_AMOUNT)

    def get_account(self) -> None:
        self.send(endpoints.GET_ACCOUNT, self.account_id())

    def statement(self) -> None:
        self.send(endpoints.STATEMENT, self.account_id())

    def deposit(self) -> None:
        self.move_money(endpoints.DEPOSIT, self.account_id(), DEPOSIT, self._amount())

    def withdraw(self) -> None:
        # 409 insufficient_funds is the contract's answer to an overdraft, not a failure.
        self.move_money(endpoints.WITHDRAW, self.account_id(), WITHDRAWAL, self._amount(), accept=(409,))

    def probe_account_visibility(self) -> None:
        account_id = self.account_id()
        written = self.move_money(probes.DEPOSIT, account_id, DEPOSIT, self._amount())
        version = version_of(written)
        if version is not None:
            self.await_visible(
                "banking", probes.GET_ACCOUNT, account_id, version=version, written_at=time.perf_counter()
            )
