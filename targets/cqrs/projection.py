"""Applying a batch of events to the read models, filling gaps from the event store (projector and rebuild)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from targets.cqrs.events import RecordedEvent
from targets.cqrs.eventstore import EventStore, stream_ranges
from targets.cqrs.readstore import ApplyOptions, ApplyResult, ReadModelWriter


class MissingEvents(RuntimeError):
    """The event store lacks versions between a read model and an event: the store is corrupt."""


async def project_batch(
    store: EventStore,
    writer: ReadModelWriter[Any],
    generation: int,
    events: Sequence[RecordedEvent],
    options: ApplyOptions,
) -> ApplyResult:
    """Apply `events`, with the checkpoint in the same script call or transaction, filling any gap."""
    result = await writer.apply(generation, writer.encode(events), options)
    return await fill_gaps(store, writer, generation, events, result, options)


async def fill_gaps(
    store: EventStore,
    writer: ReadModelWriter[Any],
    generation: int,
    events: Sequence[RecordedEvent],
    result: ApplyResult,
    options: ApplyOptions,
) -> ApplyResult:
    """After `result` reported gaps (streams whose read model is more than one version behind an event
    of `events`), read the missing versions and apply them ahead of `events`, again in one call:
    what the first call applied comes round as duplicates, which the writer skips."""
    if not result.gaps or result.stale_for is not None:
        return result
    missing = await store.read_versions(stream_ranges(events, result.gaps))
    second = await writer.apply(generation, writer.encode([*missing, *events]), options)
    if second.gaps:
        streams = ", ".join(f"{stream} after version {version}" for stream, version in second.gaps.items())
        raise MissingEvents(f"the event store has no next event for: {streams}")
    return dataclasses.replace(second, applied=result.applied + second.applied)
