"""Once a second, every collector: process trees per component, PostgreSQL's counters, the target's /stats.

Samples are labelled with the wall-clock second they cover (the one that just ended), the
same seconds Locust's per-second histograms use, and appended to files under samples/.
A component the harness cannot see (a server or target it did not start) is recorded as
not observable, with the reason, instead of being guessed at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import msgspec

from bench.run.collectors.postgres import COUNTER_NAMES, PostgresCounters
from bench.run.collectors.processes import ProcessTreeSampler
from bench.run.collectors.target_stats import TargetStats, projection_lag
from scenarios.csvlog import CsvLog

PROCESS_COLUMNS = ["second", "component", "processes", "cpu_percent", "rss_bytes", "uss_bytes", "pss_bytes"]


@dataclass
class Component:
    name: str
    sampler: ProcessTreeSampler | None
    not_observable: str | None = None  # why there is no sampler

    @property
    def observability(self) -> str:
        return "observed" if self.sampler is not None else f"not observable: {self.not_observable}"


class Sampler:
    def __init__(
        self,
        samples_dir: Path,
        components: list[Component],
        *,
        generator: ProcessTreeSampler | None,
        postgres: PostgresCounters | None,
        target_stats: TargetStats | None,
    ) -> None:
        self.components = components
        self.generator = generator
        self.postgres = postgres
        self.target_stats = target_stats
        self._processes = CsvLog(samples_dir / "processes.csv", PROCESS_COLUMNS)
        self._generator = CsvLog(samples_dir / "generator.csv", ["second", "pid", "role", "cpu_percent"])
        self._postgres = CsvLog(samples_dir / "postgres.csv", ["second", *COUNTER_NAMES])
        self._lag = CsvLog(samples_dir / "projection_lag.csv", ["second", "events_behind", "seconds_behind"])
        self._stats: IO[str] = (samples_dir / "target_stats.jsonl").open("w")

    def sample(self, second: int) -> None:
        for component in self.components:
            if component.sampler is None:
                continue
            tree = component.sampler.sample()
            if tree is not None:
                row = [second, component.name, tree.processes, tree.cpu_percent, tree.rss_bytes, tree.uss_bytes,
                       tree.pss_bytes]  # fmt: skip
                self._processes.write([row])
                if component.sampler is self.generator:
                    self._write_generator(second, tree.cpu_by_pid)
        if self.postgres is not None:
            counters = self.postgres.sample()
            if counters is not None:
                self._postgres.write([[second, *(counters[name] for name in COUNTER_NAMES)]])
        if self.target_stats is not None:
            stats = self.target_stats.sample()
            if stats is not None:
                self._stats.write(json.dumps({"second": second, "stats": msgspec.to_builtins(stats)}) + "\n")
                lag = projection_lag(stats)
                if lag is not None:
                    self._lag.write([[second, *lag]])
        for log in (self._processes, self._generator, self._postgres, self._lag):
            log.flush()
        self._stats.flush()

    def _write_generator(self, second: int, cpu_by_pid: dict[int, float]) -> None:
        assert self.generator is not None
        roots = self.generator.root_pids
        single = len(cpu_by_pid) == 1
        rows = [
            [second, pid, "local" if single else "master" if pid in roots else "worker", cpu]
            for pid, cpu in sorted(cpu_by_pid.items())
        ]
        self._generator.write(rows)

    def observability(self) -> dict[str, str]:
        observed = {component.name: component.observability for component in self.components}
        observed["postgres_counters"] = (
            "not observable: no PostgreSQL database of this run" if self.postgres is None else "observed"
        )
        served = self.target_stats is not None and self.target_stats.served
        observed["target_stats"] = "observed" if served else "not observable: the target serves no /stats"
        return observed

    def close(self) -> None:
        for log in (self._processes, self._generator, self._postgres, self._lag):
            log.close()
        self._stats.close()
        if self.postgres is not None:
            self.postgres.close()
        if self.target_stats is not None:
            self.target_stats.close()
