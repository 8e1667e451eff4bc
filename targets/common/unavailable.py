"""The errors that mean a server the target depends on (PostgreSQL, Redis) cannot be reached right now.

A request that meets one is answered 503 with Retry-After, not 500: nothing is wrong with the request or
the service, and a client may retry (with its Idempotency-Key, a write whose commit it never heard of is
then answered from the stored response rather than done twice).
"""

from __future__ import annotations

from typing import Final

import asyncpg
import redis.exceptions

UNREACHABLE: Final[tuple[type[Exception], ...]] = (
    OSError,  # refused, reset, timed out (TimeoutError is an OSError)
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and a connection lost in the middle of a request
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.TooManyConnectionsError,  # 53300
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
