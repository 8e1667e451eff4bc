"""What every target's asyncpg pool does between two uses of a connection: nothing but roll back.

asyncpg's default, on every release, sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
RESET ALL`: one more round trip per request, and PostgreSQL work, for session state that the targets
never leave on a pooled connection. They SET only LOCAL (inside a transaction), LISTEN and NOTIFY
on connections of their own, take only transaction-scoped advisory locks and open no cursor outside a
transaction. An open transaction is still rolled back by the pool itself before `reset` is called.
This is the pool's configuration, not an architecture's: crud and cqrs both have it.
"""

from __future__ import annotations

import asyncpg


async def keep_session(connection: asyncpg.Connection[asyncpg.Record]) -> None:
    """The pool's `reset`: the session carries nothing to reset."""
