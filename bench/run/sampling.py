"""Once a second, every collector: process trees per component, PostgreSQL's counters, the target's /stats.

Samples are labelled with the wall-clock second they cover (the one that just ended), the
same seconds Locust's per-second histograms use, and appended to files under samples/.
A component the harness cannot see (a server or target it did not start) is recorded as
not observable, with the reason, instead of being guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO

import msgspec

from bench.run.collectors.postgres import PostgresCounters
from bench.run.collectors.processes import ChildrenTable, ProcessTreeSampler
from bench.run.collectors.target_stats import TargetStats, projection_lag
from bench.rundir import columns, files
from bench.rundir.columns import POSTGRES_COUNTERS, GeneratorRole
from bench.rundir.manifest import OBSERVED, SEEN_POSTGRES_COUNTERS, SEEN_TARGET_STATS, Observability
from bench.rundir.samples import TargetStatsSample
from scenarios.csvlog import CsvLog


@dataclass
class Component:
    name: columns.Component
    sampler: ProcessTreeSampler | None
    not_observable: str | None = None  # why there is no sampler

    @property
    def observability(self) -> Observability:
        return OBSERVED if self.sampler is not None else Observability(False, self.not_observable)


class Sampler:
    def __init__(
        self,
        run: Path,
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
        self._processes = CsvLog(run / files.PROCESS_SAMPLES, columns.PROCESSES)
        self._generator = CsvLog(run / files.GENERATOR_SAMPLES, columns.GENERATOR)
        self._postgres = CsvLog(run / files.POSTGRES_SAMPLES, columns.POSTGRES)
        self._lag = CsvLog(run / files.PROJECTION_LAG_SAMPLES, columns.PROJECTION_LAG)
        self._stats: IO[bytes] = (run / files.TARGET_STATS_SAMPLES).open("wb")

    def sample(self, second: int) -> None:
        table = ChildrenTable.read()
        for component in self.components:
            if component.sampler is None:
                continue
            tree = component.sampler.sample(table)
            if tree is not None:
                row = [
                    second,
                    component.name,
                    tree.processes,
                    tree.cpu_percent,
                    tree.rss_bytes,
                    tree.uss_bytes,
                    tree.pss_bytes,
                ]
                self._processes.write([row])
                if component.sampler is self.generator:
                    self._write_generator(second, tree.cpu_by_pid)
        if self.postgres is not None:
            counters = self.postgres.sample()
            if counters is not None:
                self._postgres.write([[second, *(counters[name] for name in POSTGRES_COUNTERS)]])
        if self.target_stats is not None:
            stats = self.target_stats.sample()
            if stats is not None:
                self._stats.write(msgspec.json.encode(TargetStatsSample(second, stats)) + b"\n")
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
            [
                second,
                pid,
                GeneratorRole.LOCAL if single else GeneratorRole.MASTER if pid in roots else GeneratorRole.WORKER,
                cpu,
            ]
            for pid, cpu in sorted(cpu_by_pid.items())
        ]
        self._generator.write(rows)

    def observability(self) -> dict[str, Observability]:
        observed = {component.name.value: component.observability for component in self.components}
        observed[SEEN_POSTGRES_COUNTERS] = (
            Observability(False, "no PostgreSQL database of this run") if self.postgres is None else OBSERVED
        )
        served = self.target_stats is not None and self.target_stats.served
        observed[SEEN_TARGET_STATS] = OBSERVED if served else Observability(False, "the target serves no /stats")
        return observed

    def close(self) -> None:
        for log in (self._processes, self._generator, self._postgres, self._lag):
            log.close()
        self._stats.close()
        if self.postgres is not None:
            self.postgres.close()
        if self.target_stats is not None:
            self.target_stats.close()
