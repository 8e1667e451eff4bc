"""Read models the read store lost (Redis flushed, or restarted without its data), rebuilt without an operator.

A projector that finds no current generation where there was one (its batch refused as "lost", or its
heartbeat seeing none) calls `recover_read_models`: one projector claims the rebuild and replays the event
store into a generation above the lost one (bench.rebuild's replay), the others wait for it to switch.
Meanwhile readers answer 503 with Retry-After (targets/cqrs/redis_reads.py), never a 404 for data that
exists. A claim expires, so a projector that dies while rebuilding leaves the rebuild to another.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from targets.cqrs.connections import postgres_pool
from targets.cqrs.eventstore import EventStore
from targets.cqrs.readstore import ReadModelWriter
from targets.cqrs.rebuild import rebuild

CLAIM_SECONDS = 300.0  # a rebuild of millions of events fits; a dead rebuilder's claim is then taken over
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
            await writer.release_rebuild(owner)
