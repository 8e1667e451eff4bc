"""Seeding any service that serves the contract, through its HTTP API (for `--host` runs and quick benchmarks).

Slower than a database load (one request per entry), and the service chooses the ids, so the
key files differ from a database seed; the amounts, histories and orders are the data set's.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from targets.common.dataset import ORDER_FATES, Dataset
from targets.common.seeding import Progress, no_progress

CONCURRENCY = 32
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class ApiSeeded:
    account_ids: list[str]
    customer_ids: list[str]
    order_ids: list[str]


async def seed_through_api(base_url: str, data: Dataset, progress: Progress = no_progress) -> ApiSeeded:
    """Open the data set's accounts with their histories and create its orders, through the API."""
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=TIMEOUT_SECONDS) as client:
        semaphore = asyncio.Semaphore(CONCURRENCY)
        amounts, withdrawal, _ = data.ledger
        done = {"accounts": 0, "orders": 0}

        async def open_account(index: int) -> str:
            async with semaphore:
                body = {"owner": f"owner-{index}", "initial_deposit": int(amounts[index, 0])}
                response = await client.post("/accounts", json=body)
                response.raise_for_status()
                account_id = str(response.json()["id"])
                for amount, out in zip(amounts[index, 1:].tolist(), withdrawal[index, 1:].tolist(), strict=True):
                    kind = "withdrawals" if out else "deposits"
                    moved = await client.post(f"/accounts/{account_id}/{kind}", json={"amount": amount})
                    moved.raise_for_status()
            done["accounts"] += 1
            progress("accounts", done["accounts"], data.spec.accounts)
            return account_id

        async def create_order(index: int, items: list[dict[str, object]]) -> str:
            orders = data.orders
            async with semaphore:
                customer_id = str(data.customer_ids[int(orders.customer[index])])
                response = await client.post("/orders", json={"customer_id": customer_id, "items": items})
                response.raise_for_status()
                order_id = str(response.json()["id"])
                status, _, cancelled_from = ORDER_FATES[int(orders.fate[index])]
                for action in _transitions(status, cancelled_from):
                    moved = await client.post(f"/orders/{order_id}/{action}")
                    moved.raise_for_status()
            done["orders"] += 1
            progress("orders", done["orders"], data.spec.orders)
            return order_id

        account_ids = await asyncio.gather(*(open_account(i) for i in range(data.spec.accounts)))
        items = [
            [{"sku": sku, "qty": qty, "unit_price": price} for sku, qty, price in lines] for lines in data.order_lines()
        ]
        order_ids = await asyncio.gather(*(create_order(i, items[i]) for i in range(data.spec.orders)))
    return ApiSeeded(list(account_ids), [str(c) for c in data.customer_ids], list(order_ids))


def _transitions(status: str, cancelled_from: str | None) -> list[str]:
    if status == "cancelled":
        return ["pay", "cancel"] if cancelled_from == "paid" else ["cancel"]
    return {"created": [], "paid": ["pay"], "shipped": ["pay", "ship"]}[status]
