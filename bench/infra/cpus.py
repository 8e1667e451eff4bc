"""The node's CPUs and the generator's: CPU lists as taskset writes them, the default split, and pinning.

A list is `1`, `0,2`, `2-3` or a mix (`0,2-3`), as taskset and /proc/PID/status's
Cpus_allowed_list write it. Processes are pinned at spawn (sched_setaffinity in the child,
before exec), so that everything they start (uvicorn's workers, PostgreSQL's backends)
inherits the same CPUs.

The default split of the usable CPUs (sched_getaffinity of the harness), lowest first: the
generator gets the lowest quarter, rounded up (at least one), the node the rest. On 2 CPUs
(0, 1): generator 0, node 1; on 4: generator 0, node 1-3; on 8: generator 0-1, node 2-7.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import psutil

from bench.rundir.manifest import PlacementKind

CPU_LIST_SYNTAX = "a CPU list like 1, 0,2 or 2-3"


class PlacementError(ValueError):
    """A CPU request that cannot be met; the message says what was expected."""


def parse_cpu_list(text: str) -> frozenset[int]:
    """`0,2-3` -> {0, 2, 3}; ValueError with a sentence for anything else, an empty list included."""
    cpus: set[int] = set()
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in parts):
        raise ValueError(f"{text!r} is not a CPU list; expected {CPU_LIST_SYNTAX}, with no empty entry")
    for part in parts:
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high) if dash else int(low)
        except ValueError:
            raise ValueError(
                f"{text!r} is not a CPU list: {part!r} is no CPU number; expected {CPU_LIST_SYNTAX}"
            ) from None
        if first < 0 or last < first:
            raise ValueError(f"{text!r} is not a CPU list: {part!r} is no range; expected {CPU_LIST_SYNTAX}")
        cpus.update(range(first, last + 1))
    return frozenset(cpus)


def format_cpu_list(cpus: Iterable[int]) -> str:
    """{0, 2, 3} -> `0,2-3`, the way Cpus_allowed_list writes it."""
    ranges: list[list[int]] = []
    for cpu in sorted(set(cpus)):
        if ranges and cpu == ranges[-1][1] + 1:
            ranges[-1][1] = cpu
        else:
            ranges.append([cpu, cpu])
    return ",".join(f"{low}" if low == high else f"{low}-{high}" for low, high in ranges)


def said_cpus(cpus: Iterable[int]) -> str:
    """`CPU 1`, `CPUs 0-1`."""
    listed = sorted(set(cpus))
    return f"CPU{'s' if len(listed) != 1 else ''} {format_cpu_list(listed)}"


def can_pin() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "sched_setaffinity")


def usable_cpus() -> frozenset[int] | None:
    """The CPUs this process may run on, or None where the system does not say."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return frozenset(os.sched_getaffinity(0))


def allowed_cpus(pid: int) -> list[int] | None:
    """The CPUs process `pid` may run on, read back from the process; None when it is gone or will not say."""
    try:
        return sorted(psutil.Process(pid).cpu_affinity())
    except (psutil.Error, AttributeError, OSError):  # AttributeError: no cpu_affinity on this system
        return None


def default_split(usable: frozenset[int]) -> tuple[frozenset[int], frozenset[int]]:
    """(generator, node): the generator the lowest quarter of `usable` rounded up, the node the rest."""
    ordered = sorted(usable)
    count = max(1, math.ceil(len(ordered) / 4))
    return frozenset(ordered[:count]), frozenset(ordered[count:])


@dataclass(frozen=True)
class CpuRequest:
    """What was asked: the node's and the generator's CPUs (None: the default), or co-located (no pinning)."""

    node: frozenset[int] | None = None
    generator: frozenset[int] | None = None
    co_located: bool = False

    def overridden_by(self, other: CpuRequest) -> CpuRequest:
        """`self` (an experiment file's) with what `other` (the command line) says instead."""
        if other.co_located:
            return CpuRequest(co_located=True)
        if self.co_located and other.node is None and other.generator is None:
            return self
        return CpuRequest(
            node=other.node if other.node is not None else self.node,
            generator=other.generator if other.generator is not None else self.generator,
        )

    def check(self, usable: frozenset[int] | None = None, *, names: CpuNames | None = None) -> None:
        """Raise PlacementError unless this request can be met on `usable` (default: this process's CPUs).

        `names` are what the user wrote (options, or an experiment file's keys), for the messages.
        """
        node_name, generator_name, co_located_name = names or OPTION_NAMES
        usable = usable if usable is not None else usable_cpus()
        if self.co_located and (self.node is not None or self.generator is not None):
            raise PlacementError(
                f"{co_located_name} runs everything unpinned, sharing every CPU, so {node_name} / "
                f"{generator_name} would contradict it; expected either {co_located_name} or CPU lists"
            )
        for name, cpus in ((node_name, self.node), (generator_name, self.generator)):
            if cpus is None:
                continue
            if not cpus:
                raise PlacementError(f"{name}: the list is empty; expected {CPU_LIST_SYNTAX}")
            if usable is not None and not cpus <= usable:
                missing = format_cpu_list(cpus - usable)
                raise PlacementError(
                    f"{name} {format_cpu_list(cpus)}: this machine has no CPU {missing} that this process may "
                    f"use; expected CPUs among {format_cpu_list(usable)}"
                )
        if self.node is not None and self.generator is not None and self.node & self.generator:
            raise PlacementError(
                f"{node_name} {format_cpu_list(self.node)} and {generator_name} {format_cpu_list(self.generator)} "
                f"overlap (CPU {format_cpu_list(self.node & self.generator)}); expected lists with no CPU in "
                f"common, or {co_located_name} to share every CPU"
            )
        if usable is None or self.co_located:
            return
        if self.node is not None and self.generator is None and not usable - self.node:
            raise PlacementError(
                f"{node_name} {format_cpu_list(self.node)} takes every usable CPU, leaving none to the generator; "
                f"expected fewer CPUs, or {generator_name} too"
            )
        if self.generator is not None and self.node is None and not usable - self.generator:
            raise PlacementError(
                f"{generator_name} {format_cpu_list(self.generator)} takes every usable CPU, leaving none to the "
                f"node; expected fewer CPUs, or {node_name} too"
            )


# How the user named the node's CPUs, the generator's and co-location: (node, generator, co-located).
CpuNames = tuple[str, str, str]
OPTION_NAMES: CpuNames = ("--node-cpus", "--generator-cpus", "--co-located")


@dataclass(frozen=True)
class CpuPlan:
    """Where a run's processes go: None is "not pinned" (every CPU the harness may use)."""

    kind: PlacementKind
    node: frozenset[int] | None
    generator: frozenset[int] | None
    usable: frozenset[int] | None
    why_not: str | None = None


def plan_cpus(
    request: CpuRequest, *, external_target: str | None = None, external_servers: Iterable[str] = ()
) -> CpuPlan:
    """The placement of a run: `external_target` is the URL of a --host service, `external_servers` says
    which servers (--pg-dsn, --redis-url) run elsewhere, unpinned."""
    usable = usable_cpus()
    if request.co_located:
        return CpuPlan(PlacementKind.CO_LOCATED, None, None, usable, "co-located, as asked: nothing pinned")
    if not can_pin():
        why = f"this system ({sys.platform}) cannot pin processes to CPUs; everything shares every CPU"
        return CpuPlan(PlacementKind.NO_AFFINITY, None, None, usable, why)
    assert usable is not None
    if external_target is not None:
        why = f"the target is an external service at {external_target}; its CPUs are not this machine's to pin"
        return CpuPlan(PlacementKind.EXTERNAL_TARGET, None, request.generator, usable, why)
    if len(usable) < 2 and request.node is None and request.generator is None:
        why = f"this process may use only {said_cpus(usable)}; nothing to split between node and generator"
        return CpuPlan(PlacementKind.ONE_CPU, None, None, usable, why)
    generator, node = default_split(usable)
    if request.node is not None:
        node = request.node
        generator = request.generator if request.generator is not None else usable - node
    elif request.generator is not None:
        generator = request.generator
        node = usable - generator
    outside = list(external_servers)
    if outside:
        verb = "is an external server" if len(outside) == 1 else "are external servers"
        why = f"{' and '.join(outside)} {verb}, not pinned"
        return CpuPlan(PlacementKind.EXTERNAL_SERVER, node, generator, usable, why)
    return CpuPlan(PlacementKind.ISOLATED, node, generator, usable)
