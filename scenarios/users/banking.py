"""The banking domain: account reads (balance, statement) and money movements."""

from __future__ import annotations

import time
from typing import ClassVar

from scenarios.mix import BANKING, Domain
from scenarios.users.base import BenchUser, version_of

MIN_AMOUNT = 100  # cents
MAX_AMOUNT = 10_000


class BankingUser(BenchUser):
    abstract = True
    domains: ClassVar[tuple[Domain, ...]] = (BANKING,)

    def _amount(self) -> int:
        return self.rng.randint(MIN_AMOUNT, MAX_AMOUNT)

    def get_account(self) -> None:
        self.send("GET", f"/accounts/{self.account_id()}", name="GET /accounts/{id}")

    def statement(self) -> None:
        self.send("GET", f"/accounts/{self.account_id()}/statement", name="GET /accounts/{id}/statement")

    def deposit(self) -> None:
        path = f"/accounts/{self.account_id()}/deposits"
        self.send("POST", path, name="POST /accounts/{id}/deposits", body={"amount": self._amount()})

    def withdraw(self) -> None:
        path = f"/accounts/{self.account_id()}/withdrawals"
        # 409 insufficient_funds is the contract's answer to an overdraft, not a failure.
        self.send("POST", path, name="POST /accounts/{id}/withdrawals", body={"amount": self._amount()}, accept=(409,))

    def probe_account_visibility(self) -> None:
        account_id = self.account_id()
        written = self.send(
            "POST",
            f"/accounts/{account_id}/deposits",
            name="probe: POST /accounts/{id}/deposits",
            body={"amount": self._amount()},
        )
        version = version_of(written)
        if version is not None:
            path = f"/accounts/{account_id}"
            self.await_visible("banking", path, name="probe: GET /accounts/{id}", version=version,
                               written_at=time.perf_counter())  # fmt: skip
