"""What an append writes, and the statements that write one append or a batch of them (one round trip each)."""

from __future__ import annotations

import dataclasses
import enum
import uuid
from dataclasses import dataclass
from typing import TypeAlias

import asyncpg

Database: TypeAlias = "asyncpg.Pool | asyncpg.Connection[asyncpg.Record]"


def _then_insert_event(stream_step: str, first_event_parameter: int) -> str:
    """One append's statement: `stream_step` moves (or creates) the stream's row and returns it, and the
    event is inserted only if it did, from the five parameters that start at `first_event_parameter`."""
    event_parameters = ", ".join(f"${n}" for n in range(first_event_parameter, first_event_parameter + 5))
    return f"""
WITH stream AS ({stream_step}
    RETURNING stream_id, version
)
INSERT INTO events (stream_id, version, type, data, idempotency_key, request_fingerprint, response)
SELECT stream_id, version, {event_parameters} FROM stream
RETURNING global_position
"""


# The first append of a stream creates its decision-state row and its first event together.
APPEND_TO_NEW_STREAM = _then_insert_event(
    """
    INSERT INTO streams (stream_id, type, version, balance, status, customer_id, total)
    VALUES ($1, $2, $3, $4, $5, $6, $7)""",
    8,
)

# The optimistic-concurrency guard: the state row advances only from the version the
# decision was made against. A concurrent append to the same stream makes this UPDATE
# wait for its row lock and then re-check `version = $2` (READ COMMITTED), which fails,
# so no event is inserted and the statement returns no row. Nothing else is locked.
APPEND_TO_STREAM = _then_insert_event(
    """
    UPDATE streams SET version = $3, balance = $4, status = $5
    WHERE stream_id = $1 AND version = $2""",
    6,
)

# Many appends, at most one per stream, in one statement (so one transaction and one commit).
# Each carries its own guard: an existing stream's row advances only from its expected version,
# a new stream's row is created only if the id is free; events are inserted for the streams that
# moved, and their ids come back. The rows are locked in stream_id order first, so two batches
# (two workers) that share streams wait for each other instead of deadlocking; a row a concurrent
# append changed is re-checked by the UPDATE (READ COMMITTED), as with APPEND_TO_STREAM.
APPEND_BATCH = """
WITH request AS (
    SELECT * FROM unnest(
        $1::uuid[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::uuid[],
        $8::bigint[], $9::text[], $10::jsonb[], $11::text[], $12::text[], $13::bytea[]
    ) AS r(stream_id, expected, stream_type, version, balance, status, customer_id,
           total, event_type, data, idempotency_key, request_fingerprint, response)
),
locked AS MATERIALIZED (
    SELECT stream_id FROM streams WHERE stream_id = ANY($1::uuid[]) ORDER BY stream_id FOR UPDATE
),
moved AS (
    UPDATE streams s SET version = r.version, balance = r.balance, status = r.status
    FROM request r JOIN locked USING (stream_id)
    WHERE s.stream_id = r.stream_id AND s.version = r.expected
    RETURNING s.stream_id
),
created AS (
    INSERT INTO streams (stream_id, type, version, balance, status, customer_id, total)
    SELECT stream_id, stream_type, version, balance, status, customer_id, total FROM request
    WHERE expected IS NULL
    ON CONFLICT (stream_id) DO NOTHING
    RETURNING stream_id
)
INSERT INTO events (stream_id, version, type, data, idempotency_key, request_fingerprint, response)
SELECT stream_id, version, event_type, data, idempotency_key, request_fingerprint, response FROM request
WHERE stream_id IN (SELECT stream_id FROM moved UNION ALL SELECT stream_id FROM created)
RETURNING stream_id
"""


class AppendOutcome(enum.Enum):
    APPENDED = "appended"
    VERSION_CONFLICT = "version_conflict"  # the stream moved on since the decision was made
    KEY_TAKEN = "key_taken"  # another append already stored this Idempotency-Key


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """One event and the stream's state row after it, guarded by the version before it (None: a new stream).

    The fields are in the order of APPEND_BATCH's parameters (one array per field).
    """

    stream_id: uuid.UUID
    expected_version: int | None
    stream_type: str
    version: int
    balance: int | None
    status: str | None
    customer_id: uuid.UUID | None
    total: int | None
    event_type: str
    data: bytes
    idempotency_key: str | None
    fingerprint: str | None
    response: bytes | None


_BATCH_COLUMNS = tuple(field.name for field in dataclasses.fields(AppendRequest))


async def append_one(db: Database, request: AppendRequest) -> AppendOutcome:
    r = request
    event_columns = (r.event_type, r.data, r.idempotency_key, r.fingerprint, r.response)
    try:
        if r.expected_version is None:
            new_row = (r.stream_id, r.stream_type, r.version, r.balance, r.status, r.customer_id, r.total)
            position = await db.fetchval(APPEND_TO_NEW_STREAM, *new_row, *event_columns)
        else:
            guarded_update = (r.stream_id, r.expected_version, r.version, r.balance, r.status)
            position = await db.fetchval(APPEND_TO_STREAM, *guarded_update, *event_columns)
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name == "events_idempotency_key":
            return AppendOutcome.KEY_TAKEN
        return AppendOutcome.VERSION_CONFLICT  # the primary key, the guard of last resort
    return AppendOutcome.APPENDED if position is not None else AppendOutcome.VERSION_CONFLICT


async def append_batch(db: Database, requests: list[AppendRequest]) -> list[AppendOutcome]:
    """Each request's outcome, APPENDED or VERSION_CONFLICT, from one statement; at most one request per stream.

    Raises what the statement raised, having written nothing: a taken Idempotency-Key (or any other
    constraint) aborts the whole batch, and only `append_one` tells whose key it was.
    """
    columns = [[getattr(request, name) for request in requests] for name in _BATCH_COLUMNS]
    rows = await db.fetch(APPEND_BATCH, *columns)
    appended = {row["stream_id"] for row in rows}
    return [AppendOutcome.APPENDED if r.stream_id in appended else AppendOutcome.VERSION_CONFLICT for r in requests]
