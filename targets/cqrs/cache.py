"""The decision state of recently written streams, so that most commands need no read before their append.

Safe however stale: a stream's state is a function of its version, and the append
is guarded by the version the decision was made against, so a decision made on an
outdated entry fails its guard and is made again on a fresh read.
"""

from __future__ import annotations

import uuid

from targets.cqrs.state import StreamState


class StateCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._states: dict[uuid.UUID, StreamState] = {}

    def get(self, stream_id: uuid.UUID) -> StreamState | None:
        return self._states.get(stream_id)

    def put(self, stream_id: uuid.UUID, state: StreamState) -> None:
        if self.capacity == 0:
            return
        self._states.pop(stream_id, None)  # re-inserted last: dicts keep insertion order, the oldest goes first
        self._states[stream_id] = state
        if len(self._states) > self.capacity:
            del self._states[next(iter(self._states))]

    def drop(self, stream_id: uuid.UUID) -> None:
        self._states.pop(stream_id, None)

    def __len__(self) -> int:
        return len(self._states)
