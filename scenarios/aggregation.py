"""The master's side: merge the workers' per-second reports and write them to the run directory as they complete.

A second is final once every worker has reported past it (or when it is
`STRAGGLER_SECONDS` old: a worker that died must not hold everything back). Final seconds go
to disk at once, so that a run that is cut short keeps what it measured:

- histograms/intervals.csv: second, kind (latency | intended | visibility), name, count,
  and the merged HdrHistogram (base64 V2 encoding) of that second;
- latency.csv: per second and endpoint (and ALL), requests, failures and percentiles;
- failures.csv, visibility.csv, actions.csv, loop_lag.csv: the same seconds' counters.

The steady-state window, once known, selects the seconds summed into histograms/steady.json
(bench.rundir.steady.SteadySummary). Names and columns: bench.rundir.files and bench.rundir.columns.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from hdrh.histogram import HdrHistogram

from bench.rundir import columns, files
from bench.rundir.files import ALL
from bench.rundir.messages import WorkerReport, WorkerSecond
from bench.rundir.steady import EndpointSteady, FailureCount, Percentiles, SteadySummary, VisibilitySteady, Window
from bench.rundir.write import write_struct
from scenarios.csvlog import CsvLog
from scenarios.hdr import encode, new_histogram, summary

STRAGGLER_SECONDS = 10


@dataclass
class MergedSecond:
    latency: dict[str, HdrHistogram] = field(default_factory=dict)
    intended: dict[str, HdrHistogram] = field(default_factory=dict)
    visibility: dict[str, HdrHistogram] = field(default_factory=dict)
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    not_visible: Counter[str] = field(default_factory=Counter)
    actions: int = 0


def _add(histograms: dict[str, HdrHistogram], name: str, other: HdrHistogram) -> None:
    """Add a worker's histogram into `histograms[name]`; the first one received becomes it."""
    histogram = histograms.get(name)
    if histogram is None:
        histograms[name] = other
    else:
        histogram.add(other)


def _add_copy(histograms: dict[str, HdrHistogram], name: str, other: HdrHistogram) -> None:
    histogram = histograms.get(name)
    if histogram is None:
        histogram = histograms[name] = new_histogram()
    histogram.add(other)


def _fields(stats: Percentiles) -> dict[str, Any]:
    return msgspec.structs.asdict(stats)


def _row(stats: Percentiles) -> list[float]:
    return [getattr(stats, column) for column in columns.PERCENTILES]


def _with_overall(histograms: dict[str, HdrHistogram]) -> dict[str, HdrHistogram]:
    overall = new_histogram()
    for histogram in histograms.values():
        overall.add(histogram)
    return {ALL: overall, **histograms} if histograms else {}


class IntervalMerger:
    def __init__(self, out_dir: Path, *, expected_workers: int = 1, pause: Callable[[], None] = lambda: None) -> None:
        """`pause` is called between endpoints: in a load generator it lets other greenlets run, so that
        merging a second never holds up a response's timing for long."""
        self.out_dir = out_dir
        self.expected_workers = expected_workers
        self._pause = pause
        self.window: Window | None = None
        self._through: dict[int, int] = {}
        self._pending: dict[int, MergedSecond] = defaultdict(MergedSecond)
        self._last_final = -1
        self._steady = MergedSecond()
        self._totals: Counter[str] = Counter()
        self._steady_seconds: set[int] = set()
        self._intervals = CsvLog(out_dir / files.INTERVALS, columns.INTERVALS)
        self._latency = CsvLog(out_dir / files.LATENCY, columns.LATENCY)
        self._failures = CsvLog(out_dir / files.FAILURES, columns.FAILURES)
        self._visibility = CsvLog(out_dir / files.VISIBILITY, columns.VISIBILITY)
        self._actions = CsvLog(out_dir / files.ACTIONS, columns.ACTIONS)
        self._loop_lag = CsvLog(out_dir / files.LOOP_LAG, columns.LOOP_LAG)
        self._logs = (self._intervals, self._latency, self._failures, self._visibility, self._actions, self._loop_lag)

    def add_report(self, report: WorkerReport, *, now: float) -> None:
        for second_report in report.seconds:
            self._merge(report.worker, second_report, cpu=report.cpu)
        self._through[report.worker] = max(self._through.get(report.worker, -1), report.through)
        self.finalize(now=now)

    def _merge(self, worker: int, report: WorkerSecond, *, cpu: float | None) -> None:
        second = report.second
        if second <= self._last_final:
            second = self._last_final + 1  # a straggler's late second: counted in the next one still open
        merged = self._pending[second]
        for name, endpoint in report.endpoints.items():
            self._pause()
            _add(merged.latency, name, endpoint.latency)
            if endpoint.intended is not None:
                _add(merged.intended, name, endpoint.intended)
            for kind, count in endpoint.failures.items():
                merged.failures[(name, kind)] += count
        for domain, histogram in report.visibility.items():
            _add(merged.visibility, domain, histogram)
        merged.not_visible.update(report.not_visible)
        merged.actions += report.actions
        gc = [report.gc_pause_ms, report.gc_full_collections]
        lag = [second, worker, report.loop_lag_max_ms, report.loop_lag_mean_ms, cpu, *gc]
        self._loop_lag.write([lag])

    def finalize(self, *, now: float, everything: bool = False) -> None:
        """Write out the seconds every worker has reported past (all pending ones if `everything`)."""
        heard_from_all = len(self._through) >= self.expected_workers
        ready_through = min(self._through.values(), default=-1) if heard_from_all else -1
        for second in sorted(self._pending):
            if everything or second <= ready_through or second < now - STRAGGLER_SECONDS:
                self._write_second(second, self._pending.pop(second))
                self._last_final = max(self._last_final, second)
        for log in self._logs:
            log.flush()

    def _write_second(self, second: int, merged: MergedSecond) -> None:
        latency = _with_overall(merged.latency)
        intended = _with_overall(merged.intended)
        failures_by_endpoint: Counter[str] = Counter()
        for (name, kind), count in merged.failures.items():
            failures_by_endpoint[name] += count
            failures_by_endpoint[ALL] += count
            self._failures.write([[second, name, kind, count]])
        for kind, histograms in (("latency", latency), ("intended", intended), ("visibility", merged.visibility)):
            for name, h in histograms.items():
                if name != ALL:
                    self._pause()
                    self._intervals.write([[second, kind, name, h.get_total_count(), encode(h)]])
        for name, histogram in latency.items():
            self._pause()
            stats = summary(histogram)
            row: list[object] = [second, name, stats.count, failures_by_endpoint[name], *_row(stats)]
            if name in intended:
                late = summary(intended[name])
                row += [late.p50_ms, late.p99_ms, late.max_ms]
            else:
                row += ["", "", ""]
            self._latency.write([row])
            if name != ALL:
                self._totals[name] += stats.count
        for domain in sorted(set(merged.visibility) | set(merged.not_visible)):
            stats = summary(merged.visibility.get(domain) or new_histogram())
            probes = stats.count + merged.not_visible[domain]
            self._visibility.write([[second, domain, probes, merged.not_visible[domain], *_row(stats)]])
        self._actions.write([[second, merged.actions]])
        if self.window is not None and second in self.window:
            self._add_to_steady(second, merged)

    def _add_to_steady(self, second: int, merged: MergedSecond) -> None:
        self._steady_seconds.add(second)
        steady = self._steady
        for source, target in (
            (merged.latency, steady.latency),
            (merged.intended, steady.intended),
            (merged.visibility, steady.visibility),
        ):
            for name, histogram in source.items():
                _add_copy(target, name, histogram)
        steady.failures.update(merged.failures)
        steady.not_visible.update(merged.not_visible)
        steady.actions += merged.actions

    def steady_summary(self) -> SteadySummary:
        steady = self._steady
        failures: Counter[str] = Counter()
        for (name, _), count in steady.failures.items():
            failures[name] += count
            failures[ALL] += count

        def described(histograms: dict[str, HdrHistogram]) -> dict[str, EndpointSteady]:
            return {
                name: EndpointSteady(**_fields(summary(h)), failures=failures[name], histogram=encode(h))
                for name, h in _with_overall(histograms).items()
            }

        def visible(domain: str) -> VisibilitySteady:
            histogram = steady.visibility.get(domain) or new_histogram()
            return VisibilitySteady(
                **_fields(summary(histogram)), not_visible=steady.not_visible[domain], histogram=encode(histogram)
            )

        return SteadySummary(
            window=self.window,
            seconds_measured=len(self._steady_seconds),
            latency=described(steady.latency),
            intended=described(steady.intended),
            visibility={domain: visible(domain) for domain in [*steady.visibility, *steady.not_visible]},
            failures_by_kind=[FailureCount(name, kind, count) for (name, kind), count in steady.failures.items()],
            actions=steady.actions,
            requests_recorded_by_endpoint=dict(self._totals),
            requests_recorded=sum(self._totals.values()),
        )

    def close(self, *, now: float) -> None:
        """Write out everything still pending and the steady-state summary."""
        self.finalize(now=now, everything=True)
        write_struct(self.out_dir / files.STEADY, self.steady_summary())
        for log in self._logs:
            log.close()
