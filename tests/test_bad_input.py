"""Hostile input: always a 4xx with a JSON body naming the problem, never a 500, and nothing written."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api import Api

pytestmark = pytest.mark.timeout(120)

ITEM = {"sku": "s", "qty": 1, "unit_price": 1}


@pytest.fixture
def account(api: Api) -> Any:
    return api.open_account("victim", 1_000)


def _assert_error(response: Any, status: int, *, names: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["detail"]
    if names is not None:
        assert names in body["detail"], body["detail"]


def _assert_untouched(api: Api, account: Any) -> None:
    statement = api.statement(account["id"], min_version=account["version"])
    assert statement["version"] == account["version"]
    assert statement["balance"] == account["balance"]


@pytest.mark.parametrize(
    ("raw", "status", "names"),
    [
        (b"{", 400, None),
        (b"not json", 400, None),
        (b"", 400, None),
        (b'{"amount": "10"}', 422, "amount"),
        (b'{"amount": 1.5}', 422, "amount"),
        (b'{"amount": 1e300}', 422, "amount"),  # integral, but past the maximum
        (b'{"amount": 1e-300}', 422, "amount"),
        (b'{"amount": true}', 422, "amount"),
        (b'{"amount": null}', 422, "amount"),
        (b"{}", 422, "amount"),
        (b"[]", 422, None),
        (b'{"amount": 0}', 422, "amount"),
        (b'{"amount": -1}', 422, "amount"),
        (b'{"amount": 9223372036854775808}', 422, "amount"),
        (b'{"amount": 123456789012345678901234567890}', 422, "amount"),
        (b'{"amount": 10, "extra": 1}', 422, "extra"),
    ],
)
@pytest.mark.parametrize("action", ["deposits", "withdrawals"])
def test_bad_money_movement_bodies(
    api: Api, account: Any, action: str, raw: bytes, status: int, names: str | None
) -> None:
    response = api.client.post(f"/accounts/{account['id']}/{action}", content=raw)
    _assert_error(response, status, names=names)
    _assert_untouched(api, account)


@pytest.mark.parametrize("amount", [b"25.0", b"2.5e1", b"2500e-2"])
def test_an_integral_number_written_with_a_fraction_is_the_integer_the_schema_says_it_is(
    api: Api, account: Any, amount: bytes
) -> None:
    """JSON Schema's "integer" admits 25.0 (schemathesis sends such numbers), so the targets take it as 25."""
    response = api.client.post(f"/accounts/{account['id']}/deposits", content=b'{"amount": ' + amount + b"}")
    assert response.status_code == 200, response.text
    written = response.json()
    assert api.statement(account["id"], min_version=written["version"])["balance"] == account["balance"] + 25
    line = b'{"sku": "s", "qty": 2.0, "unit_price": 1e2}'
    order = api.client.post("/orders", content=b'{"customer_id": "%s", "items": [%s]}' % (uuid4_bytes(), line))
    assert order.status_code == 201, order.text
    assert order.json()["total"] == 200


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({}, "owner"),
        ({"owner": ""}, "owner"),
        ({"owner": 5}, "owner"),
        ({"owner": "x" * 201}, "owner"),
        ({"owner": "x", "initial_deposit": -1}, "initial_deposit"),
        ({"owner": "x", "initial_deposit": 2**64}, "initial_deposit"),
        ({"owner": "\u0000a"}, "owner"),  # PostgreSQL's text cannot hold a NUL: refused before it gets there
    ],
)
def test_bad_open_account_bodies(api: Api, body: dict[str, Any], names: str) -> None:
    _assert_error(api.client.post("/accounts", content=_ascii_json(body)), 422, names=names)


def uuid4_bytes() -> bytes:
    return str(uuid.uuid4()).encode()


def _ascii_json(body: Any) -> bytes:
    """JSON with every character beyond ASCII escaped, so that a lone surrogate can be sent at all."""
    return json.dumps(body, ensure_ascii=True).encode()


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"items": [ITEM]}, "customer_id"),
        ({"customer_id": "not-a-uuid", "items": [ITEM]}, "customer_id"),
        ({"customer_id": "{c}", "items": []}, "items"),
        ({"customer_id": "{c}", "items": [ITEM] * 51}, "items"),
        ({"customer_id": "{c}", "items": [{"sku": "s", "qty": 0, "unit_price": 1}]}, "qty"),
        ({"customer_id": "{c}", "items": [{"sku": "s", "qty": 1, "unit_price": -1}]}, "unit_price"),
        ({"customer_id": "{c}", "items": [{"sku": "", "qty": 1, "unit_price": 1}]}, "sku"),
        ({"customer_id": "{c}", "items": [{"qty": 1, "unit_price": 1}]}, "sku"),
        ({"customer_id": "{c}", "items": [{"sku": "a\u0000", "qty": 1, "unit_price": 1}]}, "sku"),
        ({"customer_id": "{c}", "items": "lots"}, "items"),
    ],
)
def test_bad_order_bodies_write_nothing(api: Api, body: dict[str, Any], names: str) -> None:
    customer = str(uuid.uuid4())
    payload = json.loads(json.dumps(body).replace("{c}", customer))
    _assert_error(api.client.post("/orders", content=_ascii_json(payload)), 422, names=names)
    assert api.dashboard(customer, expect_orders=0)["recent"] == []


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/accounts", rb'{"owner": "a\ud800"}'),
        ("/orders", rb'{"customer_id": "%s", "items": [{"sku": "\udfff", "qty": 1, "unit_price": 1}]}' % uuid4_bytes()),
    ],
)
def test_lone_surrogates_are_malformed_json(api: Api, path: str, raw: bytes) -> None:
    """A lone surrogate has no UTF-8 form, so no database could store it: the JSON is refused as malformed."""
    _assert_error(api.client.post(path, content=raw), 400)


@pytest.mark.parametrize(
    "path",
    ["/accounts/not-a-uuid", "/accounts/123/statement", "/orders/zzz", "/customers/nope/orders"],
)
def test_non_uuid_ids_in_reads_are_422(api: Api, path: str) -> None:
    _assert_error(api.client.get(path), 422, names="id")


@pytest.mark.parametrize("path", ["/accounts/x/deposits", "/accounts/x/withdrawals", "/orders/x/pay"])
def test_non_uuid_ids_in_writes_are_422(api: Api, path: str) -> None:
    _assert_error(api.client.post(path, json={"amount": 1}), 422, names="id")


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"min_version": -1}, "min_version"),
        ({"min_version": 2**62 + 1}, "min_version"),  # the schema's maximum
        ({"limit": ""}, "limit"),  # the schema says integer: an empty value is not one
    ],
)
def test_bad_query_parameters_are_422(api: Api, account: Any, query: dict[str, Any], names: str) -> None:
    _assert_error(api.client.get(f"/accounts/{account['id']}/statement", params=query), 422, names=names)


def test_oversized_body_is_413_and_writes_nothing(api: Api, account: Any) -> None:
    huge = json.dumps({"amount": 1, "padding": "x" * 200_000}).encode()
    _assert_error(api.client.post(f"/accounts/{account['id']}/deposits", content=huge), 413)
    _assert_untouched(api, account)


def test_oversized_body_sent_whole_before_reading_still_gets_its_413(api: Api, account: Any) -> None:
    """Python's urllib writes the whole body before it reads the answer: it must see the 413 every time, not
    a connection reset (the server reads and drops a bounded amount of what it refuses before it closes)."""
    body = json.dumps({"amount": 1, "padding": "x" * 3_000_000}).encode()
    url = f"{api.base_url}/accounts/{account['id']}/deposits"
    statuses: list[object] = []
    for _ in range(20):
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError as error:
            statuses.append((error.code, json.loads(error.read())["error"]))
        except urllib.error.URLError as error:
            statuses.append(repr(error.reason))
    assert statuses == [(413, "payload_too_large")] * 20
    _assert_untouched(api, account)


def test_oversized_chunked_body_is_413(api: Api, account: Any) -> None:
    def chunks() -> Any:
        yield b'{"amount": 1, "padding": "'
        for _ in range(100):
            yield b"x" * 4096
        yield b'"}'

    response = api.client.post(f"/accounts/{account['id']}/deposits", content=chunks())
    _assert_error(response, 413)
    _assert_untouched(api, account)


@pytest.mark.parametrize("key", ["", "k" * 201, "tab\tkey"])
def test_bad_idempotency_keys_are_422(api: Api, account: Any, key: str) -> None:
    response = api.client.post(
        f"/accounts/{account['id']}/deposits", json={"amount": 1}, headers={"Idempotency-Key": key}
    )
    _assert_error(response, 422, names="Idempotency-Key")
    _assert_untouched(api, account)


def test_unknown_route_and_method_are_json_errors(api: Api) -> None:
    _assert_error(api.client.get("/no/such/route"), 404)
    refused = api.client.delete("/accounts")
    _assert_error(refused, 405)
    assert refused.headers["allow"] == "POST"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
amount_like = st.integers(min_value=-(2**70), max_value=2**70) | json_values
money_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({"amount": amount_like}),
    st.fixed_dictionaries({"amount": amount_like}, optional={"note": json_values}),
)
item_like = st.fixed_dictionaries(
    {"sku": st.text(max_size=70) | json_values, "qty": amount_like, "unit_price": amount_like}
)
order_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "customer_id": st.uuids().map(str) | json_values,
            "items": st.lists(item_like, max_size=55) | json_values,
        }
    ),
)
raw_bytes = st.binary(max_size=200)

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _fuzz_outcome(response: Any) -> None:
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    if response.status_code >= 400:
        assert set(response.json()) == {"error", "detail"}


@FUZZ
@given(body=money_bodies | raw_bytes, action=st.sampled_from(["deposits", "withdrawals"]))
def test_fuzzed_money_movements(api: Api, fuzz_account: Any, body: Any, action: str) -> None:
    before = api.statement(fuzz_account["id"], min_version=1)
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = api.client.post(f"/accounts/{fuzz_account['id']}/{action}", **kwargs)
    _fuzz_outcome(response)
    written = response.json()["version"] if response.status_code == 200 else before["version"]
    after = api.statement(fuzz_account["id"], min_version=written)
    if response.status_code == 200:
        assert after["version"] >= before["version"] + 1
    else:
        assert (after["version"], after["balance"]) == (before["version"], before["balance"])


@FUZZ
@given(body=order_bodies | raw_bytes)
def test_fuzzed_orders(api: Api, body: Any) -> None:
    customer = None
    if isinstance(body, dict) and _is_uuid(body.get("customer_id")):
        # A customer no earlier example used, so "nothing written" is checkable.
        customer = str(uuid.uuid4())
        body = {**body, "customer_id": customer}
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = api.client.post("/orders", **kwargs)
    _fuzz_outcome(response)
    if response.status_code == 201:
        created = response.json()
        assert api.order(created["id"], min_version=1)["total"] == created["total"]
    elif customer is not None:
        assert api.dashboard(customer, expect_orders=0)["recent"] == []


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


@FUZZ
@given(body=json_values)
def test_fuzzed_account_opening(api: Api, body: Any) -> None:
    response = api.client.post("/accounts", json=body)
    _fuzz_outcome(response)
    if response.status_code == 201:
        assert api.account(response.json()["id"], min_version=1) == response.json()


@pytest.fixture(scope="module")
def fuzz_account(api: Api) -> Any:
    return api.open_account("fuzz", 10**11)
