"""timeseries.csv: every per-second file of a run joined on the wall-clock second, with the run's phase.

Counters become rates here (PostgreSQL's are cumulative); memory is reported in MiB.
Everything is optional: a run cut short has fewer files, or empty ones, and still gets a table.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.rundir import columns, files
from bench.rundir.columns import SECOND, Resource
from bench.rundir.files import ALL
from bench.rundir.phases import Phases, phase_of

MIB = 1024 * 1024


def read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return pd.DataFrame()


LATENCY_COLUMNS = ["requests", "failures", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms", "intended_p99_ms"]


def _by_second(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index(SECOND) if SECOND in frame else pd.DataFrame()


def _latency(run: Path) -> pd.DataFrame:
    latency = read_csv(run / files.LATENCY)
    if latency.empty:
        return pd.DataFrame()
    overall = latency[latency["endpoint"] == ALL].set_index(SECOND)
    return overall[LATENCY_COLUMNS]


def _processes(run: Path) -> pd.DataFrame:
    processes = read_csv(run / files.PROCESS_SAMPLES)
    if processes.empty:
        return pd.DataFrame()
    for memory in (Resource.RSS, Resource.USS, Resource.PSS):
        processes[memory.value] = processes[memory.value.replace("_mib", "_bytes")] / MIB
    resources = [resource.value for resource in Resource]
    wide = processes.pivot_table(index=SECOND, columns="component", values=resources, aggfunc="last")
    wide.columns = [
        columns.resource_column(columns.Component(component), Resource(value))
        for value, component in _pairs(wide.columns)
    ]
    return wide


def _pairs(columns: pd.Index) -> list[tuple[str, str]]:
    """The (value, key) pairs of a pivot table's two-level columns."""
    return [(str(value), str(key)) for value, key in columns]


def _postgres(run: Path) -> pd.DataFrame:
    counters = read_csv(run / files.POSTGRES_SAMPLES)
    if counters.empty:
        return pd.DataFrame()
    counters = counters.set_index(SECOND).sort_index()
    seconds = counters.index.to_series().diff()
    rates = counters[list(columns.POSTGRES_RATES)].diff().div(seconds, axis=0)
    return rates.rename(columns=columns.POSTGRES_RATES)


def _generator(run: Path) -> pd.DataFrame:
    frames = []
    generator = read_csv(run / files.GENERATOR_SAMPLES)
    if not generator.empty:
        frames.append(generator.groupby(SECOND)["cpu_percent"].max().rename(columns.GENERATOR_CPU_MAX))
    lag = read_csv(run / files.LOOP_LAG)
    if not lag.empty:
        frames.append(lag.groupby(SECOND)["lag_max_ms"].max().rename(columns.LOOP_LAG_MAX))
    return pd.concat(frames, axis=1) if frames else pd.DataFrame()


def _visibility(run: Path) -> pd.DataFrame:
    visibility = read_csv(run / files.VISIBILITY)
    if visibility.empty:
        return pd.DataFrame()
    wide = visibility.pivot_table(index=SECOND, columns="domain", values=["probes", "p99_ms"], aggfunc="last")
    wide.columns = [columns.visibility_column(domain, value) for value, domain in _pairs(wide.columns)]
    return wide


def build_timeseries(run: Path, phases: Phases | None) -> pd.DataFrame:
    parts = [
        _by_second(read_csv(run / files.USERS)),
        _by_second(read_csv(run / files.ACTIONS)),
        _latency(run),
        _visibility(run),
        _processes(run),
        _postgres(run),
        _by_second(read_csv(run / files.PROJECTION_LAG_SAMPLES)).add_prefix("projection_"),
        _generator(run),
    ]
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame(columns=[SECOND, columns.ELAPSED, columns.PHASE])
    table = pd.concat(parts, axis=1).sort_index()
    table = table[~table.index.duplicated(keep="last")]
    table.index.name = SECOND
    times = phases or Phases()
    last = int(table.index.max())
    start = int(times.test_start) if times.test_start is not None else int(table.index.min())
    table.insert(0, columns.PHASE, [phase_of(times, int(second), last).value for second in table.index])
    table.insert(0, columns.ELAPSED, table.index - start)
    return table.reset_index()


def write_timeseries(run: Path, phases: Phases | None) -> pd.DataFrame:
    table = build_timeseries(run, phases)
    table.to_csv(run / files.TIMESERIES, index=False)
    return table
