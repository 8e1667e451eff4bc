"""CPU and memory of process trees, sampled with psutil.

CPU is the percentage of one core used since the previous sample (so 150 = one and a half
cores). Memory is summed over the tree: RSS counts shared pages in every process that maps
them (PostgreSQL's shared buffers once per backend), so USS (private to each process) and
PSS (shared pages split between their users) are recorded too; PSS summed over a tree is
its real footprint.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import psutil


@dataclass(frozen=True)
class TreeSample:
    processes: int
    cpu_percent: float
    rss_bytes: int
    uss_bytes: int | None  # None where the kernel would not tell (another user's process)
    pss_bytes: int | None
    cpu_by_pid: dict[int, float] = field(default_factory=dict)


class ProcessTreeSampler:
    """Samples `roots` and (unless `descendants` is False) everything they started."""

    def __init__(self, roots: Sequence[int], *, descendants: bool = True, memory: bool = True) -> None:
        self._roots = [psutil.Process(pid) for pid in roots if psutil.pid_exists(pid)]
        self._descendants = descendants
        self._memory = memory
        self._known: dict[int, psutil.Process] = {}
        self.cpu_history: list[float] = []

    @property
    def root_pids(self) -> list[int]:
        return [root.pid for root in self._roots]

    def _tree(self) -> list[psutil.Process]:
        tree: list[psutil.Process] = []
        for root in self._roots:
            with contextlib.suppress(psutil.NoSuchProcess):
                tree.append(root)
                if self._descendants:
                    tree.extend(root.children(recursive=True))
        return tree

    def sample(self) -> TreeSample | None:
        """One sample, or None once every root has exited."""
        cpu_by_pid: dict[int, float] = {}
        rss = 0
        uss: int | None = 0
        pss: int | None = 0
        for process in self._tree():
            known = self._known.setdefault(process.pid, process)  # cpu_percent needs the same object each time
            try:
                cpu_by_pid[process.pid] = known.cpu_percent(interval=None)
                if not self._memory:
                    continue
                try:
                    full = known.memory_full_info()
                    rss += full.rss
                    uss = None if uss is None else uss + full.uss
                    pss = None if pss is None else pss + full.pss
                except psutil.AccessDenied:
                    rss += known.memory_info().rss
                    uss = pss = None
            except psutil.NoSuchProcess:
                continue
        if not cpu_by_pid:
            return None
        total = sum(cpu_by_pid.values())
        self.cpu_history.append(total)
        return TreeSample(len(cpu_by_pid), total, rss, uss, pss, cpu_by_pid)
