"""The shared HTTP layer: every contract route, error mapping and /openapi.json.

A target supplies only a factory for its Service; the lifespan owns it.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from targets.common import contract, endpoints
from targets.common.endpoints import Endpoint
from targets.common.errors import ApiError, Unavailable
from targets.common.openapi import RouteDoc, openapi_document
from targets.common.requests import (
    decode_body,
    idempotency,
    limit_param,
    min_version_param,
    path_uuid,
    read_body,
)
from targets.common.service import Read, Service, Written
from targets.common.settings import TargetSettings
from targets.common.unavailable import UNREACHABLE

log = logging.getLogger("targets")

ServiceFactory = Callable[[TargetSettings], Awaitable[Service]]
Handler = Callable[[Request], Awaitable[Response]]

_encoder = msgspec.json.Encoder()


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_encoder.encode(value), status_code=status, headers=headers, media_type="application/json")


def error_response(status: int, code: str, detail: str) -> Response:
    return json_response(contract.Error(error=code, detail=detail), status)


def _written(result: Written[Any], status: int) -> Response:
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return json_response(result.value, status, headers)


def _read(result: Read[Any]) -> Response:
    headers = {"X-Stale": "true"} if result.stale else None
    return json_response(result.value, 200, headers)


class ContractRoutes:
    """Request handlers of the contract; the service is attached by the app's lifespan."""

    def __init__(self, settings: TargetSettings) -> None:
        self._service: Service | None = None
        self.max_body = settings.max_body_bytes

    @property
    def service(self) -> Service:
        assert self._service is not None, "service used outside the app's lifespan"
        return self._service

    def attach(self, service: Service | None) -> None:
        self._service = service

    async def _body(self, request: Request, struct_type: type[contract.Request]) -> Any:
        return decode_body(await read_body(request, self.max_body), struct_type)

    async def open_account(self, request: Request) -> Response:
        command = await self._body(request, contract.OpenAccount)
        idem = idempotency(request, msgspec.json.encode(command))
        return _written(await self.service.open_account(command, idem), 201)

    async def deposit(self, request: Request) -> Response:
        account_id = path_uuid(request, "id")
        command = await self._body(request, contract.MoneyMovement)
        idem = idempotency(request, msgspec.json.encode(command))
        return _written(await self.service.deposit(account_id, command, idem), 200)

    async def withdraw(self, request: Request) -> Response:
        account_id = path_uuid(request, "id")
        command = await self._body(request, contract.MoneyMovement)
        idem = idempotency(request, msgspec.json.encode(command))
        return _written(await self.service.withdraw(account_id, command, idem), 200)

    async def get_account(self, request: Request) -> Response:
        account_id = path_uuid(request, "id")
        return _read(await self.service.get_account(account_id, min_version_param(request)))

    async def statement(self, request: Request) -> Response:
        account_id = path_uuid(request, "id")
        limit = limit_param(request)
        return _read(await self.service.statement(account_id, limit, min_version_param(request)))

    async def create_order(self, request: Request) -> Response:
        command = await self._body(request, contract.CreateOrder)
        idem = idempotency(request, msgspec.json.encode(command))
        return _written(await self.service.create_order(command, idem), 201)

    def transition(self, action: contract.OrderAction) -> Handler:
        async def handle(request: Request) -> Response:
            order_id = path_uuid(request, "id")
            await read_body(request, self.max_body)  # drained and size-checked; the action takes no body
            idem = idempotency(request, b"")
            return _written(await self.service.transition_order(order_id, action, idem), 200)

        return handle

    async def get_order(self, request: Request) -> Response:
        order_id = path_uuid(request, "id")
        return _read(await self.service.get_order(order_id, min_version_param(request)))

    async def customer_orders(self, request: Request) -> Response:
        customer_id = path_uuid(request, "id")
        return json_response(await self.service.customer_orders(customer_id, limit_param(request)))

    async def stats(self, request: Request) -> Response:
        return json_response(await self.service.stats())


_TRANSITIONS: tuple[tuple[contract.OrderAction, Endpoint], ...] = (
    ("pay", endpoints.PAY_ORDER),
    ("ship", endpoints.SHIP_ORDER),
    ("cancel", endpoints.CANCEL_ORDER),
)

ROUTE_DOCS: tuple[RouteDoc, ...] = (
    RouteDoc(
        endpoints.OPEN_ACCOUNT,
        "Open an account",
        contract.OpenAccount,
        contract.Account,
        201,
        (422,),
        idempotent=True,
    ),
    RouteDoc(
        endpoints.DEPOSIT,
        "Deposit into an account",
        contract.MoneyMovement,
        contract.BalanceChanged,
        200,
        (404, 422),
        idempotent=True,
    ),
    RouteDoc(
        endpoints.WITHDRAW,
        "Withdraw from an account",
        contract.MoneyMovement,
        contract.BalanceChanged,
        200,
        (404, 409, 422),
        idempotent=True,
    ),
    RouteDoc(
        endpoints.GET_ACCOUNT,
        "Read an account",
        None,
        contract.Account,
        200,
        (404, 422),
        query=("min_version",),
    ),
    RouteDoc(
        endpoints.STATEMENT,
        "Last transactions and totals of an account",
        None,
        contract.Statement,
        200,
        (404, 422),
        query=("limit", "min_version"),
    ),
    RouteDoc(
        endpoints.CREATE_ORDER,
        "Create an order",
        contract.CreateOrder,
        contract.OrderCreated,
        201,
        (422,),
        idempotent=True,
    ),
    *(
        RouteDoc(
            endpoint,
            f"Order transition: {action}",
            None,
            contract.OrderTransitioned,
            200,
            (404, 409, 422),
            idempotent=True,
        )
        for action, endpoint in _TRANSITIONS
    ),
    RouteDoc(
        endpoints.GET_ORDER,
        "Read an order with its items",
        None,
        contract.Order,
        200,
        (404, 422),
        query=("min_version",),
    ),
    RouteDoc(
        endpoints.CUSTOMER_ORDERS,
        "Customer dashboard",
        None,
        contract.CustomerOrders,
        200,
        (422,),
        query=("limit",),
    ),
)


def contract_handlers(r: ContractRoutes) -> dict[Endpoint, Handler]:
    return {
        endpoints.OPEN_ACCOUNT: r.open_account,
        endpoints.DEPOSIT: r.deposit,
        endpoints.WITHDRAW: r.withdraw,
        endpoints.GET_ACCOUNT: r.get_account,
        endpoints.STATEMENT: r.statement,
        endpoints.CREATE_ORDER: r.create_order,
        **{endpoint: r.transition(action) for action, endpoint in _TRANSITIONS},
        endpoints.GET_ORDER: r.get_order,
        endpoints.CUSTOMER_ORDERS: r.customer_orders,
    }


def pair_routes(docs: Sequence[RouteDoc], handlers: Mapping[Endpoint, Handler]) -> list[tuple[RouteDoc, Handler]]:
    """Each endpoint of the contract with its doc and handler, in the contract's order.

    Raises ValueError naming the endpoints that lack a doc or a handler, have two docs, or are not
    in the contract.
    """
    documented = Counter(doc.endpoint for doc in docs)
    problems = [
        *(f"{e.name} has {documented[e]} docs" for e in endpoints.CONTRACT if documented[e] != 1),
        *(f"{e.name} has no handler" for e in endpoints.CONTRACT if e not in handlers),
        *(f"{e.name} is documented but not in the contract" for e in documented if e not in endpoints.CONTRACT),
        *(f"{e.name} has a handler but is not in the contract" for e in handlers if e not in endpoints.CONTRACT),
    ]
    if problems:
        raise ValueError(f"the route table does not match targets/common/endpoints.py: {'; '.join(problems)}")
    doc_of = {doc.endpoint: doc for doc in docs}
    return [(doc_of[endpoint], handlers[endpoint]) for endpoint in endpoints.CONTRACT]


def contract_routes(r: ContractRoutes) -> list[tuple[RouteDoc, Handler]]:
    """The contract's routes: how each is documented and which handler serves it."""
    return pair_routes(ROUTE_DOCS, contract_handlers(r))


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    response = error_response(exc.status, exc.code, exc.detail)
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    detail = f"no route {request.method} {request.url.path}" if exc.status_code in (404, 405) else exc.detail
    response = error_response(exc.status_code, code, detail)
    response.headers.update(exc.headers or {})  # a 405's Allow: the methods the path has
    return response


async def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    detail = f"a server this service depends on cannot be reached ({type(exc).__name__}); retry later"
    return await _api_error(request, Unavailable(detail))


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "the server failed; this is a bug in the target")


def build_app(
    target: str,
    service_factory: ServiceFactory,
    settings: TargetSettings,
    *,
    serves: Callable[[Endpoint], bool] | None = None,
) -> Starlette:
    """A Starlette app serving the contract (only the endpoints `serves` admits, if given), /health, /stats
    and /openapi.json, which documents what it serves."""
    handlers = ContractRoutes(settings)
    contract_table = [
        (doc, handler) for doc, handler in contract_routes(handlers) if serves is None or serves(doc.endpoint)
    ]
    openapi = msgspec.json.encode(openapi_document(target, [doc for doc, _ in contract_table]))

    async def health(request: Request) -> Response:
        return json_response(contract.Health(status="ok", target=target))

    async def openapi_json(request: Request) -> Response:
        return Response(openapi, media_type="application/json")

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
    ]
    for doc, handler in contract_table:
        routes.append(Route(doc.endpoint.path, handler, methods=[doc.endpoint.method]))
    routes.append(Route("/stats", handlers.stats, methods=["GET"]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service = await service_factory(settings)
        handlers.attach(service)
        try:
            yield
        finally:
            handlers.attach(None)
            await service.close()

    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            **dict.fromkeys(UNREACHABLE, _unavailable),
            Exception: _internal_error,
        },
    )
