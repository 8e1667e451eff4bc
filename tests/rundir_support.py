"""Run directory contents built in memory, for tests of the readers (no servers, no Locust)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.report.rundata import RunData
from bench.rundir.manifest import GitRevision, HostInfo, Manifest, RecordedLoad, RecordedSettings, Software
from bench.rundir.steady import EndpointSteady, SteadySummary
from bench.rundir.validity import FINISHED, Ending, Validity
from scenarios.hdr import encode, histogram_of, summary


def recorded_settings(*, users: int = 10, rate: float | None = None, target: str = "floor") -> RecordedSettings:
    load = RecordedLoad(
        scenario="banking",
        mix="balanced",
        model="open" if rate is not None else "closed",
        users=users,
        spawn_rate=float(users),
        rate=rate,
        duration=10.0,
        warmup=0.0,
        processes=1,
        think_time=None if rate is not None else (0.0, 0.0),
        skew="uniform",
        visibility_share=0.0,
        seed=1,
    )
    return RecordedSettings(
        target=target,
        host=None,
        load=load,
        target_workers=1,
        projectors=None,
        pg_pool_size=16,
        floor_delay="none",
        floor_spin_s=0.0,
        pg_dsn="embedded",
        redis_url="embedded",
        seed_spec={"accounts": 10, "entries": 2, "customers": 2, "orders": 2, "seed": 1},
        load_data=False,
        keys_dir=None,
        check_invariants=False,
    )


def manifest(
    *, complete: bool = True, ended: Ending = FINISHED, validity: Validity | None = None, users: int = 10
) -> Manifest:
    return Manifest(
        status="complete" if complete else "incomplete",
        complete=complete,
        started_at="2026-12-01T00:00:00+00:00",
        command=["bench", "run"],
        settings=recorded_settings(users=users),
        seed=1,
        host=HostInfo("test", "Linux", "x86_64", "a CPU", 2, 2, 2, 2**30, [0.0, 0.0, 0.0]),
        software=Software("3.11", "CPython", {}),
        git=GitRevision(None, None),
        ended=ended,
        validity=validity if validity is not None else Validity(),
    )


def endpoint(latencies_ms: list[float], failures: int = 0) -> EndpointSteady:
    histogram = histogram_of(latencies_ms)
    stats = summary(histogram)
    return EndpointSteady(
        count=stats.count,
        mean_ms=sum(latencies_ms) / len(latencies_ms),
        p50_ms=stats.p50_ms,
        p90_ms=stats.p90_ms,
        p95_ms=stats.p95_ms,
        p99_ms=stats.p99_ms,
        p999_ms=stats.p999_ms,
        max_ms=stats.max_ms,
        failures=failures,
        histogram=encode(histogram),
    )


def steady(
    latency: dict[str, EndpointSteady], *, seconds: int, actions: int, intended: dict[str, EndpointSteady] | None = None
) -> SteadySummary:
    return SteadySummary(
        window=None,
        seconds_measured=seconds,
        latency=latency,
        intended=intended or {},
        visibility={},
        failures_by_kind=[],
        actions=actions,
        requests_recorded_by_endpoint={name: entry.count for name, entry in latency.items()},
        requests_recorded=sum(entry.count for entry in latency.values()),
    )


def run_data(found: Manifest, measured: SteadySummary | None, path: Path = Path("run")) -> RunData:
    return RunData(path, found, measured, pd.DataFrame(), None)
