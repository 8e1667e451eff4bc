"""The endpoint table ties together the app's routes, the scenarios' request names and the report's groups.

Nothing here may import Locust (scenarios.users): importing it monkey-patches the whole test
process for gevent; the scenarios' users are read as source instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from starlette.routing import Route

from bench.report.groups import ALL, GROUP_OF_KIND, GROUPS, HEAVY_READS, READS, WRITES, group_of, members
from scenarios import probes
from scenarios.probes import PROBES, Probe
from targets.common import endpoints
from targets.common.app import ROUTE_DOCS, ContractRoutes, Handler, build_app, contract_handlers, pair_routes
from targets.common.endpoints import CONTRACT, Endpoint, Kind
from targets.common.openapi import openapi_document
from targets.common.service import Service
from targets.common.settings import TargetSettings

pytestmark = pytest.mark.timeout(30)

USERS_DIR = Path(__file__).resolve().parent.parent / "scenarios" / "users"
NAMES = [endpoint.name for endpoint in CONTRACT]
SERVED_APART = {("GET", "/health"), ("GET", "/openapi.json"), ("GET", "/stats")}


def _module_values(module: object, of_type: type) -> dict[str, object]:
    return {name: value for name, value in vars(module).items() if isinstance(value, of_type)}


def test_every_endpoint_defined_is_in_the_contract_once() -> None:
    defined = _module_values(endpoints, Endpoint)
    assert len(defined) == len(CONTRACT)
    assert set(defined.values()) == set(CONTRACT)
    assert len(set(NAMES)) == len(NAMES)


def test_every_route_is_in_exactly_one_group_and_every_group_names_a_route() -> None:
    for name in NAMES:
        assert [group for group in GROUPS if group != ALL and name in members(group, NAMES)] == [group_of(name)]
    for group in GROUPS:
        assert members(group, NAMES), f"group {group!r} names no route"
    assert members(ALL, NAMES) == sorted(NAMES)
    assert set(GROUP_OF_KIND) == set(Kind)


def test_the_groups_are_as_the_reports_have_always_shown_them() -> None:
    assert members(HEAVY_READS, NAMES) == ["GET /accounts/{id}/statement", "GET /customers/{id}/orders"]
    assert members(READS, NAMES) == ["GET /accounts/{id}", "GET /orders/{id}"]
    assert all(name.startswith("POST ") for name in members(WRITES, NAMES))
    assert len(members(WRITES, NAMES)) == 7


def test_probes_and_unknown_names_are_in_no_group() -> None:
    assert _module_values(probes, Probe) == {
        "DEPOSIT": probes.DEPOSIT,
        "GET_ACCOUNT": probes.GET_ACCOUNT,
        "CREATE_ORDER": probes.CREATE_ORDER,
        "GET_ORDER": probes.GET_ORDER,
    }
    assert set(PROBES) == set(_module_values(probes, Probe).values())
    for probe in PROBES:
        assert probe.endpoint in CONTRACT
        assert probe.name == f"probe: {probe.endpoint.name}"  # how the tests of runs tell probes apart
        assert group_of(probe.name) is None
        assert members(ALL, [probe.name]) == []
    for name in (ALL, "GET /health", "GET /accounts/{id}/statment"):
        assert group_of(name) is None


def test_an_endpoint_whose_method_contradicts_its_kind_is_refused() -> None:
    with pytest.raises(ValueError, match=r"GET /x: a write is a POST"):
        Endpoint("GET", "/x", Kind.WRITE)
    with pytest.raises(ValueError, match=r"POST /x: a heavy read is a GET"):
        Endpoint("POST", "/x", Kind.HEAVY_READ)


def test_paths_are_filled_in_from_the_template() -> None:
    assert endpoints.STATEMENT.path_for("abc") == "/accounts/abc/statement"
    assert endpoints.CREATE_ORDER.path_for() == "/orders"
    with pytest.raises(ValueError, match="expected an id"):
        endpoints.GET_ORDER.path_for()
    with pytest.raises(ValueError, match="expected no id"):
        endpoints.OPEN_ACCOUNT.path_for("abc")


async def _no_service(settings: TargetSettings) -> Service:
    raise AssertionError("the service is not started in these tests")


def test_the_app_serves_every_endpoint_and_documents_each() -> None:
    app = build_app("floor", _no_service, TargetSettings.from_env({}))
    served = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"  # Starlette's own, beside every GET
    }
    assert served == {(endpoint.method, endpoint.path) for endpoint in CONTRACT} | SERVED_APART
    document = openapi_document("floor", list(ROUTE_DOCS))
    documented = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    assert documented == {(endpoint.method, endpoint.path) for endpoint in CONTRACT} | {("GET", "/health")}


def _handlers() -> dict[Endpoint, Handler]:
    return contract_handlers(ContractRoutes(TargetSettings.from_env({})))


def test_a_route_without_a_handler_or_doc_or_outside_the_contract_is_an_error_at_build_time() -> None:
    assert [doc.endpoint for doc, _ in pair_routes(ROUTE_DOCS, _handlers())] == list(CONTRACT)
    handlers = _handlers()
    del handlers[endpoints.SHIP_ORDER]
    with pytest.raises(ValueError, match=r"POST /orders/\{id\}/ship has no handler"):
        pair_routes(ROUTE_DOCS, handlers)
    stray = Endpoint("GET", "/accounts/{id}/stray", Kind.READ)
    with pytest.raises(ValueError, match=r"GET /accounts/\{id\}/stray has a handler but is not in the contract"):
        pair_routes(ROUTE_DOCS, {**_handlers(), stray: _handlers()[endpoints.GET_ACCOUNT]})
    without_statement = tuple(doc for doc in ROUTE_DOCS if doc.endpoint != endpoints.STATEMENT)
    with pytest.raises(ValueError, match=r"GET /accounts/\{id\}/statement has 0 docs"):
        pair_routes(without_statement, _handlers())
    with pytest.raises(ValueError, match=r"POST /orders has 2 docs"):
        pair_routes((*ROUTE_DOCS, ROUTE_DOCS[5]), _handlers())


def _users_sources() -> dict[str, ast.Module]:
    return {path.name: ast.parse(path.read_text(), str(path)) for path in sorted(USERS_DIR.glob("*.py"))}


def _referenced(tree: ast.Module, module: str) -> set[str]:
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == module
    }


def test_every_request_name_the_scenarios_can_send_is_a_routes_or_a_probes() -> None:
    """The users send only through BenchUser.send, which names a request after the Endpoint or Probe it is
    given; so every name they can send is that of an endpoint or probe they refer to, and those are in the
    tables."""
    sources = _users_sources()
    assert {"base.py", "banking.py", "orders.py"} <= set(sources)
    contract_attributes = {name for name, value in _module_values(endpoints, Endpoint).items() if value in CONTRACT}
    probe_attributes = {name for name, value in _module_values(probes, Probe).items() if value in PROBES}
    used_endpoints: set[str] = set()
    for file_name, tree in sources.items():
        referenced_endpoints, referenced_probes = _referenced(tree, "endpoints"), _referenced(tree, "probes")
        assert referenced_endpoints <= contract_attributes, file_name
        assert referenced_probes <= probe_attributes, file_name
        used_endpoints |= referenced_endpoints
        for function in (node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)):
            requests = [
                node
                for node in ast.walk(function)
                if isinstance(node, ast.Attribute) and node.attr == "client" and function.name != "send"
            ]
            assert not requests, f"{file_name}: {function.name} sends around BenchUser.send, naming it its own way"
            named = [
                keyword.arg
                for node in ast.walk(function)
                if isinstance(node, ast.Call)
                for keyword in node.keywords
                if keyword.arg == "name" and function.name != "send"
            ]
            assert not named, f"{file_name}: {function.name} passes a request name of its own"
    assert used_endpoints == contract_attributes - {"OPEN_ACCOUNT"}  # the scenarios open no accounts
