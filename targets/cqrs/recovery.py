"""Read models the read store lost (Redis flushed, or restarted without its data), rebuilt without an operator.

A projector that finds no current generation where there was one (its batch refused as "lost", or its
heartbeat seeing none) calls `recover_read_models`: one projector claims the rebuild and replays the event
store into a generation above the lost one (bench.rebuild's replay), the others wait for it to switch.
Meanwhile readers answer 503 with Retry-After (targets/cqrs/redis_reads.py), never a 404 for data that
exists. A claim is a lease that the rebuilder renews while it replays: a projector that dies while
rebuilding leaves the rebuild to another (its own replacement, say) within CLAIM_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import redis

from targets.cqrs.connections import postgres_pool
from targets.cqrs.eventstore import EventStore
from targets.cqrs.readstore import ReadModelWriter
from targets.cqrs.rebuild import rebuild

# A dead rebuilder's claim is taken over this soon. It was 300 s, long enough for any rebuild, until a run
# that killed a projector mid-rebuild showed its replacement waiting, and every read answering 503, for 5 min.
CLAIM_SECONDS = 10.0
RENEW_SECONDS = CLAIM_SECONDS / 4  # a live rebuilder's renewal is this often: three may fail before it lapses
WAIT_SECONDS = 0.2  # between looks at whether another projector's rebuild switched

log = logging.getLogger("targets.cqrs.recovery")


async def recover_read_models(dsn: str, writer: ReadModelWriter[Any], lost: int, *, owner: str) -> int:
    """The current generation once the read models are there again; `lost`: the generation that was current."""
    while True:
        current = await writer.current_generation()
        if current is not None:
            return current
        if not await writer.claim_rebuild(owner, CLAIM_SECONDS):
            await asyncio.sleep(WAIT_SECONDS)  # another projector rebuilds
            continue
        renewing = asyncio.create_task(_keep_claim(writer, owner))
        try:
            log.warning("the read models of generation %d are gone; rebuilding them from the event store", lost)
            await writer.hand_out_above(lost)
            pool = await postgres_pool(dsn, 2)  # the replay reads the next batch while it applies one
            try:
                report = await rebuild(EventStore(pool), writer)
            finally:
                await pool.close()
            log.warning(
                "rebuilt %d events into generation %d in %.1f s", report.events, report.generation, report.seconds
            )
        finally:
            renewing.cancel()
            await writer.release_rebuild(owner)


async def _keep_claim(writer: ReadModelWriter[Any], owner: str) -> None:
    """Renew `owner`'s rebuild claim until cancelled. A renewal that fails is tried again at the next turn; one
    refused means another projector holds the claim now (this one stalled past it), and both rebuilding is
    harmless: each replays into a generation of its own, and the last to switch serves."""
    while True:
        await asyncio.sleep(RENEW_SECONDS)
        try:
            if not await writer.claim_rebuild(owner, CLAIM_SECONDS):
                log.warning("the rebuild claim lapsed and another projector took it; rebuilding on regardless")
                return
        except (OSError, redis.RedisError) as error:
            log.warning("could not renew the rebuild claim (%s: %s)", type(error).__name__, error)
