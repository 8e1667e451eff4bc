"""The orders domain: order and dashboard reads; creating orders and moving the user's own orders along."""

from __future__ import annotations

import time
from typing import ClassVar

from scenarios.mix import ORDERS, Domain
from scenarios.users.base import BenchUser, version_of

SKUS = 1_000
MAX_ITEMS = 5
MAX_QTY = 5
OWN_ORDERS_KEPT = 100  # per user and status: enough to always have one to move along


class OrdersUser(BenchUser):
    abstract = True
    domains: ClassVar[tuple[Domain, ...]] = (ORDERS,)

    def on_start(self) -> None:
        super().on_start()
        # Transitions act on orders this user created, so they are valid moves rather than 409s.
        self.created_orders: list[str] = []
        self.paid_orders: list[str] = []

    def _new_order(self) -> dict[str, object]:
        rng = self.rng
        items = [
            {
                "sku": f"sku-{rng.randrange(SKUS):04d}",
                "qty": rng.randint(1, MAX_QTY),
                "unit_price": rng.randint(100, 10_000),
            }
            for _ in range(rng.randint(1, MAX_ITEMS))
        ]
        return {"customer_id": self.customer_id(), "items": items}

    def get_order(self) -> None:
        self.send("GET", f"/orders/{self.order_id()}", name="GET /orders/{id}")

    def customer_orders(self) -> None:
        self.send("GET", f"/customers/{self.customer_id()}/orders", name="GET /customers/{id}/orders")

    def create_order(self) -> None:
        response = self.send("POST", "/orders", name="POST /orders", body=self._new_order())
        if response.status_code == 201:
            _keep(self.created_orders, str(response.json()["id"]))

    def pay_order(self) -> None:
        if not self.created_orders:
            self.create_order()
            return
        order_id = self.created_orders.pop()
        if self._transition(order_id, "pay"):
            _keep(self.paid_orders, order_id)

    def ship_order(self) -> None:
        if not self.paid_orders:
            self.pay_order()
            return
        self._transition(self.paid_orders.pop(), "ship")

    def cancel_order(self) -> None:
        if not self.created_orders:
            self.create_order()
            return
        self._transition(self.created_orders.pop(), "cancel")

    def _transition(self, order_id: str, action: str) -> bool:
        # 409 invalid_transition is a contract answer (the order moved on meanwhile), not a failure.
        response = self.send(
            "POST", f"/orders/{order_id}/{action}", name=f"POST /orders/{{id}}/{action}", accept=(409,)
        )
        return response.status_code == 200

    def probe_order_visibility(self) -> None:
        written = self.send("POST", "/orders", name="probe: POST /orders", body=self._new_order())
        version = version_of(written)
        if version is not None:
            path = f"/orders/{written.json()['id']}"
            self.await_visible("orders", path, name="probe: GET /orders/{id}", version=version,
                               written_at=time.perf_counter())  # fmt: skip


def _keep(orders: list[str], order_id: str) -> None:
    orders.append(order_id)
    if len(orders) > OWN_ORDERS_KEPT:
        del orders[0]
