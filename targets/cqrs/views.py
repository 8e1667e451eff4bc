"""An API worker's bounded cache of the views it read lately, kept current by the projectors' announcements.

A view is cached with its stream's version and dropped as soon as a projector announces a newer
version of that stream ("stream:version" on the applied channel, which every worker follows). So a
cached view is never older than what the worker has been told, and a `?min_version=` read that the
cached view does not satisfy goes to Redis as before.

Two races are closed here rather than by timing:
- a read in flight while its stream is announced may return the view from before the announced
  version: such a read is not cached (the announced version is remembered while reads are in flight);
- announcements missed while the subscription is down: nothing is cached while it is down, everything
  is forgotten when it goes down or comes back, and a read that started in another subscription epoch
  is not cached.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=Versioned)


@dataclass(frozen=True, slots=True)
class View(Generic[V]):
    """Which view of a stream: its type and, for lists such as a statement, how many items it shows."""

    kind: type[V]
    limit: int = 0


@dataclass(frozen=True, slots=True)
class Reading:
    """A read in flight: the subscription epoch it started in."""

    stream: bytes
    epoch: int


class ViewCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity  # views held in all; 0 turns the cache off
        self.hits = 0
        self.misses = 0
        self._views: dict[bytes, dict[View[Any], Versioned]] = {}  # per stream, oldest stream first
        self._size = 0
        self._in_flight: dict[bytes, int] = {}  # streams being read, with how many reads
        self._announced: dict[bytes, int] = {}  # the newest version announced for a stream while it is read
        self._live = False  # announcements are being received
        self._epoch = 0  # changes whenever the subscription goes up or down

    def __len__(self) -> int:
        return self._size

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def get(self, stream: bytes, view: View[V]) -> V | None:
        views = self._views.get(stream)
        value = views.get(view) if views is not None else None
        if not isinstance(value, view.kind):
            if self.capacity:
                self.misses += 1
            return None
        self.hits += 1
        return value

    @contextlib.contextmanager
    def reading(self, stream: bytes) -> Iterator[Reading]:
        """Hold while a view of `stream` is read from Redis, so that an announcement meanwhile is seen."""
        self._in_flight[stream] = self._in_flight.get(stream, 0) + 1
        try:
            yield Reading(stream, self._epoch)
        finally:
            left = self._in_flight.pop(stream) - 1
            if left:
                self._in_flight[stream] = left
            else:
                self._announced.pop(stream, None)

    def put(self, reading: Reading, view: View[V], value: V) -> None:
        """Cache what `reading` returned, unless it may already be older than an announcement."""
        if not self._live or self.capacity == 0 or reading.epoch != self._epoch:
            return
        if value.version < self._announced.get(reading.stream, 0):
            return
        views = self._views.pop(reading.stream, {})  # re-inserted last: dicts keep insertion order
        if view not in views:
            self._size += 1
        views[view] = value
        self._views[reading.stream] = views
        while self._size > self.capacity:
            oldest = next(iter(self._views))
            self._size -= len(self._views.pop(oldest))

    def announced(self, stream: bytes, version: int) -> None:
        """A projector applied `stream` up to `version`: forget its older views."""
        if stream in self._in_flight:
            self._announced[stream] = max(version, self._announced.get(stream, 0))
        views = self._views.get(stream)
        if views is not None and any(value.version < version for value in views.values()):
            self._size -= len(self._views.pop(stream))

    def set_live(self, live: bool) -> None:
        """The subscription to announcements came up or went down: what was cached may have missed some."""
        self._live = live
        self._epoch += 1
        self._views.clear()
        self._size = 0
