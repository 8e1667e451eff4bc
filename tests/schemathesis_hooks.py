"""schemathesis hooks for the targets' fuzz test (SCHEMATHESIS_HOOKS=tests.schemathesis_hooks).

An Idempotency-Key names one request: the same key sent with another request is refused with 422, as the
IETF's Idempotency-Key draft asks. The schema cannot say "a key of its own per request", so schemathesis,
which sends its favourite keys ('0', a run of zeros) with many different requests, would count each such
refusal as a valid request rejected. Every key the schema admits is made unique here, keeping its length
within the limit; the keys it does not admit are left as they are, for the negative tests.
"""

from __future__ import annotations

import itertools
from typing import Any

import schemathesis

from targets.common.requests import IDEMPOTENCY_HEADER, MAX_IDEMPOTENCY_KEY_LENGTH, is_idempotency_key

_serials = itertools.count()


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: Any, kwargs: dict[str, Any]) -> None:
    headers = case.headers or {}
    name = next((name for name in headers if name.lower() == IDEMPOTENCY_HEADER), None)
    key = headers.get(name) if name is not None else None
    if not isinstance(key, str) or not is_idempotency_key(key):
        return
    suffix = f"-{next(_serials)}"
    headers[name] = key[: MAX_IDEMPOTENCY_KEY_LENGTH - len(suffix)] + suffix
