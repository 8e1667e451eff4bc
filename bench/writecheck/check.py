"""Running the acknowledged-writes check for a run: the store's snapshot before the load, the check after it.

Before the load, each account's version is read (the moves up to it are the seed's). After it, the logged
writes (writes/*.jsonl) are matched to the moves each written account gained since (bench.writecheck.judge),
and each written account (up to READ_SIDE_SAMPLE of them) is read through the API until it shows the store's
version, which must then come with the store's balance.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import msgspec
import urllib3

from bench.rundir.writes import WRITES_DIR, WriteCheck, WriteRecord
from bench.writecheck.judge import StoredMove, Tally, judge
from targets.common.ledger import MoneyLedger

# The store is checked for every write; the read side for at most this many of the accounts written to (spread
# by a hash of their ids), since reading 100,000 accounts of a claim-sized run would take the check 50 s.
READ_SIDE_SAMPLE = 2_000
READ_SIDE_DEADLINE_S = 60.0  # how long the read side may take to show the store's version of every account
READ_RETRY_S = 0.1
SETTLE_S = 0.5  # the store counts as settled when it did not change over this long
SETTLE_DEADLINE_S = 30.0
HTTP_CONCURRENCY = 4  # as the cqrs checks: urllib3 in threads reads about 2,000 accounts/s here
READ_TIMEOUT_S = 10.0

Snapshot = dict[str, int]  # account -> its version before the load


async def take_snapshot(dsn: str, ledger: MoneyLedger) -> Snapshot:
    connection = await asyncpg.connect(dsn)
    try:
        return {str(row["entity"]): int(row["version"]) for row in await connection.fetch(ledger.versions)}
    finally:
        await connection.close()


def read_writes(run: Path) -> tuple[list[WriteRecord], int]:
    """Every logged write, and how many lines could not be read (cut short when a generator was killed)."""
    decoder = msgspec.json.Decoder(WriteRecord)
    writes, unreadable = [], 0
    for path in sorted((run / WRITES_DIR).glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            try:
                writes.append(decoder.decode(line))
            except msgspec.DecodeError:
                unreadable += 1
    return writes, unreadable


def check_writes(run: Path, dsn: str, base_url: str, ledger: MoneyLedger, snapshot: Snapshot) -> WriteCheck:
    started = time.monotonic()
    writes, unreadable = read_writes(run)
    accounts = sorted({write.entity for write in writes})
    moves, stored = asyncio.run(_read_store(dsn, ledger, accounts, snapshot))
    tally = judge(writes, moves)
    sample = sorted(stored, key=lambda account: hashlib.md5(account.encode(), usedforsecurity=False).digest())
    read = {account: stored[account] for account in sample[:READ_SIDE_SAMPLE]}
    wrong = _compare_read_side(base_url, read)
    return _verdict(tally, read=len(read), wrong=wrong, unreadable=unreadable, seconds=time.monotonic() - started)


def _verdict(tally: Tally, *, read: int, wrong: Sequence[str], unreadable: int, seconds: float) -> WriteCheck:
    examples = [f"{problem}: {sentence}" for problem, sentences in tally.examples.items() for sentence in sentences]
    examples += [f"read side: {sentence}" for sentence in wrong[:3]]
    return WriteCheck(
        checked=True,
        sent=tally.sent,
        acknowledged=tally.acknowledged,
        present=tally.present,
        lost=tally.lost,
        doubled=tally.doubled,
        unknown=tally.unknown,
        unknown_present=tally.unknown_present,
        unknown_absent=tally.unknown_absent,
        refused=tally.refused,
        retried=tally.retried,
        accounts=tally.accounts,
        read_side_checked=read,
        read_side_wrong=len(wrong),
        unreadable_lines=unreadable,
        examples=examples,
        seconds=round(seconds, 2),
    )


async def _read_store(
    dsn: str, ledger: MoneyLedger, accounts: Sequence[str], snapshot: Snapshot
) -> tuple[list[StoredMove], dict[str, tuple[int, int]]]:
    """The moves each account gained since the snapshot, and each one's (version, balance) now."""
    ids = [uuid.UUID(account) for account in accounts]
    since = [snapshot.get(account, 0) for account in accounts]
    connection = await asyncpg.connect(dsn)
    try:
        now = await _settled(connection, ledger, ids)
        rows = await connection.fetch(ledger.moves, ids, since)
    finally:
        await connection.close()
    moves = [StoredMove(str(row["entity"]), int(row["version"]), row["kind"], int(row["amount"])) for row in rows]
    return moves, now


async def _settled(
    connection: asyncpg.Connection, ledger: MoneyLedger, ids: Sequence[uuid.UUID]
) -> dict[str, tuple[int, int]]:
    """The accounts' (version, balance) once two reads SETTLE_S apart agree. A target that was overloaded when the
    load stopped still works through requests the load generator gave up on (seen: versions rising for seconds
    after an open-model step at twice the capacity): the check must hold the log against the store they leave."""
    deadline = time.monotonic() + SETTLE_DEADLINE_S
    last: dict[str, tuple[int, int]] | None = None
    while True:
        rows = await connection.fetch(ledger.accounts, ids)
        now = {str(row["entity"]): (int(row["version"]), int(row["balance"])) for row in rows}
        if now == last or time.monotonic() > deadline:
            return now
        last = now
        await asyncio.sleep(SETTLE_S)


def _compare_read_side(base_url: str, stored: dict[str, tuple[int, int]]) -> list[str]:
    """One sentence per account whose read side did not show the store's version and balance in time."""
    address = urlsplit(base_url)
    if address.hostname is None:
        raise ValueError(f"the target's base URL {base_url!r} names no host")
    pool = urllib3.HTTPConnectionPool(
        address.hostname, address.port, maxsize=HTTP_CONCURRENCY, block=True, timeout=READ_TIMEOUT_S, retries=False
    )
    deadline = time.monotonic() + READ_SIDE_DEADLINE_S

    def compare(account: str) -> str | None:
        version, balance = stored[account]
        while True:
            response = pool.request("GET", f"/accounts/{account}?min_version={version}")
            shown = json.loads(response.data) if response.status == 200 else None
            fresh = response.headers.get("x-stale") != "true"
            if shown is not None and fresh and shown.get("version") == version:
                if shown.get("balance") == balance:
                    return None
                return f"{account}: the store has balance {balance} at version {version}, the read side {shown}"
            if time.monotonic() > deadline:
                seen = shown if shown is not None else f"HTTP {response.status}"
                return f"{account}: the store has version {version}, the read side still {seen}"
            time.sleep(READ_RETRY_S)  # the read side catching up; bounded by the deadline

    with pool, ThreadPoolExecutor(HTTP_CONCURRENCY) as workers:
        return [result for result in workers.map(compare, sorted(stored)) if result is not None]
