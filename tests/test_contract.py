"""The API contract, over real HTTP, against every stateful target.

Reads that must see the test's own writes pass ?min_version=, so an eventually
consistent target (CQRS) passes the same suite as the strongly consistent one.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.api import Api

pytestmark = pytest.mark.timeout(60)


def test_health_names_the_target(api: Api) -> None:
    response = api.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "target": api.target}


def test_open_account_then_read_it(api: Api) -> None:
    opened = api.open_account("alice", 1_500)
    assert opened["owner"] == "alice"
    assert opened["balance"] == 1_500
    assert opened["version"] == 1
    uuid.UUID(opened["id"])
    assert api.account(opened["id"], min_version=1) == opened


def test_account_without_initial_deposit_starts_at_zero(api: Api) -> None:
    response = api.client.post("/accounts", json={"owner": "bob"})
    assert response.status_code == 201
    assert response.json()["balance"] == 0
    statement = api.statement(response.json()["id"], min_version=1)
    assert statement["transactions"] == []
    assert statement["totals"] == {"deposited": 0, "withdrawn": 0, "count": 0}


def test_deposits_and_withdrawals_move_the_balance_and_version(api: Api) -> None:
    account = api.open_account("carol", 100)
    deposited = api.post_ok(f"/accounts/{account['id']}/deposits", {"amount": 50})
    assert deposited == {"id": account["id"], "balance": 150, "version": 2}
    withdrawn = api.post_ok(f"/accounts/{account['id']}/withdrawals", {"amount": 120})
    assert withdrawn == {"id": account["id"], "balance": 30, "version": 3}
    assert api.account(account["id"], min_version=3)["balance"] == 30


def test_statement_lists_newest_first_with_totals_over_all_entries(api: Api) -> None:
    account = api.open_account("dave", 1_000)
    for amount in (10, 20, 30):
        api.post_ok(f"/accounts/{account['id']}/deposits", {"amount": amount})
    api.post_ok(f"/accounts/{account['id']}/withdrawals", {"amount": 500})
    statement = api.statement(account["id"], min_version=5, limit=2)
    assert statement["balance"] == 560
    assert statement["version"] == 5
    assert [(t["version"], t["kind"], t["amount"], t["balance_after"]) for t in statement["transactions"]] == [
        (5, "withdrawal", 500, 560),
        (4, "deposit", 30, 1_060),
    ]
    assert statement["totals"] == {"deposited": 1_060, "withdrawn": 500, "count": 5}


def test_overdraft_is_refused_and_changes_nothing(api: Api) -> None:
    account = api.open_account("erin", 100)
    response = api.client.post(f"/accounts/{account['id']}/withdrawals", json={"amount": 101})
    assert response.status_code == 409
    assert response.json()["error"] == "insufficient_funds"
    assert api.account(account["id"], min_version=1) == account


@pytest.mark.parametrize("action", ["deposits", "withdrawals"])
def test_money_movement_on_unknown_account_is_404(api: Api, action: str) -> None:
    response = api.client.post(f"/accounts/{uuid.uuid4()}/{action}", json={"amount": 1})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("path", ["/accounts/{id}", "/accounts/{id}/statement", "/orders/{id}"])
def test_reading_unknown_ids_is_404(api: Api, path: str) -> None:
    response = api.client.get(path.format(id=uuid.uuid4()))
    assert response.status_code == 404
    assert set(response.json()) == {"error", "detail"}


def test_order_lifecycle_and_dashboard(api: Api) -> None:
    customer = str(uuid.uuid4())
    items = [{"sku": "A-1", "qty": 2, "unit_price": 1_250}, {"sku": "B-2", "qty": 1, "unit_price": 99}]
    created = api.post_ok("/orders", {"customer_id": customer, "items": items}, status=201)
    assert created["status"] == "created"
    assert created["total"] == 2_599
    assert created["version"] == 1
    order = api.order(created["id"], min_version=1)
    assert order["items"] == items
    assert order["customer_id"] == customer

    assert api.post_ok(f"/orders/{created['id']}/pay", None)["status"] == "paid"
    shipped = api.post_ok(f"/orders/{created['id']}/ship", None)
    assert shipped == {"id": created["id"], "status": "shipped", "version": 3}

    second = api.post_ok("/orders", {"customer_id": customer, "items": items[:1]}, status=201)
    api.post_ok(f"/orders/{second['id']}/cancel", None)
    third = api.post_ok("/orders", {"customer_id": customer, "items": items[1:]}, status=201)
    api.order(created["id"], min_version=3)
    api.order(second["id"], min_version=2)
    api.order(third["id"], min_version=1)

    dashboard = api.dashboard(customer, expect_orders=3)
    assert [o["id"] for o in dashboard["recent"]] == [third["id"], second["id"], created["id"]]
    assert dashboard["counts_by_status"] == {"created": 1, "paid": 0, "shipped": 1, "cancelled": 1}
    assert dashboard["lifetime_total"] == 2_599
    assert len(api.dashboard(customer, expect_orders=3, limit=1)["recent"]) == 1


@pytest.mark.parametrize(
    ("steps", "refused"),
    [
        (["ship"], "ship"),
        (["pay", "pay"], "pay"),
        (["pay", "ship", "cancel"], "cancel"),
        (["cancel", "pay"], "pay"),
        (["cancel", "cancel"], "cancel"),
    ],
)
def test_invalid_order_transitions_are_409(api: Api, steps: list[str], refused: str) -> None:
    created = api.post_ok(
        "/orders", {"customer_id": str(uuid.uuid4()), "items": [{"sku": "x", "qty": 1, "unit_price": 5}]}, status=201
    )
    *allowed, last = steps
    for step in allowed:
        api.post_ok(f"/orders/{created['id']}/{step}", None)
    before = api.order(created["id"], min_version=1 + len(allowed))
    response = api.client.post(f"/orders/{created['id']}/{last}")
    assert response.status_code == 409
    assert response.json()["error"] == "invalid_transition"
    assert refused in response.json()["detail"]
    assert api.order(created["id"], min_version=before["version"]) == before


def test_transition_of_unknown_order_is_404(api: Api) -> None:
    assert api.client.post(f"/orders/{uuid.uuid4()}/pay").status_code == 404


def test_dashboard_of_customer_without_orders_is_empty(api: Api) -> None:
    response = api.client.get(f"/customers/{uuid.uuid4()}/orders")
    assert response.status_code == 200
    body = response.json()
    assert body["recent"] == []
    assert body["lifetime_total"] == 0
    assert body["counts_by_status"] == {"created": 0, "paid": 0, "shipped": 0, "cancelled": 0}


def test_min_version_beyond_any_write_is_answered_stale(api: Api) -> None:
    account = api.open_account("fay", 1)
    fresh = api.client.get(f"/accounts/{account['id']}", params={"min_version": 1})
    assert fresh.status_code == 200
    assert "x-stale" not in fresh.headers
    stale = api.client.get(f"/accounts/{account['id']}", params={"min_version": 99})
    assert stale.status_code == 200
    assert stale.headers["x-stale"] == "true"
    assert stale.json()["version"] == 1


def test_idempotent_retry_returns_the_stored_response_and_writes_once(api: Api) -> None:
    account = api.open_account("gus", 100)
    path = f"/accounts/{account['id']}/withdrawals"
    headers = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = api.client.post(path, json={"amount": 40}, headers=headers)
    again = api.client.post(path, json={"amount": 40}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() == {"id": account["id"], "balance": 60, "version": 2}
    assert again.headers["idempotent-replayed"] == "true"
    assert api.statement(account["id"], min_version=2)["totals"]["count"] == 2


def test_idempotency_key_reused_with_another_body_is_422(api: Api) -> None:
    account = api.open_account("hal", 100)
    headers = {"Idempotency-Key": f"reuse-{uuid.uuid4()}"}
    api.post_ok(f"/accounts/{account['id']}/deposits", {"amount": 5}, headers=headers)
    for path, body in [
        (f"/accounts/{account['id']}/deposits", {"amount": 6}),
        (f"/accounts/{account['id']}/withdrawals", {"amount": 5}),
    ]:
        response = api.client.post(path, json=body, headers=headers)
        assert response.status_code == 422
        assert response.json()["error"] == "idempotency_key_reused"
    assert api.account(account["id"], min_version=2)["balance"] == 105


def test_idempotent_order_creation(api: Api) -> None:
    customer = str(uuid.uuid4())
    body = {"customer_id": customer, "items": [{"sku": "k", "qty": 3, "unit_price": 7}]}
    headers = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    first = api.post_ok("/orders", body, status=201, headers=headers)
    assert api.post_ok("/orders", body, status=201, headers=headers) == first
    assert api.dashboard(customer, expect_orders=1)["counts_by_status"]["created"] == 1


def _concurrently(
    base_url: str, requests: list[tuple[str, dict[str, Any] | None, dict[str, str]]]
) -> list[httpx.Response]:
    async def send_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(requests))
        async with httpx.AsyncClient(base_url=base_url, timeout=30.0, limits=limits) as client:
            return await asyncio.gather(
                *(client.post(path, json=body, headers=headers) for path, body, headers in requests)
            )

    return asyncio.run(send_all())


def test_concurrent_withdrawals_never_overdraw(api: Api) -> None:
    account = api.open_account("ivy", 10 * 7)
    path = f"/accounts/{account['id']}/withdrawals"
    responses = _concurrently(api.base_url, [(path, {"amount": 7}, {})] * 50)
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 10
    assert statuses.count(409) == 40
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"insufficient_funds"}
    assert sorted(r.json()["version"] for r in responses if r.status_code == 200) == list(range(2, 12))

    statement = api.statement(account["id"], min_version=11, limit=100)
    assert statement["balance"] == 0
    assert statement["totals"] == {"deposited": 70, "withdrawn": 70, "count": 11}
    ledger = statement["transactions"]
    assert sum(t["amount"] for t in ledger if t["kind"] == "deposit") == statement["totals"]["deposited"]
    assert sum(t["amount"] for t in ledger if t["kind"] == "withdrawal") == statement["totals"]["withdrawn"]
    assert [t["balance_after"] for t in ledger] == [7 * n for n in range(0, 11)]


def test_same_idempotency_key_sent_concurrently_has_one_effect(api: Api) -> None:
    account = api.open_account("jon", 0)
    path = f"/accounts/{account['id']}/deposits"
    headers = {"Idempotency-Key": f"burst-{uuid.uuid4()}"}
    responses = _concurrently(api.base_url, [(path, {"amount": 25}, headers)] * 20)
    assert {r.status_code for r in responses} == {200}
    assert {r.content for r in responses} == {responses[0].content}
    assert responses[0].json()["balance"] == 25
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    assert api.statement(account["id"], min_version=2)["totals"] == {"deposited": 25, "withdrawn": 0, "count": 1}


def test_openapi_documents_every_contract_route(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) >= {
        "/accounts",
        "/accounts/{id}",
        "/accounts/{id}/deposits",
        "/accounts/{id}/withdrawals",
        "/accounts/{id}/statement",
        "/orders",
        "/orders/{id}",
        "/orders/{id}/pay",
        "/orders/{id}/ship",
        "/orders/{id}/cancel",
        "/customers/{id}/orders",
        "/health",
    }
    schemas = document["components"]["schemas"]
    refs = _refs(document["paths"]) | _refs(schemas)
    assert refs
    assert {ref.removeprefix("#/components/schemas/") for ref in refs} <= set(schemas)


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    return set()
