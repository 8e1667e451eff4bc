"""histograms/steady.json: the steady state's merged histograms and their summaries, written by the Locust master."""

from __future__ import annotations

import msgspec


class Percentiles(msgspec.Struct, forbid_unknown_fields=True):
    """scenarios.hdr.summary of one histogram: milliseconds, zeros when it is empty."""

    count: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float

    def stat_ms(self, stat: str) -> float:
        """The statistic named like the report's ("mean", "p50", ... "p999")."""
        value: float = getattr(self, f"{stat}_ms")
        return value


class EndpointSteady(Percentiles, forbid_unknown_fields=True):
    failures: int
    histogram: str  # HdrHistogram, compressed base64 V2


class VisibilitySteady(Percentiles, forbid_unknown_fields=True):
    not_visible: int  # probes whose write never became visible within the deadline
    histogram: str


class FailureCount(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    endpoint: str
    kind: str  # "HTTP 409", or the exception's type name
    count: int


class Window(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Whole wall-clock seconds [start, end) of the steady state."""

    start: int
    end: int

    def __contains__(self, second: object) -> bool:
        return isinstance(second, int) and self.start <= second < self.end


class SteadySummary(msgspec.Struct, forbid_unknown_fields=True):
    window: Window | None
    seconds_measured: int
    latency: dict[str, EndpointSteady]  # by endpoint, and ALL
    intended: dict[str, EndpointSteady]  # open model: measured from each action's intended start
    visibility: dict[str, VisibilitySteady]  # by domain
    failures_by_kind: list[FailureCount]
    actions: int
    requests_recorded_by_endpoint: dict[str, int]
    requests_recorded: int

    def requests_per_second(self, endpoint: str) -> float | None:
        found = self.latency.get(endpoint)
        return found.count / self.seconds_measured if found is not None and self.seconds_measured else None

    @property
    def actions_per_second(self) -> float | None:
        return self.actions / self.seconds_measured if self.seconds_measured else None
