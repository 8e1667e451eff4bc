"""After an arm's load stops: is the data still right? No overdraft, every balance equals its
ledger (crud) or event fold (cqrs), no event lost or duplicated, read models caught up.

The checks read the run's own database directly (and, for cqrs, the query side through the
target's HTTP API, which serves Redis): a target that lost or doubled a write under load
fails here even when every request looked fine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg
import httpx

from bench.rundir.checks import DataChecks, not_checked
from targets.common.checks import DataCheck as Check
from targets.common.checks import count_check as _count_check

CATCH_UP_SECONDS = 60.0  # how long the projectors may take to apply what the load wrote
CATCH_UP_POLL = 0.2
READ_SIDE_SAMPLE = 500  # streams of each kind compared between the store and the query side
HTTP_CONCURRENCY = 16


CRUD_LEDGER = """
WITH entries AS (
    SELECT account_id, version, balance_after,
           sum(CASE kind WHEN 'deposit' THEN amount ELSE -amount END)
               OVER (PARTITION BY account_id ORDER BY version) AS running
    FROM ledger_entries
), folded AS (
    SELECT account_id, count(*) AS n, min(version) AS first, max(version) AS last,
           (array_agg(running ORDER BY version DESC))[1] AS balance,
           count(*) FILTER (WHERE running < 0) AS negative,
           count(*) FILTER (WHERE balance_after <> running) AS wrong_after
    FROM entries GROUP BY account_id
)
SELECT count(*) AS accounts,
       count(*) FILTER (WHERE a.balance < 0 OR coalesce(f.negative, 0) > 0) AS overdrawn,
       count(*) FILTER (WHERE a.balance <> coalesce(f.balance, 0) OR coalesce(f.wrong_after, 0) > 0) AS unbalanced,
       count(*) FILTER (WHERE f.n <> f.last - f.first + 1 OR f.first NOT IN (1, 2)
                        OR a.version <> coalesce(f.last, 1)) AS gaps
FROM accounts a LEFT JOIN folded f ON f.account_id = a.id
"""

CRUD_ORDERS = """
SELECT count(*) AS orders,
       count(*) FILTER (WHERE i.total IS NULL OR o.total <> i.total) AS wrong_total
FROM orders o
LEFT JOIN (SELECT order_id, sum(qty::bigint * unit_price) AS total FROM order_items GROUP BY order_id) i
    ON i.order_id = o.id
"""

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

CQRS_SAMPLE = """
SELECT stream_id, type, version, balance, status FROM streams WHERE type = $1 ORDER BY md5(stream_id::text) LIMIT $2
"""


async def _crud_checks(connection: asyncpg.Connection) -> list[Check]:
    ledger = await connection.fetchrow(CRUD_LEDGER)
    orders = await connection.fetchrow(CRUD_ORDERS)
    assert ledger is not None
    assert orders is not None
    accounts = int(ledger["accounts"])
    unbalanced = "accounts whose balance differs from the sum of their ledger"
    wrong_total = "orders whose total differs from their items"
    return [
        _count_check("no overdraft", int(ledger["overdrawn"]), "accounts ever below zero", accounts),
        _count_check("balances equal their ledger", int(ledger["unbalanced"]), unbalanced, accounts),
        _count_check("no ledger entry lost or duplicated", int(ledger["gaps"]), "accounts with gaps", accounts),
        _count_check("order totals equal their items", int(orders["wrong_total"]), wrong_total, int(orders["orders"])),
        Check("read models caught up", True, "not applicable: crud reads the tables it writes"),
    ]


async def _cqrs_checks(connection: asyncpg.Connection, base_url: str) -> list[Check]:
    accounts = await connection.fetchrow(CQRS_ACCOUNTS)
    streams = await connection.fetchrow(CQRS_STREAMS)
    assert accounts is not None
    assert streams is not None
    total = int(accounts["accounts"])
    unbalanced = "accounts whose balance differs from the fold of their events"
    broken = f"streams with a version gap or a version unlike their last event ({int(streams['events']):,} events)"
    checks = [
        _count_check("no overdraft", int(accounts["overdrawn"]), "accounts ever below zero in their events", total),
        _count_check("balances equal their event fold", int(accounts["unbalanced"]), unbalanced, total),
        _count_check(
            "no event lost or duplicated",
            int(streams["gaps"]) + int(streams["mismatched"]),
            broken,
            int(streams["streams"]),
        ),
    ]
    checks.append(await _read_side_check(connection, base_url))
    return checks


async def _read_side_check(connection: asyncpg.Connection, base_url: str) -> Check:
    """Wait for the projectors to reach the store's end, then compare a sample of streams through the API."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
        started = time.monotonic()
        behind: float | None = None
        while time.monotonic() - started < CATCH_UP_SECONDS:
            stats = (await client.get("/stats")).json()
            behind = float(stats["projection"]["events_behind"])
            if behind == 0:
                break
            await asyncio.sleep(CATCH_UP_POLL)
        if behind != 0:
            late = f"still {behind:,.0f} events behind {CATCH_UP_SECONDS:.0f} s after the load stopped"
            return Check("read models caught up", False, late)
        caught_up = time.monotonic() - started
        wrong: list[str] = []
        sampled = 0
        for kind, path in (("account", "/accounts/{}"), ("order", "/orders/{}")):
            rows = await connection.fetch(CQRS_SAMPLE, kind, READ_SIDE_SAMPLE)
            sampled += len(rows)
            wrong += await _compare_reads(client, path, rows)
    detail = (f"caught up {caught_up:.1f} s after the load stopped; {sampled:,} streams read through the API "
              f"match the store")  # fmt: skip
    if wrong:
        detail = f"{len(wrong):,} of {sampled:,} streams read through the API differ from the store, e.g. {wrong[0]}"
    return Check("read models caught up", not wrong, detail)


async def _compare_reads(client: httpx.AsyncClient, path: str, rows: list[asyncpg.Record]) -> list[str]:
    limit = asyncio.Semaphore(HTTP_CONCURRENCY)

    async def compare(row: asyncpg.Record) -> str | None:
        async with limit:
            response = await client.get(path.format(row["stream_id"]))
        if response.status_code != 200:
            return f"{row['stream_id']}: HTTP {response.status_code}"
        body = response.json()
        stored = {"version": row["version"]}
        stored.update({"balance": row["balance"]} if row["type"] == "account" else {"status": row["status"]})
        shown = {key: body.get(key) for key in stored}
        return None if shown == stored else f"{row['stream_id']}: store {stored}, read side {shown}"

    results = await asyncio.gather(*(compare(row) for row in rows))
    return [result for result in results if result is not None]


CHECKERS: dict[str, Callable[[asyncpg.Connection, str], Awaitable[list[Check]]]] = {
    "crud": lambda connection, _: _crud_checks(connection),
    "cqrs": _cqrs_checks,
}


def check_invariants(target: str | None, database_dsn: str | None, base_url: str) -> DataChecks:
    if target is None:
        return not_checked("an external service: its database is not the harness's to read")
    checker = CHECKERS.get(target)
    if checker is None or database_dsn is None:
        return not_checked(f"the {target} target keeps no data")
    started = time.monotonic()

    async def run() -> list[Check]:
        connection = await asyncpg.connect(database_dsn)
        try:
            return await checker(connection, base_url)
        finally:
            await connection.close()

    checks = asyncio.run(run())
    return DataChecks(checked=True, checks=checks, seconds=round(time.monotonic() - started, 2))
