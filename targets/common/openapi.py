"""OpenAPI 3.1 generated from the same msgspec structs that validate requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from targets.common import contract
from targets.common.endpoints import PATH_ID, Endpoint
from targets.common.requests import IDEMPOTENCY_KEY_PATTERN, MAX_IDEMPOTENCY_KEY_LENGTH

_REF = "#/components/schemas/{name}"
_QUERY_PARAMETERS: dict[str, dict[str, Any]] = {
    "limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": contract.MAX_LIMIT, "default": contract.DEFAULT_LIMIT},
    },
    "min_version": {
        "name": "min_version",
        "in": "query",
        "required": False,
        "description": "wait a bounded time for the read model to reach this version; "
        "if it does not, the answer carries X-Stale: true",
        "schema": {"type": "integer", "minimum": 0, "maximum": contract.MAX_MIN_VERSION},
    },
}
_ERROR_DESCRIPTIONS = {
    400: "malformed JSON",
    404: "unknown id or route",
    409: "conflict with the current state (insufficient_funds, invalid_transition, ...)",
    413: "request body too large",
    422: "a field, parameter or header is invalid; detail names it",
    503: "a server the service depends on cannot be reached; retry after Retry-After seconds",
}


@dataclass(frozen=True)
class RouteDoc:
    endpoint: Endpoint
    summary: str
    request: type[msgspec.Struct] | None
    response: type[msgspec.Struct]
    status: int
    errors: tuple[int, ...]
    query: tuple[str, ...] = ()
    idempotent: bool = False


def _operation(doc: RouteDoc) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = []
    if PATH_ID in doc.endpoint.path:
        parameters.append(
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
        )
    parameters += [_QUERY_PARAMETERS[name] for name in doc.query]
    if doc.idempotent:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "the same key and body returns the stored response; another body is a 422",
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_IDEMPOTENCY_KEY_LENGTH,
                    "pattern": IDEMPOTENCY_KEY_PATTERN,
                },
            }
        )
    responses: dict[str, Any] = {
        str(doc.status): {
            "description": "success",
            "content": {"application/json": {"schema": {"$ref": _REF.format(name=doc.response.__name__)}}},
        }
    }
    error_schema = {"$ref": _REF.format(name="Error")}
    for status in sorted({*doc.errors, 400, 413, 503} if doc.endpoint.method == "POST" else {*doc.errors, 503}):
        responses[str(status)] = {
            "description": _ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": error_schema}},
        }
    operation: dict[str, Any] = {"summary": doc.summary, "parameters": parameters, "responses": responses}
    if doc.request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(name=doc.request.__name__)}}},
        }
    return operation


def openapi_document(target: str, routes: list[RouteDoc]) -> dict[str, Any]:
    types: set[type[msgspec.Struct]] = {contract.Error, contract.Health}
    for doc in routes:
        types.add(doc.response)
        if doc.request is not None:
            types.add(doc.request)
    _, components = msgspec.json.schema_components(sorted(types, key=lambda t: t.__name__), ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for doc in routes:
        paths.setdefault(doc.endpoint.path, {})[doc.endpoint.method.lower()] = _operation(doc)
    paths["/health"] = {
        "get": {
            "summary": "Liveness",
            "responses": {
                "200": {
                    "description": "the target is up",
                    "content": {"application/json": {"schema": {"$ref": _REF.format(name="Health")}}},
                }
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": f"cqrs-bench target: {target}", "version": "1"},
        "paths": paths,
        "components": {"schemas": components},
    }
