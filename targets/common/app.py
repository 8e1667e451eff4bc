"""The shared HTTP layer: every contract route, error mapping and /openapi.json.

A target supplies only a factory for its Service; the lifespan owns it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from targets.common import contract
from targets.common.errors import ApiError
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


def contract_routes(r: ContractRoutes) -> list[tuple[RouteDoc, Handler]]:
    """The contract's routes: how each is documented and which handler serves it."""
    return [
        (
            RouteDoc(
                "POST",
                "/accounts",
                "Open an account",
                contract.OpenAccount,
                contract.Account,
                201,
                (422,),
                idempotent=True,
            ),
            r.open_account,
        ),
        (
            RouteDoc(
                "POST",
                "/accounts/{id}/deposits",
                "Deposit into an account",
                contract.MoneyMovement,
                contract.BalanceChanged,
                200,
                (404, 422),
                idempotent=True,
            ),
            r.deposit,
        ),
        (
            RouteDoc(
                "POST",
                "/accounts/{id}/withdrawals",
                "Withdraw from an account",
                contract.MoneyMovement,
                contract.BalanceChanged,
                200,
                (404, 409, 422),
                idempotent=True,
            ),
            r.withdraw,
        ),
        (
            RouteDoc(
                "GET",
                "/accounts/{id}",
                "Read an account",
                None,
                contract.Account,
                200,
                (404, 422),
                query=("min_version",),
            ),
            r.get_account,
        ),
        (
            RouteDoc(
                "GET",
                "/accounts/{id}/statement",
                "Last transactions and totals of an account",
                None,
                contract.Statement,
                200,
                (404, 422),
                query=("limit", "min_version"),
            ),
            r.statement,
        ),
        (
            RouteDoc(
                "POST",
                "/orders",
                "Create an order",
                contract.CreateOrder,
                contract.OrderCreated,
                201,
                (422,),
                idempotent=True,
            ),
            r.create_order,
        ),
        *[
            (
                RouteDoc(
                    "POST",
                    f"/orders/{{id}}/{action}",
                    f"Order transition: {action}",
                    None,
                    contract.OrderTransitioned,
                    200,
                    (404, 409, 422),
                    idempotent=True,
                ),
                r.transition(action),
            )
            for action in ("pay", "ship", "cancel")
        ],
        (
            RouteDoc(
                "GET",
                "/orders/{id}",
                "Read an order with its items",
                None,
                contract.Order,
                200,
                (404, 422),
                query=("min_version",),
            ),
            r.get_order,
        ),
        (
            RouteDoc(
                "GET",
                "/customers/{id}/orders",
                "Customer dashboard",
                None,
                contract.CustomerOrders,
                200,
                (422,),
                query=("limit",),
            ),
            r.customer_orders,
        ),
    ]


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.detail)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    detail = f"no route {request.method} {request.url.path}" if exc.status_code in (404, 405) else exc.detail
    return error_response(exc.status_code, code, detail)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "the server failed; this is a bug in the target")


def build_app(target: str, service_factory: ServiceFactory, settings: TargetSettings) -> Starlette:
    """A Starlette app serving the contract, /health, /stats and /openapi.json."""
    handlers = ContractRoutes(settings)
    contract_table = contract_routes(handlers)
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
        routes.append(Route(doc.path, handler, methods=[doc.method]))
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
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _internal_error},
    )
