"""Turning an HTTP request into validated contract values, or an ApiError that names the problem."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from typing import TypeVar

import msgspec
from starlette.requests import Request

from targets.common.contract import DEFAULT_LIMIT, MAX_LIMIT, MAX_MIN_VERSION
from targets.common.errors import MalformedJson, PayloadTooLarge, ValidationFailed
from targets.common.service import Idempotency

S = TypeVar("S", bound=msgspec.Struct)

IDEMPOTENCY_HEADER = "idempotency-key"
MAX_IDEMPOTENCY_KEY_LENGTH = 200
# Visible ASCII, spaces inside only: HTTP strips a header value's outer spaces, so a key that began or ended
# with one would reach the server as another key. The OpenAPI schema states the same pattern.
IDEMPOTENCY_KEY_PATTERN = "^[!-~]([ -~]*[!-~])?$"
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
DISCARDED_AT_MOST = 16 * 1024 * 1024  # of a refused body, read and dropped so that its sender sees the 413
_decoders: dict[type, msgspec.json.Decoder[object]] = {}


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, or PayloadTooLarge once it exceeds `max_bytes`, after reading and dropping the rest of it
    (up to DISCARDED_AT_MOST bytes): a client that sends its whole body before reading the answer (Python's
    urllib does) would otherwise meet a connection reset instead of its 413."""
    stream = request.stream()
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        if int(declared) <= DISCARDED_AT_MOST:
            await _discard(stream, DISCARDED_AT_MOST)
        raise PayloadTooLarge(f"request body of {declared} bytes exceeds the limit of {max_bytes} bytes")
    chunks: list[bytes] = []
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > max_bytes:
            await _discard(stream, DISCARDED_AT_MOST - received)
            raise PayloadTooLarge(f"request body exceeds the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _discard(stream: AsyncIterator[bytes], budget: int) -> None:
    async for chunk in stream:
        budget -= len(chunk)
        if budget < 0:
            return  # more than anyone should send: the connection is closed with the rest unread


def decode_body(body: bytes, struct_type: type[S]) -> S:
    decoder = _decoders.get(struct_type)
    if decoder is None:
        decoder = _decoders[struct_type] = msgspec.json.Decoder(struct_type)
    try:
        value = decoder.decode(body)
    except msgspec.ValidationError as exc:
        value = _with_integral_numbers(body, struct_type, exc)
    except msgspec.DecodeError as exc:
        raise MalformedJson(f"request body is not valid JSON: {exc}") from None
    assert isinstance(value, struct_type)
    return value


def _with_integral_numbers(body: bytes, struct_type: type[S], refused: msgspec.ValidationError) -> S:
    """`body` read again with every integral number written with a fraction (`5.0`, `1e3`) as the integer it
    is, as JSON Schema counts it (the schema's "integer" admits 5.0), or ValidationFailed with the first
    refusal. Only a body the strict decoder refused comes here, so the usual request pays nothing for it."""
    try:
        return msgspec.convert(_integral(msgspec.json.decode(body)), struct_type, strict=True)
    except (msgspec.ValidationError, msgspec.DecodeError):  # DecodeError: trailing bytes after a valid value
        raise ValidationFailed(f"request body: {refused}") from None


def _integral(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    return value


def path_uuid(request: Request, name: str) -> uuid.UUID:
    raw = request.path_params[name]
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationFailed(f"path parameter `{name}`: expected a UUID, got {raw[:80]!r}") from None


def query_int(request: Request, name: str, *, default: int | None, low: int, high: int) -> int | None:
    # Most reads carry no query string: parsing an empty one into a multidict cost 4.5% of a cached read's CPU.
    raw = request.query_params.get(name) if request.scope["query_string"] else None
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValidationFailed(
            f"query parameter `{name}`: expected an integer between {low} and {high}, got {raw[:80]!r}"
        )
    return value


def limit_param(request: Request) -> int:
    limit = query_int(request, "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    assert limit is not None
    return limit


def min_version_param(request: Request) -> int | None:
    return query_int(request, "min_version", default=None, low=0, high=MAX_MIN_VERSION)


def is_idempotency_key(key: str) -> bool:
    return 0 < len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH and _IDEMPOTENCY_KEY.match(key) is not None


def idempotency(request: Request, canonical_body: bytes) -> Idempotency | None:
    """The request's Idempotency-Key with a fingerprint of what it asks for.

    The fingerprint covers method, path and the re-encoded (canonical) body, so
    the same key sent for another account, action or amount is recognised as a
    different request.
    """
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not is_idempotency_key(key):
        raise ValidationFailed(
            f"header Idempotency-Key: expected 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters "
            "(spaces only between them)"
        )
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.url.path}\n".encode())
    digest.update(canonical_body)
    return Idempotency(key=key, fingerprint=digest.hexdigest())
