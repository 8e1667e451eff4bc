"""CPU of named process trees (the load generator, the target), sampled with psutil while a benchmark runs."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

import msgspec

from bench.run.collectors.processes import ChildrenTable, ProcessTreeSampler
from bench.run.validity import GENERATOR_CPU_LIMIT

__all__ = ["GENERATOR_CPU_LIMIT", "CpuUse", "CpuWatch", "cpu_use"]


class CpuUse(msgspec.Struct, frozen=True):
    """Percent of one core (150 = one and a half cores), over the samples of the steady part."""

    mean_percent: float
    max_percent: float
    samples: int


def cpu_use(history: Sequence[float]) -> CpuUse:
    steady = list(history[2:-1]) or list(history)  # leave out the first seconds (spawning) and the last (shutdown)
    if not steady:
        return CpuUse(0.0, 0.0, 0)
    return CpuUse(statistics.fmean(steady), max(steady), len(steady))


class CpuWatch:
    """One ProcessTreeSampler per name; `sample()` once a period, `use()` at the end.

    With `descendants` False only the named processes count, not what they started (the
    benchmark's own process, whose children are the servers and the target).
    """

    def __init__(self, trees: Mapping[str, Sequence[int]], *, descendants: bool = True) -> None:
        self._samplers = {
            name: ProcessTreeSampler(pids, descendants=descendants, memory=False) for name, pids in trees.items()
        }

    def sample(self) -> None:
        table = ChildrenTable.read()
        for sampler in self._samplers.values():
            sampler.sample(table)

    def use(self) -> dict[str, CpuUse]:
        return {name: cpu_use(sampler.cpu_history) for name, sampler in self._samplers.items()}
