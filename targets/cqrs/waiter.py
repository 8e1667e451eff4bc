"""Waking readers that wait for a stream's read model to reach a version (?min_version=).

Projectors announce "stream:version ..." after each applied batch (Redis PUBLISH or PostgreSQL
NOTIFY, whichever store holds the read models: targets/cqrs/readstore.py); a reader registers
the stream it waits for, re-reads after registering (so a publish in between is not
missed), and re-reads when woken. It also re-reads every BACKSTOP_SECONDS, which covers
a lost subscription or a rebuild switching generations. The same announcements keep the
worker's view cache (targets/cqrs/views.py) current.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator

from targets.cqrs.readstore import Announcements
from targets.cqrs.views import ViewCache

BACKSTOP_SECONDS = 0.05


class AppliedVersions:
    def __init__(self, source: Announcements, views: ViewCache | None = None) -> None:
        self._source = source
        self._views = views if views is not None else ViewCache(0)
        self._watchers: dict[bytes, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="applied-versions")
        # Readers fall back to the backstop until the subscription stands; waiting here just
        # makes the first reads after start-up as quick as the later ones.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._subscribed.wait()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.contextmanager
    def watch(self, stream_id: uuid.UUID) -> Iterator[asyncio.Event]:
        """An event set whenever a projector announces a new version of `stream_id`."""
        key = str(stream_id).encode()
        woken = asyncio.Event()
        self._watchers.setdefault(key, set()).add(woken)
        try:
            yield woken
        finally:
            watchers = self._watchers[key]
            watchers.discard(woken)
            if not watchers:
                del self._watchers[key]

    def _announced(self, payload: bytes) -> None:
        if not self._watchers and not self._views.enabled:
            return
        for entry in payload.split(b" "):
            stream, _, version = entry.rpartition(b":")
            if not version.isdigit():
                continue  # not a projector's "stream:version": nothing to wake or drop
            self._views.announced(stream, int(version))
            watchers = self._watchers.get(stream)
            if watchers:
                for woken in watchers:
                    woken.set()

    def _live(self, live: bool) -> None:
        self._views.set_live(live)
        if live:
            self._subscribed.set()

    async def _listen(self) -> None:
        await self._source.follow(self._announced, self._live)
