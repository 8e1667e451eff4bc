"""A thin client of the contract for tests: asserts success codes and waits on versions, never sleeps."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

READ_DEADLINE_SECONDS = 10.0


@dataclass
class Api:
    target: str
    base_url: str
    client: httpx.Client

    def post_ok(
        self, path: str, body: dict[str, Any] | None, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> Any:
        response = self.client.post(path, json=body, headers=headers)
        assert response.status_code == status, f"POST {path}: {response.status_code} {response.text}"
        return response.json()

    def get_ok(self, path: str, **params: Any) -> httpx.Response:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response

    def open_account(self, owner: str, initial_deposit: int) -> Any:
        return self.post_ok("/accounts", {"owner": owner, "initial_deposit": initial_deposit}, status=201)

    def _fresh(self, path: str, min_version: int, **params: Any) -> Any:
        response = self.get_ok(path, min_version=min_version, **params)
        assert response.headers.get("x-stale") != "true", f"GET {path} still behind version {min_version}"
        return response.json()

    def account(self, account_id: str, *, min_version: int) -> Any:
        return self._fresh(f"/accounts/{account_id}", min_version)

    def statement(self, account_id: str, *, min_version: int, limit: int = 20) -> Any:
        return self._fresh(f"/accounts/{account_id}/statement", min_version, limit=limit)

    def order(self, order_id: str, *, min_version: int) -> Any:
        return self._fresh(f"/orders/{order_id}", min_version)

    def dashboard(self, customer_id: str, *, expect_orders: int, limit: int = 20) -> Any:
        """The customer dashboard once it counts `expect_orders` orders (it has no version to wait on)."""
        deadline = time.monotonic() + READ_DEADLINE_SECONDS
        while True:
            body = self.get_ok(f"/customers/{customer_id}/orders", limit=limit).json()
            if sum(body["counts_by_status"].values()) >= expect_orders or time.monotonic() > deadline:
                return body
            time.sleep(0.01)
