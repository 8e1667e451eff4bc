"""What the projectors, the query side and the operator jobs need of a read store (BENCH_CQRS_READ_STORE).

Two stores implement it: Redis (targets/cqrs/readmodels.py, targets/cqrs/redis_reads.py) and tables
in the event store's own PostgreSQL (targets/cqrs/pg_readmodels.py, targets/cqrs/pg_reads.py). Both keep
the same rules: an event applies iff its version is its stream's applied version + 1, a batch and its
checkpoint are written atomically, and readers switch generations atomically.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from targets.common import contract
from targets.cqrs.events import RecordedEvent

Encoded = TypeVar("Encoded")

RECONNECT_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0)

log = logging.getLogger("targets.cqrs.readstore")


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    checkpoint_field: str  # "" = leave the checkpoint where it is
    checkpoint: str
    heartbeat_field: str = ""
    heartbeat: bytes = b""
    announce: bool = True  # announce the applied versions, for readers waiting on ?min_version=
    # A projector's batch: refused (lost) when the read store has no current generation at all, which
    # means it lost its read models (Redis flushed, or restarted without its data). A rebuild's is not.
    require_current: bool = False


@dataclass(frozen=True, slots=True)
class ApplyResult:
    applied: int
    gaps: dict[uuid.UUID, int]  # stream -> its applied version, for streams whose next version was missing
    stale_for: int | None = None  # the current generation, when the batch was for an older one
    lost: bool = False  # nothing written: the read store has lost its read models (ApplyOptions.require_current)


class ReadModelWriter(Protocol[Encoded]):
    """The projectors' and the rebuild's side of a read store."""

    def encode(self, events: Sequence[RecordedEvent]) -> Encoded:
        """A batch as `apply` takes it (done apart, so that a rebuild encodes the next batch meanwhile)."""
        ...

    async def apply(self, generation: int, batch: Encoded, options: ApplyOptions) -> ApplyResult:
        """Apply a batch atomically, checkpoint and heartbeat included; refused (stale) for an old generation."""
        ...

    async def current_generation(self) -> int | None:
        """The generation readers see; None when there is none (never made, or lost with the read store)."""
        ...

    async def initialize(self) -> int:
        """Make the first generation current unless one is; the current generation."""
        ...

    async def claim_rebuild(self, owner: str, seconds: float) -> bool:
        """Become the one process that rebuilds lost read models, for at most `seconds`; whether it did."""
        ...

    async def release_rebuild(self, owner: str) -> None: ...

    async def hand_out_above(self, generation: int) -> None:
        """From now on, new_generation hands out generations above `generation` only."""
        ...

    async def checkpoint(self, generation: int, field: str) -> bytes | None:
        """The cursor stored for `field` in `generation`, else the one a rebuild left for all shards."""
        ...

    async def checkpoints(self, generation: int) -> dict[str, str]:
        """Every cursor stored in `generation`, by shard name ("all": a rebuild's)."""
        ...

    async def applied(self, generation: int) -> int:
        """Events applied to `generation` (duplicates not counted)."""
        ...

    async def heartbeat(self, field: str, value: bytes) -> int | None:
        """Record a projector's heartbeat; returns the current generation (None: the read models are lost)."""
        ...

    async def heartbeat_of(self, field: str) -> bytes | None: ...

    async def new_generation(self) -> int: ...

    async def switch_to(self, generation: int) -> bool:
        """Make `generation` current unless a newer one is; whether it switched."""
        ...

    async def drop(self, generation: int) -> int:
        """Delete what `generation` holds; returns how many keys or rows."""
        ...

    async def drop_generations_before(self, generation: int) -> int: ...

    async def held_by(self, generation: int) -> int:
        """Keys or rows `generation` holds."""
        ...


class ReadModelReader(Protocol):
    """The query side's reads of the current generation; each one sees one consistent state."""

    async def account(self, account_id: uuid.UUID) -> contract.Account | None: ...

    async def statement(self, account_id: uuid.UUID, limit: int) -> contract.Statement | None: ...

    async def order(self, order_id: uuid.UUID) -> contract.Order | None: ...

    async def customer_orders(self, customer_id: uuid.UUID, limit: int) -> contract.CustomerOrders: ...


class Announcements(Protocol):
    """Where projectors announce applied versions ("stream:version ..." payloads)."""

    async def follow(self, announced: Callable[[bytes], None], live: Callable[[bool], None]) -> None:
        """Forever: `announced(payload)` for each announcement, `live(True)` once none can be missed from
        then on, `live(False)` when some may be (the connection was lost; it is re-made)."""
        ...


async def follow_forever(
    session: Callable[[Callable[[bool], None]], Awaitable[None]],
    live: Callable[[bool], None],
    errors: tuple[type[BaseException], ...],
    what: str,
) -> None:
    """Run `session(live)` (connect, follow announcements, report `live(True)` once none can be missed) again
    after each of `errors`, with a growing pause; `live(False)` as soon as the connection is lost."""
    failures = 0

    def report(is_live: bool) -> None:
        nonlocal failures
        if is_live:
            failures = 0
        live(is_live)

    while True:
        try:
            await session(report)
        except errors as error:
            live(False)  # before the pause: announcements are being missed from now on
            log.warning("%s lost (%s); readers poll until it is back", what, error)
            await asyncio.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)])
            failures += 1
        finally:
            live(False)
