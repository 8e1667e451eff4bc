"""What each Locust worker records, per wall-clock second, and ships to the master as a report.

Every request goes into an HdrHistogram of its endpoint for the second it completed in
(and, in the open model, a second one measured from its intended start). Reports carry
only seconds that are over, as bench.rundir.messages.WorkerSecond.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from bench.rundir.messages import EndpointSecond, WorkerSecond
from scenarios.hdr import histogram_of, new_histogram, record_ms


@dataclass
class EndpointLatencies:
    """Latencies in ms as they come (appending is all a request costs); histograms once the second is over."""

    latency: list[float] = field(default_factory=list)
    intended: list[float] | None = None
    failures: Counter[str] = field(default_factory=Counter)

    def report(self) -> EndpointSecond:
        intended = histogram_of(self.intended) if self.intended is not None else None
        return EndpointSecond(histogram_of(self.latency), intended, dict(self.failures))


@dataclass
class SecondBucket:
    endpoints: dict[str, EndpointLatencies] = field(default_factory=dict)
    visibility: dict[str, HdrHistogram] = field(default_factory=dict)
    not_visible: Counter[str] = field(default_factory=Counter)
    actions: int = 0
    loop_lag_ms: list[float] = field(default_factory=list)
    gc_pause_ms: float = 0.0
    gc_full_collections: int = 0

    def report(self, second: int) -> WorkerSecond:
        lags = self.loop_lag_ms
        return WorkerSecond(
            second=second,
            endpoints={name: endpoint.report() for name, endpoint in self.endpoints.items()},
            visibility=dict(self.visibility),
            not_visible=dict(self.not_visible),
            actions=self.actions,
            loop_lag_max_ms=max(lags, default=0.0),
            loop_lag_mean_ms=sum(lags) / len(lags) if lags else 0.0,
            gc_pause_ms=self.gc_pause_ms,
            gc_full_collections=self.gc_full_collections,
        )


class IntervalRecorder:
    """Per-second histograms and counters of one worker process."""

    def __init__(self, *, open_model: bool, clock: Callable[[], float] = time.time) -> None:
        self.open_model = open_model
        self._clock = clock
        self._buckets: dict[int, SecondBucket] = {}

    def _bucket(self) -> SecondBucket:
        second = int(self._clock())
        bucket = self._buckets.get(second)
        if bucket is None:
            bucket = self._buckets[second] = SecondBucket()
        return bucket

    def record_request(
        self, name: str, response_time_ms: float, *, start_time: float, intended: float | None, failure: str | None
    ) -> None:
        bucket = self._bucket()
        endpoint = bucket.endpoints.get(name)
        if endpoint is None:
            endpoint = bucket.endpoints[name] = EndpointLatencies(intended=[] if self.open_model else None)
        endpoint.latency.append(response_time_ms)
        if endpoint.intended is not None:
            # Measured from when the schedule wanted it sent: a request held back by a busy generator or
            # a slow target still counts its wait (no coordinated omission).
            waited_ms = max(0.0, (start_time - intended) * 1000.0) if intended is not None else 0.0
            endpoint.intended.append(waited_ms + response_time_ms)
        if failure is not None:
            endpoint.failures[failure] += 1

    def record_visibility(self, domain: str, seconds: float | None) -> None:
        """A probe's time until its write was visible, or None when it never was (within the deadline)."""
        bucket = self._bucket()
        if seconds is None:
            bucket.not_visible[domain] += 1
            return
        histogram = bucket.visibility.get(domain)
        if histogram is None:
            histogram = bucket.visibility[domain] = new_histogram()
        record_ms(histogram, seconds * 1000.0)

    def record_action(self) -> None:
        self._bucket().actions += 1

    def record_loop_lag(self, milliseconds: float) -> None:
        self._bucket().loop_lag_ms.append(milliseconds)

    def record_gc_pause(self, milliseconds: float, *, full: bool) -> None:
        bucket = self._bucket()
        bucket.gc_pause_ms += milliseconds
        bucket.gc_full_collections += full

    def drain(self, *, everything: bool = False) -> tuple[int, list[WorkerSecond]]:
        """Remove the seconds that are over (all of them if `everything`) and make them reports.

        Returns the last second the reports cover completely, and the reports.
        """
        now = int(self._clock())
        through = now if everything else now - 1
        done = sorted(second for second in self._buckets if second <= through)
        return through, [self._buckets.pop(second).report(second) for second in done]
