"""The read models in PostgreSQL (BENCH_CQRS_READ_STORE=postgres): tables by generation, and their writer.

The tables are in pg_readmodels.sql. A batch is one transaction: it takes the generation row
FOR SHARE (so a rebuild's switch waits for it, and a batch for an older generation is refused),
reads the applied versions of its streams, folds the events in Python with the Redis script's
rules (an event applies iff its version is its stream's applied version + 1; older: a duplicate,
skipped; newer: a gap, that stream is skipped for the rest of the batch and reported, and the
checkpoint is not written), then writes rows, checkpoint, heartbeat and the NOTIFY announcing the
applied versions in one statement. The NOTIFY is delivered at commit, so a woken reader sees the rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import asyncpg
import msgspec

from targets.cqrs.events import (
    AccountOpened,
    DepositMade,
    OrderCancelled,
    OrderCreated,
    OrderPaid,
    OrderShipped,
    RecordedEvent,
    WithdrawalMade,
)
from targets.cqrs.eventstore import Connection
from targets.cqrs.readmodels import statement_line
from targets.cqrs.readstore import ApplyOptions, ApplyResult

APPLIED_CHANNEL = "cqrs_applied"
NOTIFY_PAYLOAD_BYTES = 7_900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more
DEADLOCK_ATTEMPTS = 5  # customer rows are shared between shards (taken in id order, so this is a backstop)
TABLES = ("read_accounts", "read_transactions", "read_orders", "read_customers", "read_checkpoints")

# One writer per (generation, shard) at a time, so that two projectors of one shard (a restart that
# overlaps) read and write applied versions one after the other.
LOCK_GENERATION = """
WITH writer AS (SELECT pg_advisory_xact_lock(hashtext('cqrs read model writer'), hashtext($1)))
SELECT current FROM read_generations, writer FOR SHARE OF read_generations
"""

ACCOUNT_STATES = """
SELECT account_id, owner, balance, version, deposited, opened_empty FROM read_accounts
WHERE generation = $1 AND account_id = ANY($2::uuid[])
"""

ORDER_VERSIONS = "SELECT order_id, version FROM read_orders WHERE generation = $1 AND order_id = ANY($2::uuid[])"

# Data-modifying CTEs all run, whether or not the final SELECT reads them; the NOTIFY's is read.
WRITE_BATCH = """
WITH accounts AS (
    INSERT INTO read_accounts (generation, account_id, owner, balance, version, deposited, opened_empty)
    SELECT $1::bigint, * FROM unnest($2::uuid[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::boolean[])
    ON CONFLICT (generation, account_id) DO UPDATE
        SET balance = excluded.balance, version = excluded.version, deposited = excluded.deposited
), lines AS (
    INSERT INTO read_transactions (generation, account_id, version, line)
    SELECT $1, * FROM unnest($8::uuid[], $9::bigint[], $10::text[])
), created AS (
    INSERT INTO read_orders (generation, order_id, customer_id, status, total, version, created_at, items, position)
    SELECT $1, * FROM unnest($11::uuid[], $12::uuid[], $13::text[], $14::bigint[], $15::bigint[],
                             $16::timestamptz[], $17::text[], $18::bigint[])
), moved AS (
    UPDATE read_orders o SET status = m.status, version = m.version
    FROM unnest($19::uuid[], $20::text[], $21::bigint[]) AS m(order_id, status, version)
    WHERE o.generation = $1 AND o.order_id = m.order_id
), customers AS (
    INSERT INTO read_customers (generation, customer_id, created, paid, shipped, cancelled, lifetime_total)
    SELECT $1, c.* FROM unnest($22::uuid[], $23::bigint[], $24::bigint[], $25::bigint[], $26::bigint[],
                               $27::bigint[]) AS c(customer_id, created, paid, shipped, cancelled, lifetime_total)
    ORDER BY c.customer_id
    ON CONFLICT (generation, customer_id) DO UPDATE SET
        created = read_customers.created + excluded.created,
        paid = read_customers.paid + excluded.paid,
        shipped = read_customers.shipped + excluded.shipped,
        cancelled = read_customers.cancelled + excluded.cancelled,
        lifetime_total = read_customers.lifetime_total + excluded.lifetime_total
), checkpoint AS (
    INSERT INTO read_checkpoints (generation, shard, cursor, applied)
    SELECT $1, $28::text, $29::text, $30::bigint WHERE $28::text <> ''
    ON CONFLICT (generation, shard) DO UPDATE
        SET applied = read_checkpoints.applied + excluded.applied,
            cursor = coalesce(excluded.cursor, read_checkpoints.cursor)
), heartbeat AS (
    INSERT INTO read_projectors (shard, heartbeat) SELECT $31::text, $32::bytea WHERE $31::text <> ''
    ON CONFLICT (shard) DO UPDATE SET heartbeat = excluded.heartbeat
), announced AS (
    SELECT pg_notify($33::text, payload) FROM unnest($34::text[]) AS payload
)
SELECT count(*) FROM announced
"""

HEARTBEAT = """
WITH beat AS (
    INSERT INTO read_projectors (shard, heartbeat) VALUES ($1, $2)
    ON CONFLICT (shard) DO UPDATE SET heartbeat = excluded.heartbeat
)
SELECT current FROM read_generations
"""

NEW_GENERATION = """
UPDATE read_generations SET handed_out = greatest(current, handed_out) + 1 RETURNING handed_out
"""

SWITCH_GENERATION = "UPDATE read_generations SET current = $1 WHERE current < $1 RETURNING current"

_json = msgspec.json.Encoder()
COUNTERS = {"created": 0, "paid": 1, "shipped": 2, "cancelled": 3}  # a customer's counters; [4]: lifetime total


def schema_sql() -> str:
    return resources.files("targets.cqrs").joinpath("pg_readmodels.sql").read_text()


async def apply_read_schema(connection: Connection) -> None:
    async with connection.transaction():
        await connection.execute(schema_sql())


@dataclass(slots=True)
class _Account:
    owner: str
    balance: int
    version: int
    deposited: int
    opened_empty: bool


@dataclass(slots=True)
class _Order:
    """A new order's row, from customer_id to position."""

    customer_id: uuid.UUID
    status: str
    total: int
    version: int
    created_at: dt.datetime
    items: str
    position: int


@dataclass
class _Changes:
    """What a batch does to the tables, folded from its events against the rows it read."""

    accounts: dict[uuid.UUID, _Account]
    order_versions: dict[uuid.UUID, int]
    changed_accounts: set[uuid.UUID] = field(default_factory=set)
    lines: list[tuple[uuid.UUID, int, str]] = field(default_factory=list)
    new_orders: dict[uuid.UUID, _Order] = field(default_factory=dict)
    moved_orders: dict[uuid.UUID, tuple[str, int]] = field(default_factory=dict)
    customers: dict[uuid.UUID, list[int]] = field(default_factory=dict)  # created, paid, shipped, cancelled, lifetime
    announced: list[str] = field(default_factory=list)
    applied: int = 0

    def applied_version(self, recorded: RecordedEvent) -> int:
        if isinstance(recorded.event, AccountOpened | DepositMade | WithdrawalMade):
            account = self.accounts.get(recorded.stream_id)
            return account.version if account is not None else 0
        return self.order_versions.get(recorded.stream_id, 0)

    def apply(self, recorded: RecordedEvent) -> None:
        stream, version = recorded.stream_id, recorded.version
        match recorded.event:
            case AccountOpened(owner=owner, initial_deposit=deposit):
                self.accounts[stream] = _Account(owner, deposit, version, deposit, deposit == 0)
                if deposit > 0:
                    self.lines.append((stream, version, statement_line(recorded, "deposit", deposit, deposit)))
            case DepositMade(amount=amount, balance_after=after):
                account = self.accounts[stream]
                account.balance, account.version, account.deposited = after, version, account.deposited + amount
                self.lines.append((stream, version, statement_line(recorded, "deposit", amount, after)))
            case WithdrawalMade(amount=amount, balance_after=after):
                account = self.accounts[stream]
                account.balance, account.version = after, version
                self.lines.append((stream, version, statement_line(recorded, "withdrawal", amount, after)))
            case OrderCreated(customer_id=customer, total=total, items=items):
                items_json = _json.encode(items).decode()
                self.new_orders[stream] = _Order(
                    customer, "created", total, version, recorded.created_at, items_json, recorded.global_position
                )
                self._customer_moves(customer, None, "created", 0)
            case OrderPaid(customer_id=customer, total=total):
                self._order_moves(stream, "paid", version)
                self._customer_moves(customer, "created", "paid", total)
            case OrderShipped(customer_id=customer):
                self._order_moves(stream, "shipped", version)
                self._customer_moves(customer, "paid", "shipped", 0)
            case OrderCancelled(customer_id=customer, total=total, previous_status=previous):
                self._order_moves(stream, "cancelled", version)
                self._customer_moves(customer, previous, "cancelled", -total if previous == "paid" else 0)
        if isinstance(recorded.event, AccountOpened | DepositMade | WithdrawalMade):
            self.changed_accounts.add(stream)
        else:
            self.order_versions[stream] = version
        self.applied += 1
        self.announced.append(f"{stream}:{version}")

    def columns(self) -> list[list[Any]]:
        """WRITE_BATCH's arrays $2 to $27: accounts, statement lines, new orders, moved orders, customers."""
        accounts = []
        for stream in sorted(self.changed_accounts):
            a = self.accounts[stream]
            accounts.append((stream, a.owner, a.balance, a.version, a.deposited, a.opened_empty))
        orders = [
            (stream, o.customer_id, o.status, o.total, o.version, o.created_at, o.items, o.position)
            for stream, o in self.new_orders.items()
        ]
        moved = [(stream, status, version) for stream, (status, version) in self.moved_orders.items()]
        customers = [(customer, *counters) for customer, counters in sorted(self.customers.items())]
        return [
            *_transposed(accounts, 6),
            *_transposed(self.lines, 3),
            *_transposed(orders, 8),
            *_transposed(moved, 3),
            *_transposed(customers, 6),
        ]

    def _order_moves(self, stream: uuid.UUID, status: str, version: int) -> None:
        created = self.new_orders.get(stream)
        if created is not None:
            created.status, created.version = status, version
        else:
            self.moved_orders[stream] = (status, version)

    def _customer_moves(self, customer: uuid.UUID, source: str | None, target: str, lifetime: int) -> None:
        counters = self.customers.setdefault(customer, [0, 0, 0, 0, 0])
        if source is not None:
            counters[COUNTERS[source]] -= 1
        counters[COUNTERS[target]] += 1
        counters[4] += lifetime


def _transposed(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as columns (one array per column, as unnest takes them)."""
    columns: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


def fold_batch(changes: _Changes, events: Sequence[RecordedEvent]) -> dict[uuid.UUID, int]:
    """Apply `events` to `changes` by the applied-version rule; returns the gaps (stream -> applied version)."""
    gaps: dict[uuid.UUID, int] = {}
    for recorded in events:
        if recorded.stream_id in gaps:
            continue
        have = changes.applied_version(recorded)
        if recorded.version == have + 1:
            changes.apply(recorded)
        elif recorded.version > have + 1:
            gaps[recorded.stream_id] = have
    return gaps


def notify_payloads(entries: Sequence[str]) -> list[str]:
    """The "stream:version" entries, space-separated, in payloads below PostgreSQL's limit."""
    payloads: list[str] = []
    current: list[str] = []
    size = 0
    for entry in entries:
        if current and size + 1 + len(entry) > NOTIFY_PAYLOAD_BYTES:
            payloads.append(" ".join(current))
            current, size = [], 0
        current.append(entry)
        size += len(entry) + (1 if size else 0)
    if current:
        payloads.append(" ".join(current))
    return payloads


class PgReadModelWriter:
    """Writes the read-model tables; one transaction per batch, checkpoint included."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    def encode(self, events: Sequence[RecordedEvent]) -> Sequence[RecordedEvent]:
        return events  # folded inside the transaction, against the rows it locks

    async def apply(self, generation: int, batch: Sequence[RecordedEvent], options: ApplyOptions) -> ApplyResult:
        for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
            try:
                async with self.pool.acquire() as connection, connection.transaction():
                    return await self._apply(connection, generation, batch, options)
            except asyncpg.DeadlockDetectedError:
                if attempt == DEADLOCK_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    async def _apply(
        self, connection: Connection, generation: int, events: Sequence[RecordedEvent], options: ApplyOptions
    ) -> ApplyResult:
        writer = options.checkpoint_field or options.heartbeat_field
        current = await connection.fetchval(LOCK_GENERATION, f"{generation} {writer}")
        if current > generation:
            return ApplyResult(applied=0, gaps={}, stale_for=current)
        changes = await self._read_states(connection, generation, events)
        gaps = fold_batch(changes, events)
        write_checkpoint = bool(options.checkpoint_field) and not gaps
        await connection.fetchval(
            WRITE_BATCH,
            generation,
            *changes.columns(),
            writer,
            options.checkpoint if write_checkpoint else None,
            changes.applied,
            options.heartbeat_field,
            options.heartbeat,
            APPLIED_CHANNEL,
            notify_payloads(changes.announced) if options.announce else [],
        )
        return ApplyResult(applied=changes.applied, gaps=gaps)

    async def _read_states(self, connection: Connection, generation: int, events: Sequence[RecordedEvent]) -> _Changes:
        account_ids = {e.stream_id for e in events if isinstance(e.event, AccountOpened | DepositMade | WithdrawalMade)}
        order_ids = {e.stream_id for e in events} - account_ids
        accounts: dict[uuid.UUID, _Account] = {}
        if account_ids:
            for row in await connection.fetch(ACCOUNT_STATES, generation, list(account_ids)):
                accounts[row["account_id"]] = _Account(*row[1:])
        versions: dict[uuid.UUID, int] = {}
        if order_ids:
            versions = {
                row["order_id"]: row["version"]
                for row in await connection.fetch(ORDER_VERSIONS, generation, list(order_ids))
            }
        return _Changes(accounts, versions)

    async def current_generation(self) -> int:
        current: int = await self.pool.fetchval("SELECT current FROM read_generations")
        return current

    # The read tables live in the event store's own database: they are never lost apart from the events,
    # so there is nothing to initialize, and no rebuild of lost read models to coordinate.
    async def initialize(self) -> int:
        return await self.current_generation()

    async def claim_rebuild(self, owner: str, seconds: float) -> bool:
        return True

    async def release_rebuild(self, owner: str) -> None:
        pass

    async def hand_out_above(self, generation: int) -> None:
        await self.pool.execute("UPDATE read_generations SET handed_out = greatest(handed_out, $1)", generation)

    async def checkpoint(self, generation: int, field: str) -> bytes | None:
        stored = await self.checkpoints(generation)
        found = stored.get(field) or stored.get("all")
        return found.encode() if found else None

    async def checkpoints(self, generation: int) -> dict[str, str]:
        rows = await self.pool.fetch(
            "SELECT shard, cursor FROM read_checkpoints WHERE generation = $1 AND cursor IS NOT NULL", generation
        )
        return {row["shard"]: row["cursor"] for row in rows}

    async def applied(self, generation: int) -> int:
        total: int = await self.pool.fetchval(
            "SELECT coalesce(sum(applied), 0)::bigint FROM read_checkpoints WHERE generation = $1", generation
        )
        return total

    async def heartbeat(self, field: str, value: bytes) -> int:
        current: int = await self.pool.fetchval(HEARTBEAT, field, value)
        return current

    async def heartbeat_of(self, field: str) -> bytes | None:
        found: bytes | None = await self.pool.fetchval("SELECT heartbeat FROM read_projectors WHERE shard = $1", field)
        return found

    async def new_generation(self) -> int:
        generation: int = await self.pool.fetchval(NEW_GENERATION)
        return generation

    async def switch_to(self, generation: int) -> bool:
        return await self.pool.fetchval(SWITCH_GENERATION, generation) is not None

    async def drop(self, generation: int) -> int:
        return await self._delete("generation = $1", generation)

    async def drop_generations_before(self, generation: int) -> int:
        return await self._delete("generation < $1", generation)

    async def held_by(self, generation: int) -> int:
        counts = [f"(SELECT count(*) FROM {table} WHERE generation = $1)" for table in TABLES]
        held: int = await self.pool.fetchval(f"SELECT {' + '.join(counts)}", generation)
        return held

    async def _delete(self, where: str, generation: int) -> int:
        deleted = 0
        async with self.pool.acquire() as connection, connection.transaction():
            for table in TABLES:
                status = await connection.execute(f"DELETE FROM {table} WHERE {where}", generation)
                deleted += int(status.rsplit(" ", 1)[1])
        return deleted
