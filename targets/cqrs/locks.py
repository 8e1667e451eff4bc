"""Per-stream asyncio locks: commands to one stream queue up inside a worker instead of racing each other.

Not a correctness mechanism (the append's version guard is); it keeps a worker from
losing optimistic-concurrency races against itself on a hot stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator


class _Entry:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class StreamLocks:
    def __init__(self) -> None:
        self._entries: dict[uuid.UUID, _Entry] = {}

    @contextlib.asynccontextmanager
    async def hold(self, stream_id: uuid.UUID) -> AsyncIterator[None]:
        entry = self._entries.get(stream_id)
        if entry is None:
            entry = self._entries[stream_id] = _Entry()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[stream_id]

    def __len__(self) -> int:
        return len(self._entries)
