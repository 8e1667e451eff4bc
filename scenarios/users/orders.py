"""The orders domain: order and dashboard reads; creating orders and moving the user's own orders along."""

from __future__ import annotations

import time
from typing import ClassVar

from scenarios import probes
from scenarios.mix import ORDERS, Domain
from scenarios.users.base import BenchUser, version_of
from targets.common import endpoints
from targets.common.endpoints import Endpoint

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
        self.send(endpoints.GET_ORDER, self.order_id())

    def customer_orders(self) -> None:
        self.send(endpoints.CUSTOMER_ORDERS, self.customer_id())

    def create_order(self) -> None:
        response = self.send(endpoints.CREATE_ORDER, body=self._new_order())
        if response.status_code == 201:
            _keep(self.created_orders, str(response.json()["id"]))

    def pay_order(self) -> None:
        if not self.created_orders:
            self.create_order()
            return
        order_id = self.created_orders.pop()
        if self._transition(endpoints.PAY_ORDER, order_id):
            _keep(self.paid_orders, order_id)

    def ship_order(self) -> None:
        if not self.paid_orders:
            self.pay_order()
            return
        self._transition(endpoints.SHIP_ORDER, self.paid_orders.pop())

    def cancel_order(self) -> None:
        if not self.created_orders:
            self.create_order()
            return
        self._transition(endpoints.CANCEL_ORDER, self.created_orders.pop())

    def _transition(self, transition: Endpoint, order_id: str) -> bool:
        # 409 invalid_transition is a contract answer (the order moved on meanwhile), not a failure.
        return self.send(transition, order_id, accept=(409,)).status_code == 200

    def probe_order_visibility(self) -> None:
        written = self.send(probes.CREATE_ORDER, body=self._new_order())
        version = version_of(written)
        if version is not None:
            order_id = str(written.json()["id"])
            self.await_visible("orders", probes.GET_ORDER, order_id, version=version, written_at=time.perf_counter())


def _keep(orders: list[str], order_id: str) -> None:
    orders.append(order_id)
    if len(orders) > OWN_ORDERS_KEPT:
        del orders[0]
