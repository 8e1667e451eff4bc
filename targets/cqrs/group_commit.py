"""Group commit: the appends an API worker has pending go to PostgreSQL together, in one statement and one commit.

A batch is whatever is pending when the previous batch comes back (at most `max_batch` appends,
at most one per stream): an idle worker sends an append at once, a busy one many per round trip,
and nothing ever waits for a batch to fill. Each append keeps its own version guard and gets its
own outcome; a lost race is answered VERSION_CONFLICT and retried alone by its handler.

Durability is the single append's: every waiter is answered after its batch committed (or
failed), and a batch that fails as a whole (the connection or the server gone) fails every
waiter with that error, having written nothing. A batch that a constraint aborted (a taken
Idempotency-Key) or that lost a deadlock also wrote nothing; its appends are then sent one by
one, so each gets its exact outcome.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import asyncpg

from targets.cqrs.appends import AppendOutcome, AppendRequest, Database, append_batch, append_one

# Errors after which the batch surely rolled back and its appends are worth sending alone. Any
# other error (a lost connection above all) leaves a commit's fate unknown: never resent.
RETRIED_ALONE = (asyncpg.IntegrityConstraintViolationError, asyncpg.DeadlockDetectedError)


@dataclass(slots=True)
class _Waiting:
    request: AppendRequest
    outcome: asyncio.Future[AppendOutcome]


class GroupCommit:
    def __init__(self, db: Database, *, max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        self._db = db
        self._max_batch = max_batch
        self._pending: list[_Waiting] = []
        self._flusher: asyncio.Task[None] | None = None
        self.batches = 0  # statements sent for batches (a batch of one is the single append)
        self.appends = 0  # appends those batches carried
        self.largest_batch = 0
        self.retried_alone = 0  # appends of batches a constraint or a deadlock aborted, then sent one by one

    async def append(self, request: AppendRequest) -> AppendOutcome:
        waiting = _Waiting(request, asyncio.get_running_loop().create_future())
        self._pending.append(waiting)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="group-commit")
        return await waiting.outcome

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._take()
                if batch:
                    await self._send(batch)
        except BaseException:
            for waiting in self._pending:  # the worker is stopping: nobody will send these
                waiting.outcome.cancel()
            self._pending.clear()
            raise
        finally:
            self._flusher = None

    def _take(self) -> list[_Waiting]:
        """The next batch off the pending appends: in arrival order, one per stream, at most `max_batch`.

        A second append to a stream waits for the next batch (an UPDATE ... FROM changes a row once
        per statement); appends whose caller gave up are dropped unsent, as a cancelled single append is.
        """
        batch: list[_Waiting] = []
        deferred: list[_Waiting] = []
        streams: set[uuid.UUID] = set()
        for index, waiting in enumerate(self._pending):
            if len(batch) == self._max_batch:
                deferred.extend(self._pending[index:])
                break
            if waiting.outcome.done():
                continue
            if waiting.request.stream_id in streams:
                deferred.append(waiting)
            else:
                streams.add(waiting.request.stream_id)
                batch.append(waiting)
        self._pending = deferred
        return batch

    async def _send(self, batch: list[_Waiting]) -> None:
        self.batches += 1
        self.appends += len(batch)
        self.largest_batch = max(self.largest_batch, len(batch))
        try:
            if len(batch) == 1:
                await self._send_alone(batch[0])
            else:
                await self._send_together(batch)
        except BaseException:
            for waiting in batch:
                waiting.outcome.cancel()
            raise

    async def _send_together(self, batch: list[_Waiting]) -> None:
        try:
            outcomes = await append_batch(self._db, [waiting.request for waiting in batch])
        except RETRIED_ALONE:
            self.retried_alone += len(batch)
            for waiting in batch:
                await self._send_alone(waiting)
            return
        except Exception as error:
            for waiting in batch:
                _fail(waiting, error)
            return
        for waiting, outcome in zip(batch, outcomes, strict=True):
            _resolve(waiting, outcome)

    async def _send_alone(self, waiting: _Waiting) -> None:
        try:
            outcome = await append_one(self._db, waiting.request)
        except Exception as error:
            _fail(waiting, error)
        else:
            _resolve(waiting, outcome)


def _resolve(waiting: _Waiting, outcome: AppendOutcome) -> None:
    if not waiting.outcome.done():
        waiting.outcome.set_result(outcome)


def _fail(waiting: _Waiting, error: Exception) -> None:
    if not waiting.outcome.done():
        waiting.outcome.set_exception(error)
