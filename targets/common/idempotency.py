"""Replaying a stored response for a reused Idempotency-Key; shared by every target's store."""

from __future__ import annotations

from typing import TypeVar

import msgspec

from targets.common.errors import IdempotencyKeyReused
from targets.common.service import Idempotency, Written

T = TypeVar("T")


def replay(idempotency: Idempotency, fingerprint: str, response: bytes, response_type: type[T]) -> Written[T]:
    """The stored response if the key was sent with the same request, else a 422."""
    if fingerprint != idempotency.fingerprint:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {idempotency.key!r} was already used with a different request; "
            "send a new key for a new request"
        )
    return Written(msgspec.json.decode(response, type=response_type), replayed=True)


def encode_response(value: object) -> bytes:
    return msgspec.json.encode(value)
