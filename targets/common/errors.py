"""One error format for every target: {"error": "<code>", "detail": "<human sentence>"}."""

from __future__ import annotations


class ApiError(Exception):
    """An error the client caused or must handle; never a 500."""

    status: int = 400
    code: str = "bad_request"
    retry_after: int | None = None  # seconds, sent as Retry-After

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class MalformedJson(ApiError):
    status, code = 400, "malformed_json"


class ValidationFailed(ApiError):
    status, code = 422, "validation_error"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Unavailable(ApiError):
    """Something the answer needs is not there right now (a server out of reach, read models being rebuilt)."""

    status, code, retry_after = 503, "unavailable", 1


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class InsufficientFunds(ApiError):
    status, code = 409, "insufficient_funds"


class BalanceLimit(ApiError):
    status, code = 409, "balance_limit_exceeded"


class InvalidTransition(ApiError):
    status, code = 409, "invalid_transition"


class ConcurrencyConflict(ApiError):
    status, code = 409, "concurrency_conflict"


class IdempotencyKeyReused(ApiError):
    status, code = 422, "idempotency_key_reused"
