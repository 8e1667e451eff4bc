"""Rebuilding the read models: replay the whole event store into a fresh generation, then switch to it.

The replay uses the projectors' own writer (Redis or PostgreSQL), in big batches, reading and
encoding the next batch while the read store applies the current one. When it has caught up with the horizon it
leaves its cursor as the checkpoint "all" and makes its generation current in one atomic
step. Readers see the new generation from their next read on; running projectors find out
on their next batch (the script refuses writes to an older generation) and continue from
that checkpoint. The keys (rows) of older generations are deleted last.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from targets.cqrs.events import RecordedEvent
from targets.cqrs.eventstore import START, Batch, Cursor, EventStore
from targets.cqrs.projection import fill_gaps
from targets.cqrs.readstore import ApplyOptions, ApplyResult, ReadModelWriter
from targets.cqrs.shards import ALL

DEFAULT_BATCH_SIZE = 2_000


@dataclass(frozen=True)
class RebuildReport:
    generation: int
    previous_generation: int
    switched: bool  # False when an even newer rebuild switched first
    events: int
    seconds: float
    dropped_keys: int

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


class NoEventStore(RuntimeError):
    pass


async def rebuild(
    store: EventStore,
    writer: ReadModelWriter[Any],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> RebuildReport:
    """Replay every event into a new generation and switch to it.

    `store` must run two queries at once (be backed by a pool): the next batch is read while the
    current one is applied, which may read missing versions.
    """
    if not await store.exists():
        raise NoEventStore("there is no event store here: the database has no `events` table")
    previous = await writer.current_generation() or 0  # 0: there was none
    generation = await writer.new_generation()
    started = time.perf_counter()
    events = 0
    # Three stages overlap: PostgreSQL reads batch k+1 and Python encodes it while the store applies batch k.
    # Batch k+1 is sent only once batch k is applied, so each stream's versions arrive in order.
    reading: asyncio.Task[Batch] = asyncio.create_task(store.read_batch(START, ALL, batch_size))
    applying: asyncio.Task[ApplyResult] | None = None
    applying_events: list[RecordedEvent] = []
    applying_options = ApplyOptions(checkpoint_field="all", checkpoint="")
    try:
        while True:
            batch = await reading
            if batch.events:
                cursor = Cursor.after(batch.events[-1])
                reading = asyncio.create_task(store.read_batch(cursor, ALL, batch_size))
                payload = writer.encode(batch.events)
            if applying is not None:
                result = await applying
                await fill_gaps(store, writer, generation, applying_events, result, applying_options)
                events += len(applying_events)
                if progress is not None:
                    progress(events)
            if not batch.events:
                break
            applying_events = batch.events
            applying_options = ApplyOptions(checkpoint_field="all", checkpoint=cursor.encode(), announce=False)
            applying = asyncio.create_task(writer.apply(generation, payload, applying_options))
    finally:
        for task in (reading, applying):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    seconds = time.perf_counter() - started
    switched = await writer.switch_to(generation)
    dropped = await writer.drop_generations_before(generation) if switched else await writer.drop(generation)
    return RebuildReport(generation, previous, switched, events, seconds, dropped)
