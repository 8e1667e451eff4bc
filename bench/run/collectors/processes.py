"""CPU and memory of process trees, sampled with psutil.

CPU is the percentage of one core used since the previous sample (so 150 = one and a half
cores). Memory is summed over the tree: RSS counts shared pages in every process that maps
them (PostgreSQL's shared buffers once per backend), so USS (private to each process) and
PSS (shared pages split between their users) are recorded too; PSS summed over a tree is
its real footprint.

Finding a tree's descendants means reading the parent of every process on the machine (psutil's
`children` reads all of /proc each call). The collector runs beside the load generator, and each
millisecond it spends is one the generator may wait for, so a sampling tick reads that table once
(`ChildrenTable.read`) and every tree is walked in it.
"""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

PROC = Path("/proc")


@dataclass(frozen=True)
class TreeSample:
    processes: int
    cpu_percent: float
    rss_bytes: int
    uss_bytes: int | None  # None where the kernel would not tell (another user's process)
    pss_bytes: int | None
    cpu_by_pid: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ChildrenTable:
    """The direct children of every process, read from one pass over the process list."""

    children: Mapping[int, Sequence[int]]

    @classmethod
    def read(cls) -> ChildrenTable:
        children: defaultdict[int, list[int]] = defaultdict(list)
        for pid, ppid in _parents():
            children[ppid].append(pid)
        return cls(children)

    def descendants(self, pid: int) -> list[int]:
        found: list[int] = []
        waiting = list(self.children.get(pid, ()))
        while waiting:
            child = waiting.pop()
            found.append(child)
            waiting.extend(self.children.get(child, ()))
        return found


def _parents() -> Iterator[tuple[int, int]]:
    """(pid, parent pid) of every process: on Linux from /proc/PID/stat alone (psutil's process_iter would
    also read each one's start time, three times the cost), elsewhere through psutil."""
    if not PROC.is_dir():
        for process in psutil.process_iter(["ppid"]):
            if (ppid := process.info.get("ppid")) is not None:
                yield process.pid, ppid
        return
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_bytes()
        except OSError:
            continue  # exited meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after its last ")".
        yield int(entry.name), int(stat.rpartition(b")")[2].split()[1])


class ProcessTreeSampler:
    """Samples `roots` and (unless `descendants` is False) everything they started.

    USS and PSS come from /proc/PID/smaps_rollup, for which the kernel walks the process's page tables
    while the collector waits: about 20 ms for a Locust process of 10,000 users, 45 ms for 26 PostgreSQL
    backends that mapped the shared buffers. The collector shares the load generator's CPU, and a burst
    that long makes the generator's event loop wake late. So with `pss` False only RSS is read (the
    harness's own processes, whose footprint is not reported), and with `pss_every` N each process's USS
    and PSS are read again every N samples, in turn, and stand in between (RSS and CPU: every sample).
    """

    def __init__(
        self,
        roots: Sequence[int],
        *,
        descendants: bool = True,
        memory: bool = True,
        pss: bool = True,
        pss_every: int = 1,
    ) -> None:
        self._roots = [psutil.Process(pid) for pid in roots if psutil.pid_exists(pid)]
        self._descendants = descendants
        self._memory = memory
        self._pss = pss
        self._pss_every = max(1, pss_every)
        self._samples = 0
        self._turns: dict[int, int] = {}  # pid -> its turn, in the order the processes were first seen
        self._shares: dict[int, tuple[int, int]] = {}  # pid -> (USS, PSS) as last read
        self._known: dict[int, psutil.Process] = {}
        self.cpu_history: list[float] = []
        self.last_pids: frozenset[int] = frozenset()  # the processes of the latest sample

    @property
    def root_pids(self) -> list[int]:
        return [root.pid for root in self._roots]

    def add_root(self, pid: int) -> None:
        """A process started in place of a root that exited (a restarted server or projector): sampled from now.
        Called from another thread: the append is atomic, and a sample that misses it takes it next time."""
        with contextlib.suppress(psutil.NoSuchProcess):
            self._roots.append(psutil.Process(pid))

    def _tree(self, table: ChildrenTable | None) -> list[psutil.Process]:
        if self._descendants and table is None:
            table = ChildrenTable.read()
        tree: list[psutil.Process] = []
        for root in self._roots:
            tree.append(root)
            if table is not None and self._descendants:
                for pid in table.descendants(root.pid):
                    with contextlib.suppress(psutil.NoSuchProcess):  # it exited since the table was read
                        tree.append(self._process(pid))
        return tree

    def _process(self, pid: int) -> psutil.Process:
        """The same object for a pid each time: cpu_percent measures since its previous call on that object."""
        known = self._known.get(pid)
        if known is None:
            known = self._known[pid] = psutil.Process(pid)
        return known

    def _footprint(self, process: psutil.Process) -> tuple[int, int | None, int | None]:
        """RSS, read now; USS and PSS as last read: each process's are read again every `pss_every` samples,
        the processes taking turns so that each sample reads about 1 / pss_every of them."""
        if not self._pss:
            return process.memory_info().rss, None, None
        turn = self._turns.setdefault(process.pid, len(self._turns))
        last = self._shares.get(process.pid)
        if last is not None and (self._samples + turn) % self._pss_every:
            return process.memory_info().rss, *last
        try:
            full = process.memory_full_info()
        except psutil.AccessDenied:  # another user's process: its smaps are closed to us
            return process.memory_info().rss, None, None
        self._shares[process.pid] = (full.uss, full.pss)
        return full.rss, full.uss, full.pss

    def sample(self, table: ChildrenTable | None = None) -> TreeSample | None:
        """One sample, or None once every root has exited. `table`: this tick's process table, shared with
        the other trees sampled in it; read here when not given."""
        cpu_by_pid: dict[int, float] = {}
        rss = 0
        uss: int | None = 0 if self._pss else None
        pss: int | None = 0 if self._pss else None
        for known in self._tree(table):
            try:
                cpu_by_pid[known.pid] = known.cpu_percent(interval=None)
                if not self._memory:
                    continue
                resident, private, proportional = self._footprint(known)
            except psutil.NoSuchProcess:
                continue
            rss += resident
            uss = None if uss is None or private is None else uss + private
            pss = None if pss is None or proportional is None else pss + proportional
        self._samples += 1
        if not cpu_by_pid:
            return None
        total = sum(cpu_by_pid.values())
        self.cpu_history.append(total)
        self.last_pids = frozenset(cpu_by_pid)
        return TreeSample(len(cpu_by_pid), total, rss, uss, pss, cpu_by_pid)
