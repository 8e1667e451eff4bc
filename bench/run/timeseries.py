"""timeseries.csv: every per-second file of a run joined on the wall-clock second, with the run's phase.

Counters become rates here (PostgreSQL's are cumulative); memory is reported in MiB.
Everything is optional: a run cut short has fewer files, or empty ones, and still gets a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

MIB = 1024 * 1024
PG_RATES = {
    "xact_commit": "commits_per_s",
    "xact_rollback": "rollbacks_per_s",
    "tup_inserted": "tuples_inserted_per_s",
    "tup_updated": "tuples_updated_per_s",
    "tup_deleted": "tuples_deleted_per_s",
    "events_inserted": "events_appended_per_s",
}


@dataclass(frozen=True)
class PhaseTimes:
    test_start: float | None
    ramp_end: float | None
    steady_start: int | None
    steady_end: int | None

    @classmethod
    def from_json(cls, phases: dict[str, Any] | None) -> PhaseTimes:
        phases = phases or {}
        return cls(
            phases.get("test_start"), phases.get("ramp_end"), phases.get("steady_start"), phases.get("steady_end")
        )

    def phase_of(self, second: int, last_second: int) -> str:
        if self.test_start is None or second < int(self.test_start):
            return "setup"
        if self.ramp_end is None or second < int(self.ramp_end):
            return "ramp"
        if self.steady_start is None or second < self.steady_start:
            return "warmup"
        end = self.steady_end if self.steady_end is not None else last_second + 1
        return "steady" if second < end else "stop"


def read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return pd.DataFrame()


def _by_second(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("second") if "second" in frame else pd.DataFrame()


def _latency(run: Path) -> pd.DataFrame:
    latency = read_csv(run / "latency.csv")
    if latency.empty:
        return pd.DataFrame()
    overall = latency[latency["endpoint"] == "all"].set_index("second")
    columns = ["requests", "failures", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms", "intended_p99_ms"]
    return overall[columns]


def _processes(run: Path) -> pd.DataFrame:
    processes = read_csv(run / "samples" / "processes.csv")
    if processes.empty:
        return pd.DataFrame()
    for column in ("rss_bytes", "uss_bytes", "pss_bytes"):
        processes[column.replace("_bytes", "_mib")] = processes[column] / MIB
    wide = processes.pivot_table(index="second", columns="component",
                                 values=["cpu_percent", "rss_mib", "uss_mib", "pss_mib"], aggfunc="last")  # fmt: skip
    wide.columns = [f"{component}_{value}" for value, component in _pairs(wide.columns)]
    return wide


def _pairs(columns: pd.Index) -> list[tuple[str, str]]:
    """The (value, key) pairs of a pivot table's two-level columns."""
    return [(str(value), str(key)) for value, key in columns]


def _postgres(run: Path) -> pd.DataFrame:
    counters = read_csv(run / "samples" / "postgres.csv")
    if counters.empty:
        return pd.DataFrame()
    counters = counters.set_index("second").sort_index()
    seconds = counters.index.to_series().diff()
    rates = counters[list(PG_RATES)].diff().div(seconds, axis=0)
    return rates.rename(columns=PG_RATES)


def _generator(run: Path) -> pd.DataFrame:
    frames = []
    generator = read_csv(run / "samples" / "generator.csv")
    if not generator.empty:
        frames.append(generator.groupby("second")["cpu_percent"].max().rename("generator_cpu_max"))
    lag = read_csv(run / "loop_lag.csv")
    if not lag.empty:
        frames.append(lag.groupby("second")["lag_max_ms"].max().rename("loop_lag_max_ms"))
    return pd.concat(frames, axis=1) if frames else pd.DataFrame()


def _visibility(run: Path) -> pd.DataFrame:
    visibility = read_csv(run / "visibility.csv")
    if visibility.empty:
        return pd.DataFrame()
    wide = visibility.pivot_table(index="second", columns="domain", values=["probes", "p99_ms"], aggfunc="last")
    wide.columns = [f"visibility_{domain}_{value}" for value, domain in _pairs(wide.columns)]
    return wide


def build_timeseries(run: Path, phases: dict[str, Any] | None) -> pd.DataFrame:
    parts = [
        _by_second(read_csv(run / "users.csv")),
        _by_second(read_csv(run / "actions.csv")),
        _latency(run),
        _visibility(run),
        _processes(run),
        _postgres(run),
        _by_second(read_csv(run / "samples" / "projection_lag.csv")).add_prefix("projection_"),
        _generator(run),
    ]
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame(columns=["second", "elapsed_s", "phase"])
    table = pd.concat(parts, axis=1).sort_index()
    table = table[~table.index.duplicated(keep="last")]
    table.index.name = "second"
    times = PhaseTimes.from_json(phases)
    last = int(table.index.max())
    start = int(times.test_start) if times.test_start is not None else int(table.index.min())
    table.insert(0, "phase", [times.phase_of(int(second), last) for second in table.index])
    table.insert(0, "elapsed_s", table.index - start)
    return table.reset_index()


def write_timeseries(run: Path, phases: dict[str, Any] | None) -> pd.DataFrame:
    table = build_timeseries(run, phases)
    table.to_csv(run / "timeseries.csv", index=False)
    return table
