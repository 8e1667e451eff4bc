"""What each fault of a run cost, read from its time series: the errors it caused, how long until the service was
back to what it was before, and how far the projections fell behind.

Before: the seconds of the load (after the ramp) up to the fault's start, at least MIN_BEFORE of them. Back:
the first second from the fault's start that begins RECOVERED_FOR seconds in a row with no failures, at least
THROUGHPUT_SHARE of the throughput before (median requests/s) and a p90 no higher than the 95th percentile of
the per-second p90s before. Errors: the failed requests from the fault's start to that second (to the end of
the load, or the next fault, when it never came back). Every figure counts the seconds up to the next fault.
"""

from __future__ import annotations

import math

import pandas as pd

from bench.report.document import FaultCost
from bench.rundir import columns
from bench.rundir.faults import FaultRecord
from bench.rundir.phases import SecondPhase

MIN_BEFORE = 3
RECOVERED_FOR = 3
THROUGHPUT_SHARE = 0.9
LATENCY_QUANTILE = 0.95

LOADED = frozenset({SecondPhase.WARMUP, SecondPhase.STEADY})


def fault_costs(faults: list[FaultRecord], timeseries: pd.DataFrame) -> list[FaultCost]:
    """Each fault's cost, judged up to the next applied fault's start (what follows is the next one's)."""
    starts = sorted(fault.started_at for fault in faults if fault.started_at is not None)
    return [
        fault_cost(fault, timeseries, until=next((at for at in starts if at > (fault.started_at or 0)), None))
        for fault in faults
    ]


def fault_cost(fault: FaultRecord, timeseries: pd.DataFrame, *, until: float | None = None) -> FaultCost:
    """`until`: the Unix time from which the seconds belong to another fault; None: to the end of the load."""
    if fault.started_at is None:
        return FaultCost(None, None, None, "not applied")
    needed = {columns.SECOND, columns.PHASE, "requests", "failures", "p90_ms"}
    if timeseries.empty or not needed <= set(timeseries.columns):
        return FaultCost(None, None, None, "the run has no per-second requests to judge it by")
    start = math.floor(fault.started_at)
    loaded = timeseries[timeseries[columns.PHASE].isin(LOADED)].sort_values(columns.SECOND)
    before = loaded[loaded[columns.SECOND] < start]
    after = loaded[loaded[columns.SECOND] >= start]
    if until is not None:
        after = after[after[columns.SECOND] < math.floor(until)]
    end = "the next fault" if until is not None else "the end of the load"
    lag = _lag_peak(after)
    if len(before) < MIN_BEFORE:
        errors = int(after["failures"].fillna(0).sum())
        return FaultCost(errors, None, lag, f"fewer than {MIN_BEFORE} loaded seconds before it: recovery not judged")
    throughput = float(before["requests"].fillna(0).median())
    latency = float(before["p90_ms"].dropna().quantile(LATENCY_QUANTILE)) if before["p90_ms"].notna().any() else None
    good = (
        (after["failures"].fillna(0) == 0)
        & (after["requests"].fillna(0) >= THROUGHPUT_SHARE * throughput)
        & ((after["p90_ms"] <= latency) if latency is not None else True)
    ).tolist()
    seconds = after[columns.SECOND].astype(int).tolist()
    back = next(
        (i for i in range(len(good) - RECOVERED_FOR + 1) if all(good[i : i + RECOVERED_FOR])),
        None,
    )
    if back is None:
        errors = int(after["failures"].fillna(0).sum())
        return FaultCost(errors, None, lag, f"not back to its throughput and latency before by {end}")
    errors = int(after["failures"].fillna(0).iloc[:back].sum())
    bar = f"{THROUGHPUT_SHARE:.0%} of {throughput:,.0f} requests/s"
    said = f"back: no failures, {bar}" + (f", p90 <= {latency:,.1f} ms" if latency is not None else "")
    return FaultCost(errors, float(seconds[back] - start), lag, said)


def _lag_peak(after: pd.DataFrame) -> float | None:
    column = columns.PROJECTION_EVENTS_BEHIND
    if column not in after or not after[column].notna().any():
        return None
    return float(after[column].max())
