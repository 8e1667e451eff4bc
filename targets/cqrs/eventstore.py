"""The PostgreSQL event store: appends (one statement and one round trip each, or per group commit) and the reads
projectors need."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from targets.common.service import Idempotency
from targets.cqrs.appends import AppendOutcome, AppendRequest, Database, append_one
from targets.cqrs.events import Event, RecordedEvent, decode_data, encode_data, stream_type, type_name
from targets.cqrs.group_commit import GroupCommit
from targets.cqrs.shards import Shard
from targets.cqrs.state import AccountState, OrderState, StreamState

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"

LOAD_STATE = "SELECT type, version, balance, status, customer_id, total FROM streams WHERE stream_id = $1"

STORED_RESPONSE = "SELECT request_fingerprint, response FROM events WHERE idempotency_key = $1"

_EVENT_COLUMNS = "global_position, tx_id, stream_id, version, type, data, created_at"

# Events of one shard after the cursor, in (tx_id, global_position) order, and only those written
# by transactions older than every transaction still running (the snapshot's xmin): a transaction
# that got its tx_id earlier but commits later is waited for, never skipped. The horizon comes
# back even when no event does, for the projector's heartbeat.
READ_BATCH = f"""
SELECT e.global_position, e.tx_id, e.stream_id, e.version, e.type, e.data, e.created_at, h.horizon
FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon) h
LEFT JOIN LATERAL (
    SELECT {_EVENT_COLUMNS} FROM events
    WHERE (tx_id, global_position) > ($1::xid8, $2::bigint)
      AND tx_id < h.horizon
      AND ($3 = 1 OR event_shard(stream_id, $3) = $4)
    ORDER BY tx_id, global_position
    LIMIT $5
) e ON true
ORDER BY e.tx_id, e.global_position
"""

READ_VERSIONS = f"""
SELECT {_EVENT_COLUMNS} FROM events e
JOIN unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS r(stream_id, after, upto) USING (stream_id)
WHERE e.version > r.after AND e.version <= r.upto
ORDER BY e.stream_id, e.version
"""

READ_STREAM = f"""
SELECT {_EVENT_COLUMNS} FROM events
WHERE stream_id = $1
  AND ($2::bigint IS NULL OR global_position <= $2)
  AND ($3::timestamptz IS NULL OR created_at <= $3)
ORDER BY version
"""

# Events behind = past the shard's checkpoint, whether or not the horizon lets them be read yet.
SHARD_LAG = """
SELECT count(*) AS events_behind,
       coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8 AS seconds_behind
FROM events
WHERE (tx_id, global_position) > ($1::xid8, $2::bigint) AND ($3 = 1 OR event_shard(stream_id, $3) = $4)
"""

# Whoever holds the projection horizon back: the oldest transaction that has a transaction id.
HORIZON_HOLDER = """
SELECT pid, datname, state, extract(epoch FROM clock_timestamp() - xact_start)::float8 AS seconds
FROM pg_stat_activity WHERE backend_xid IS NOT NULL
ORDER BY age(backend_xid) DESC LIMIT 1
"""

EVENTS_TABLE_EXISTS = "SELECT to_regclass('events') IS NOT NULL"
ANY_EVENT = "SELECT EXISTS (SELECT 1 FROM events)"


def schema_sql() -> str:
    return resources.files("targets.cqrs").joinpath("schema.sql").read_text()


async def apply_schema(connection: Connection) -> None:
    async with connection.transaction():
        await connection.execute(schema_sql())


async def init_connection(connection: Connection) -> None:
    """jsonb in and out as the raw JSON bytes msgspec writes and reads (binary format: a version byte, then text)."""
    await connection.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda data: b"\x01" + data,
        decoder=lambda data: data[1:],
        format="binary",
    )


@dataclass(frozen=True, order=True, slots=True)
class Cursor:
    """A projector's position: every event at or before (tx_id, position) has been applied."""

    tx_id: int
    position: int

    def encode(self) -> str:
        return f"{self.tx_id}:{self.position}"

    @classmethod
    def decode(cls, raw: str | bytes | None) -> Cursor:
        if not raw:
            return START
        text = raw.decode() if isinstance(raw, bytes) else raw
        tx_id, _, position = text.partition(":")
        return cls(int(tx_id), int(position))

    @classmethod
    def after(cls, event: RecordedEvent) -> Cursor:
        return cls(event.tx_id, event.global_position)


START = Cursor(0, 0)


@dataclass(frozen=True, slots=True)
class Batch:
    horizon: int  # the snapshot xmin the batch was read below
    events: list[RecordedEvent]


@dataclass(frozen=True, slots=True)
class ShardLag:
    events_behind: int
    seconds_behind: float


@dataclass(frozen=True, slots=True)
class StoredResponse:
    fingerprint: str
    response: bytes


def _recorded(row: asyncpg.Record) -> RecordedEvent:
    """An event from a row that starts with the _EVENT_COLUMNS (positional: this runs for every event)."""
    position, tx_id, stream_id, version, name, data, created_at = row[:7]
    return RecordedEvent(stream_id, version, decode_data(name, data), position, tx_id, created_at)


def _state(row: asyncpg.Record) -> StreamState:
    if row["type"] == "account":
        return AccountState(version=row["version"], balance=row["balance"])
    return OrderState(version=row["version"], status=row["status"], customer_id=row["customer_id"], total=row["total"])


def _state_columns(state: StreamState) -> tuple[int | None, str | None, uuid.UUID | None, int | None]:
    """The (balance, status, customer_id, total) columns of a state row."""
    if isinstance(state, AccountState):
        return state.balance, None, None, None
    return None, state.status, state.customer_id, state.total


class EventStore:
    def __init__(self, db: Database, *, group_commit_max: int = 0) -> None:
        """`group_commit_max` > 0: concurrent appends go to PostgreSQL together, up to that many per statement."""
        self.db = db
        self.group_commit = GroupCommit(db, max_batch=group_commit_max) if group_commit_max > 0 else None

    async def load_state(self, stream_id: uuid.UUID) -> StreamState | None:
        row = await self.db.fetchrow(LOAD_STATE, stream_id)
        return None if row is None else _state(row)

    async def append(
        self,
        stream_id: uuid.UUID,
        expected: StreamState | None,
        event: Event,
        new_state: StreamState,
        idempotency: Idempotency | None = None,
        response: bytes | None = None,
    ) -> AppendOutcome:
        """Append `event`, moving the stream from `expected` (None: a new stream) to `new_state`."""
        balance, status, customer_id, total = _state_columns(new_state)
        request = AppendRequest(
            stream_id=stream_id,
            expected_version=expected.version if expected is not None else None,
            stream_type=stream_type(event),
            version=new_state.version,
            balance=balance,
            status=status,
            customer_id=customer_id,
            total=total,
            event_type=type_name(event),
            data=encode_data(event),
            idempotency_key=idempotency.key if idempotency is not None else None,
            fingerprint=idempotency.fingerprint if idempotency is not None else None,
            response=response if idempotency is not None else None,
        )
        if self.group_commit is not None:
            return await self.group_commit.append(request)
        return await append_one(self.db, request)

    async def stored_response(self, key: str) -> StoredResponse | None:
        row = await self.db.fetchrow(STORED_RESPONSE, key)
        return None if row is None else StoredResponse(row["request_fingerprint"], row["response"])

    async def read_batch(self, after: Cursor, shard: Shard, limit: int) -> Batch:
        rows = await self.db.fetch(READ_BATCH, after.tx_id, after.position, shard.count, shard.index, limit)
        if rows[0]["global_position"] is None:
            return Batch(horizon=rows[0]["horizon"], events=[])
        return Batch(horizon=rows[0]["horizon"], events=[_recorded(row) for row in rows])

    async def read_versions(self, ranges: Sequence[tuple[uuid.UUID, int, int]]) -> list[RecordedEvent]:
        """The events of each (stream, after, upto): versions after < v <= upto, in version order per stream."""
        rows = await self.db.fetch(
            READ_VERSIONS, [r[0] for r in ranges], [r[1] for r in ranges], [r[2] for r in ranges]
        )
        return [_recorded(row) for row in rows]

    async def read_stream(
        self, stream_id: uuid.UUID, *, upto_position: int | None = None, upto_time: dt.datetime | None = None
    ) -> list[RecordedEvent]:
        rows = await self.db.fetch(READ_STREAM, stream_id, upto_position, upto_time)
        return [_recorded(row) for row in rows]

    async def lag(self, after: Cursor, shard: Shard) -> ShardLag:
        row = await self.db.fetchrow(SHARD_LAG, after.tx_id, after.position, shard.count, shard.index)
        assert row is not None
        return ShardLag(events_behind=row["events_behind"], seconds_behind=row["seconds_behind"])

    async def horizon_holder(self) -> dict[str, object] | None:
        row = await self.db.fetchrow(HORIZON_HOLDER)
        return None if row is None else dict(row.items())

    async def exists(self) -> bool:
        return bool(await self.db.fetchval(EVENTS_TABLE_EXISTS))

    async def has_events(self) -> bool:
        return bool(await self.db.fetchval(ANY_EVENT))


def stream_ranges(events: Iterable[RecordedEvent], applied: dict[uuid.UUID, int]) -> list[tuple[uuid.UUID, int, int]]:
    """For each stream in `applied`, the range of versions from its applied one up to its last in `events`."""
    upto: dict[uuid.UUID, int] = {}
    for recorded in events:
        if recorded.stream_id in applied:
            upto[recorded.stream_id] = max(upto.get(recorded.stream_id, 0), recorded.version)
    return [(stream_id, applied[stream_id], version) for stream_id, version in upto.items()]
