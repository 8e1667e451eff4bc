"""Is the run's measurement trustworthy? A saturated load generator or a missed arrival rate says no.

Only the steady-state seconds count: spawning 10,000 users may well use a whole core for a
while, and that is not what the latencies of the steady state went through.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.run.timeseries import read_csv
from bench.rundir import columns, files
from bench.rundir.columns import GeneratorRole
from bench.rundir.validity import FindingKind, ProcessCpu, Validity

GENERATOR_CPU_LIMIT = 90.0  # percent of one core, per Locust process (each runs on one core)
LOOP_LAG_LIMIT_MS = 20.0  # a greenlet woken this late delays responses' timing as much
LOOP_LAG_QUANTILE = 0.9  # of the per-second maximum lag of each worker
RATE_SHORTFALL_LIMIT = 0.95  # achieved / asked open-model rate


@dataclass(frozen=True)
class _Cpu:
    name: str
    mean: float
    peak: float

    def record(self) -> ProcessCpu:
        return ProcessCpu(self.name, round(self.mean, 1), round(self.peak, 1))


def _steady(frame: pd.DataFrame, seconds: set[int]) -> pd.DataFrame:
    return frame[frame[columns.SECOND].isin(seconds)] if not frame.empty else frame


def judge(
    run: Path, steady_seconds: set[int], *, asked_rate: float | None, complete: bool, why_incomplete: str | None
) -> Validity:
    validity = Validity()
    if not complete:
        validity.invalidate(FindingKind.INCOMPLETE, f"the run did not complete: {why_incomplete}")
    if not steady_seconds:
        detail = "no steady-state second was measured (the run ended during ramp-up or warm-up)"
        validity.invalidate(FindingKind.NO_STEADY_STATE, detail)
        return validity
    lag = _steady(read_csv(run / files.LOOP_LAG), steady_seconds)
    _judge_generator_cpu(validity, _steady(read_csv(run / files.GENERATOR_SAMPLES), steady_seconds), lag)
    _judge_loop_lag(validity, lag)
    if asked_rate is not None:
        actions = _steady(read_csv(run / files.ACTIONS), steady_seconds)
        achieved = float(actions[columns.ACTION_COUNT].sum()) / len(steady_seconds) if not actions.empty else 0.0
        validity.measures.asked_rate = asked_rate
        validity.measures.achieved_rate = round(achieved, 2)
        if achieved < RATE_SHORTFALL_LIMIT * asked_rate:
            validity.invalidate(
                FindingKind.RATE_SHORTFALL,
                f"the open model achieved {achieved:,.1f} actions/s of the {asked_rate:,.1f} asked "
                f"({achieved / asked_rate:.1%}, below {RATE_SHORTFALL_LIMIT:.0%})",
            )
    return validity


def _judge_generator_cpu(validity: Validity, generator: pd.DataFrame, lag: pd.DataFrame) -> None:
    """The harness samples local Locust processes; workers elsewhere are judged by the CPU they report."""
    sampled: list[_Cpu] = []
    sampled_workers = 0
    if not generator.empty:
        by_process = generator.groupby(["pid", "role"])["cpu_percent"].agg(["mean", "max"]).reset_index()
        for row in by_process.to_dict("records"):
            sampled.append(_Cpu(f"Locust {row['role']} process {row['pid']}", float(row["mean"]), float(row["max"])))
            sampled_workers += row["role"] != GeneratorRole.MASTER
    reported: list[_Cpu] = []
    if not lag.empty and "cpu_percent" in lag:
        by_worker = lag.dropna(subset=["cpu_percent"]).groupby("worker")["cpu_percent"].agg(["mean", "max"])
        for row in by_worker.reset_index().to_dict("records"):
            name = f"Locust worker {row['worker']} (its own report)"
            reported.append(_Cpu(name, float(row["mean"]), float(row["max"])))
    judged = sampled if len(reported) <= sampled_workers else sampled + reported
    if not judged:
        return  # measures.generator_cpu stays None: not sampled
    validity.measures.generator_cpu = [process.record() for process in judged]
    for process in judged:
        if process.mean > GENERATOR_CPU_LIMIT:
            validity.invalidate(
                FindingKind.GENERATOR_CPU,
                f"the load generator saturated: {process.name} used {process.mean:.0f}% of a core on "
                f"average in the steady state (limit {GENERATOR_CPU_LIMIT:.0f}%)",
            )


def _judge_loop_lag(validity: Validity, lag: pd.DataFrame) -> None:
    """Invalid when more than 10% of a worker's steady seconds woke a greenlet over the limit late.

    Counted, not read off an interpolated 90th percentile: over 10 seconds, one late second is 10%
    (allowed), yet it would pull an interpolated 90th percentile up to a tenth of its own lag."""
    if lag.empty:
        return  # measures.loop_lag_p90_of_per_second_max_ms stays None: not sampled
    per_worker = lag.groupby("worker")["lag_max_ms"]
    quantiles = per_worker.quantile(LOOP_LAG_QUANTILE)
    late_shares = per_worker.apply(lambda worst: float((worst > LOOP_LAG_LIMIT_MS).mean()))
    by_worker = {int(str(worker)): float(value) for worker, value in quantiles.items()}
    validity.measures.loop_lag_p90_of_per_second_max_ms = {worker: round(v, 2) for worker, v in by_worker.items()}
    validity.measures.loop_lag_max_ms = {int(str(worker)): round(float(v), 2) for worker, v in per_worker.max().items()}
    allowed = 1 - LOOP_LAG_QUANTILE
    for worker, share in late_shares.items():
        if share > allowed + 1e-9:
            validity.invalidate(
                FindingKind.LOOP_LAG,
                f"the load generator's event loop lagged: in {share:.0%} of the steady seconds (more than "
                f"{allowed:.0%}), worker {worker} woke a greenlet over {LOOP_LAG_LIMIT_MS:.0f} ms late "
                f"(90th percentile of its worst delay per second: {by_worker[int(str(worker))]:.0f} ms)",
            )
