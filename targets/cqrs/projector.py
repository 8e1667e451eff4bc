"""A projector process: `python -m targets.cqrs.projector --shard I --shards N`.

It folds the events of its shard into the read models (Redis, or PostgreSQL tables:
BENCH_CQRS_READ_STORE), in (tx_id, global_position) order below the snapshot horizon, one
Lua script call or one transaction per batch with the checkpoint in it. NOTIFY wakes it
early; polling with a short back-off is the backstop.
Settings come from the environment like the API's (BENCH_PG_DSN, BENCH_REDIS_URL,
BENCH_CQRS_*); when BENCH_READY_FILE is set, the file is created once it is projecting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import uvloop

from targets.common.settings import SettingsError, TargetSettings
from targets.common.unavailable import UNREACHABLE
from targets.cqrs.connections import connect_postgres
from targets.cqrs.eventstore import Cursor, EventStore
from targets.cqrs.notify import CHANNEL
from targets.cqrs.projection import project_batch
from targets.cqrs.read_stores import open_read_store
from targets.cqrs.readstore import ApplyOptions, ReadModelWriter
from targets.cqrs.recovery import recover_read_models
from targets.cqrs.settings import CqrsSettings, require_redis_url
from targets.cqrs.shards import Shard

READY_FILE_ENV = "BENCH_READY_FILE"
RECONNECT_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0)
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    *UNREACHABLE,  # what makes an API request a 503 makes a projector reconnect
    asyncpg.InterfaceError,
    # A PostgreSQL fast shutdown tells an idle connection so while nothing awaits it; asyncpg's next
    # statement on it then fails with "cannot switch to state 12" instead of a connection error.
    asyncpg.InternalClientError,
)
STABLE_SECONDS = 30.0  # projecting this long since the last reconnect: the next failure starts the backoff over

log = logging.getLogger("targets.cqrs.projector")


class Heartbeat(msgspec.Struct, frozen=True):
    """What a projector last reported, in "<namespace>:projectors" (Redis) or read_projectors (PostgreSQL)."""

    pid: int
    generation: int
    polls: int
    batches: int
    applied: int
    horizon: int
    checkpoint: str
    at: float


class Projector:
    def __init__(
        self,
        store: EventStore,
        writer: ReadModelWriter[Any],
        shard: Shard,
        *,
        batch_size: int,
        poll_seconds: float,
        min_poll_seconds: float,
        recover: Callable[[int], Awaitable[int]],
        crash_after_batches: int = 0,
    ) -> None:
        """`recover(lost generation)`: the current generation once lost read models are rebuilt."""
        self.store = store
        self.writer = writer
        self.shard = shard
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.min_poll_seconds = min(min_poll_seconds, poll_seconds)
        self.crash_after_batches = crash_after_batches
        self.recover = recover
        self.wakeup = asyncio.Event()
        self.generation = 0
        self.cursor = Cursor(0, 0)
        self.horizon = 0
        self.polls = 0
        self.batches = 0
        self.applied = 0

    def on_notify(self, *_: Any) -> None:
        self.wakeup.set()

    async def start(self) -> None:
        generation = await self.writer.current_generation()
        if generation is None:
            # A fresh read store. Over events already stored, it is one that lost its read models (or a new
            # one for an old event store): either way they are rebuilt from the events before anyone reads.
            generation = await self.recover(0) if await self.store.has_events() else await self.writer.initialize()
        await self._use_generation(generation)

    async def _use_generation(self, generation: int) -> None:
        self.generation = generation
        self.cursor = Cursor.decode(await self.writer.checkpoint(generation, self.shard.name))
        log.info("shard %s projects generation %d from %s", self.shard.name, generation, self.cursor.encode())

    def _heartbeat(self, checkpoint: Cursor) -> bytes:
        return msgspec.json.encode(
            Heartbeat(
                pid=os.getpid(),
                generation=self.generation,
                polls=self.polls,
                batches=self.batches,
                applied=self.applied,
                horizon=self.horizon,
                checkpoint=checkpoint.encode(),
                at=time.time(),
            )
        )

    async def step(self) -> int:
        """Read and apply one batch; returns how many events it read."""
        batch = await self.store.read_batch(self.cursor, self.shard, self.batch_size)
        self.polls += 1
        self.horizon = batch.horizon
        if not batch.events:
            current = await self.writer.heartbeat(self.shard.name, self._heartbeat(self.cursor))
            if current is None:
                current = await self.recover(self.generation)
            if current > self.generation:
                await self._use_generation(current)  # a rebuild switched while this shard was idle
            return 0
        checkpoint = Cursor.after(batch.events[-1])
        self.batches += 1
        crash = 0 < self.crash_after_batches <= self.batches
        options = ApplyOptions(
            # The crash hook applies the batch but leaves the checkpoint behind, then dies:
            # the restarted projector meets these events again and must skip them all.
            checkpoint_field="" if crash else self.shard.name,
            checkpoint=checkpoint.encode(),
            heartbeat_field=self.shard.name,
            heartbeat=self._heartbeat(checkpoint),
            require_current=True,
        )
        result = await project_batch(self.store, self.writer, self.generation, batch.events, options)
        if crash:
            log.warning("crash hook: SIGKILL after applying batch %d without its checkpoint", self.batches)
            os.kill(os.getpid(), signal.SIGKILL)
        if result.lost:
            await self._use_generation(await self.recover(self.generation))
            return len(batch.events)
        if result.stale_for is not None:
            await self._use_generation(result.stale_for)  # a rebuild switched generations
            return len(batch.events)
        self.cursor = checkpoint
        self.applied += result.applied
        return len(batch.events)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = self.min_poll_seconds
        while True:
            started = loop.time()
            self.wakeup.clear()  # before reading: a NOTIFY that arrives during the read is kept
            read = await self.step()
            if read == self.batch_size:
                continue  # catching up: read on at once
            if read:
                backoff = self.min_poll_seconds
            try:
                async with asyncio.timeout(backoff):
                    await self.wakeup.wait()
                # Woken by an append; its event may still sit behind an older running
                # transaction, so keep looking often for a while.
                backoff = self.min_poll_seconds
            except TimeoutError:
                if not read:
                    backoff = min(backoff * 2, self.poll_seconds)
            # While batches come back partial, poll at most every min_poll_seconds: under a steady
            # stream of appends that gathers several events per batch instead of one per poll.
            pause = started + self.min_poll_seconds - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)


async def run_projector(shard: Shard, settings: TargetSettings, cqrs: CqrsSettings) -> None:
    """Project until cancelled. A lost connection to PostgreSQL or Redis is logged and re-made, and
    projecting resumes from the checkpoint; anything else (a corrupt store, a bug) ends the process."""
    ready_file = os.environ.get(READY_FILE_ENV)
    failures = 0
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await _project(shard, settings, cqrs, ready_file)
        except CONNECTION_ERRORS as error:
            if loop.time() - started > STABLE_SECONDS:
                failures = 0
            delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
            log.warning("lost a connection (%s: %s); reconnecting in %g s", type(error).__name__, error, delay)
            failures += 1
            await asyncio.sleep(delay)


async def _project(shard: Shard, settings: TargetSettings, cqrs: CqrsSettings, ready_file: str | None) -> None:
    dsn = settings.require_pg_dsn()
    connection = await connect_postgres(dsn, schema=True)
    try:
        read_store = await open_read_store(
            cqrs.read_store, pg_dsn=dsn, redis_url=settings.redis_url, namespace=cqrs.namespace, connections=4
        )
    except BaseException:
        connection.terminate()
        raise
    try:
        projector = Projector(
            EventStore(connection),
            read_store.writer,
            shard,
            batch_size=cqrs.batch_size,
            poll_seconds=cqrs.poll_ms / 1000,
            min_poll_seconds=cqrs.min_poll_ms / 1000,
            recover=functools.partial(
                recover_read_models, dsn, read_store.writer, owner=f"{shard.name} pid {os.getpid()}"
            ),
            crash_after_batches=cqrs.crash_after_batches,
        )
        await connection.add_listener(CHANNEL, projector.on_notify)
        await projector.start()
        if ready_file:
            await asyncio.to_thread(Path(ready_file).touch)
        await projector.run()
    finally:
        with contextlib.suppress(*CONNECTION_ERRORS):
            await read_store.close()
        connection.terminate()


def parse_args(argv: list[str] | None) -> Shard:
    parser = argparse.ArgumentParser(
        prog="python -m targets.cqrs.projector", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--shard", type=int, required=True, help="this projector's shard, 0 <= shard < shards")
    parser.add_argument("--shards", type=int, required=True, help="how many projectors share the streams")
    args = parser.parse_args(argv)
    try:
        return Shard(args.shard, args.shards)
    except ValueError as error:
        parser.error(str(error))


def main(argv: list[str] | None = None) -> None:
    shard = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s projector {shard.name} %(levelname)s %(message)s")
    try:
        settings, cqrs = TargetSettings.from_env(), CqrsSettings.from_env()
        settings.require_pg_dsn()
        if cqrs.read_store == "redis":
            require_redis_url(settings)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)

    async def until_stopped() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await run_projector(shard, settings, cqrs)

    uvloop.run(until_stopped())


if __name__ == "__main__":
    main()
