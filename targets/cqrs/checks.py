"""The cqrs target's data checks after a run: the event store's own consistency, then the read side.

The read side is compared through the target's HTTP API (which serves its read store, Redis or
PostgreSQL), once the projectors report that they caught up with the store; the events the read
models applied, as /stats counts them, must then be exactly the events stored.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import asyncpg
import httpx
import msgspec
import urllib3

from targets.common.checks import DataCheck, count_check
from targets.common.ledger import MoneyLedger
from targets.cqrs.stats import CqrsStats, Projection

CATCH_UP_SECONDS = 60.0  # how long the projectors may take to apply what the load wrote
CATCH_UP_POLL = 0.2
READ_SIDE_SAMPLE = 500  # streams of each kind compared between the store and the query side
# Reads in flight while comparing. They go through urllib3 in threads: httpx's async client managed about
# 250 reads/s here (1,000 reads took 4 s of every cqrs run), urllib3 with four threads about 2,000.
HTTP_CONCURRENCY = 4
READ_TIMEOUT_SECONDS = 10.0

CQRS_ACCOUNTS = """
WITH moves AS (
    SELECT stream_id, version, (data->>'balance_after')::bigint AS balance_after,
           sum(CASE type WHEN 'AccountOpened' THEN (data->>'initial_deposit')::bigint
                         WHEN 'DepositMade' THEN (data->>'amount')::bigint
                         ELSE -(data->>'amount')::bigint END)
               OVER (PARTITION BY stream_id ORDER BY version) AS running
    FROM events WHERE type IN ('AccountOpened', 'DepositMade', 'WithdrawalMade')
), folded AS (
    SELECT stream_id, (array_agg(running ORDER BY version DESC))[1] AS balance,
           count(*) FILTER (WHERE running < 0) AS negative,
           count(*) FILTER (WHERE balance_after <> running) AS wrong_after
    FROM moves GROUP BY stream_id
)
SELECT count(*) AS accounts,
       count(*) FILTER (WHERE f.negative > 0 OR s.balance < 0) AS overdrawn,
       count(*) FILTER (WHERE f.stream_id IS NULL OR s.balance IS DISTINCT FROM f.balance
                        OR f.wrong_after > 0) AS unbalanced
FROM streams s LEFT JOIN folded f USING (stream_id)
WHERE s.type = 'account'
"""

CQRS_STREAMS = """
WITH stored AS (
    SELECT stream_id, count(*) AS n, min(version) AS first, max(version) AS last FROM events GROUP BY stream_id
)
SELECT count(*) AS streams, (SELECT count(*) FROM events) AS events,
       count(*) FILTER (WHERE e.stream_id IS NULL OR s.stream_id IS NULL OR s.version <> e.last) AS mismatched,
       count(*) FILTER (WHERE e.n <> e.last OR e.first <> 1) AS gaps
FROM streams s FULL JOIN stored e USING (stream_id)
"""

LEDGER = MoneyLedger(
    versions="SELECT stream_id AS entity, version FROM streams WHERE type = 'account'",
    moves="""
SELECT e.stream_id AS entity, e.version, CASE e.type WHEN 'DepositMade' THEN 'deposit' ELSE 'withdrawal' END AS kind,
       (e.data->>'amount')::bigint AS amount
FROM events e JOIN unnest($1::uuid[], $2::bigint[]) AS since (id, version) ON e.stream_id = since.id
WHERE e.version > since.version AND e.type IN ('DepositMade', 'WithdrawalMade')
""",
    accounts="SELECT stream_id AS entity, version, balance FROM streams WHERE stream_id = ANY($1::uuid[])",
)

CQRS_SAMPLE = """
SELECT stream_id, type, version, balance, status FROM streams WHERE type = $1 ORDER BY md5(stream_id::text) LIMIT $2
"""


async def check_data(connection: asyncpg.Connection, base_url: str) -> list[DataCheck]:
    accounts = await connection.fetchrow(CQRS_ACCOUNTS)
    streams = await connection.fetchrow(CQRS_STREAMS)
    assert accounts is not None
    assert streams is not None
    total = int(accounts["accounts"])
    unbalanced = "accounts whose balance differs from the fold of their events"
    broken = f"streams with a version gap or a version unlike their last event ({int(streams['events']):,} events)"
    checks = [
        count_check("no overdraft", int(accounts["overdrawn"]), "accounts ever below zero in their events", total),
        count_check("balances equal their event fold", int(accounts["unbalanced"]), unbalanced, total),
        count_check(
            "no event lost or duplicated",
            int(streams["gaps"]) + int(streams["mismatched"]),
            broken,
            int(streams["streams"]),
        ),
    ]
    checks += await _read_side_checks(connection, base_url)
    return checks


async def _read_side_checks(connection: asyncpg.Connection, base_url: str) -> list[DataCheck]:
    """Wait for the projectors to reach the store's end, then compare a sample of streams through the API,
    and the events the read models applied with the events stored."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
        started = time.monotonic()
        projection: Projection | None = None
        while time.monotonic() - started < CATCH_UP_SECONDS:
            response = (await client.get("/stats")).raise_for_status()
            projection = msgspec.json.decode(response.content, type=CqrsStats).projection
            if projection.events_behind == 0:
                break
            await asyncio.sleep(CATCH_UP_POLL)
        if projection is None or projection.events_behind != 0:
            behind = projection.events_behind if projection is not None else float("nan")
            late = f"still {behind:,.0f} events behind {CATCH_UP_SECONDS:.0f} s after the load stopped"
            return [DataCheck("read models caught up", False, late)]
        applied_check = _applied_check(
            projection.applied, int(await connection.fetchval("SELECT count(*) FROM events"))
        )
        caught_up = time.monotonic() - started
        samples = [
            (path, await connection.fetch(CQRS_SAMPLE, kind, READ_SIDE_SAMPLE))
            for kind, path in (("account", "/accounts/{}"), ("order", "/orders/{}"))
        ]
    sampled = sum(len(rows) for _, rows in samples)
    wrong = await asyncio.to_thread(_compare_reads, base_url, samples)
    read = "streams read through the API"
    detail = f"caught up {caught_up:.1f} s after the load stopped; {sampled:,} {read} match the store"
    if wrong:
        detail = f"{len(wrong):,} of {sampled:,} {read} differ from the store, e.g. {wrong[0]}"
    return [DataCheck("read models caught up", not wrong, detail), applied_check]


def _applied_check(applied: int | None, events: int) -> DataCheck:
    name = "read models applied every event once"
    if applied is None:
        return DataCheck(name, False, "the target's /stats does not count the events its read models applied")
    if applied == events:
        return DataCheck(name, True, f"{applied:,} events applied, as many as stored")
    return DataCheck(name, False, f"{applied:,} events applied, {events:,} stored: {applied - events:+,}")


def _compare_reads(base_url: str, samples: Sequence[tuple[str, Sequence[asyncpg.Record]]]) -> list[str]:
    """Read each sampled stream through the API (path: "/accounts/{}" or "/orders/{}"); one line per
    stream whose view differs from its row in the store."""
    address = urlsplit(base_url)
    if address.hostname is None:
        raise ValueError(f"the target's base URL {base_url!r} names no host")
    pool = urllib3.HTTPConnectionPool(
        address.hostname,
        address.port,
        maxsize=HTTP_CONCURRENCY,
        block=True,
        timeout=READ_TIMEOUT_SECONDS,
        retries=False,
    )

    def compare(path: str, row: asyncpg.Record) -> str | None:
        response = pool.request("GET", path.format(row["stream_id"]))
        if response.status != 200:
            return f"{row['stream_id']}: HTTP {response.status}"
        body = json.loads(response.data)
        stored = {"version": row["version"]}
        stored.update({"balance": row["balance"]} if row["type"] == "account" else {"status": row["status"]})
        shown = {key: body.get(key) for key in stored}
        return None if shown == stored else f"{row['stream_id']}: store {stored}, read side {shown}"

    with pool, ThreadPoolExecutor(HTTP_CONCURRENCY) as workers:
        results = workers.map(lambda read: compare(*read), [(path, row) for path, rows in samples for row in rows])
        return [result for result in results if result is not None]
