"""The manifest's placement: where the node's and the generator's processes were pinned, read back from them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence

import psutil

from bench.infra.cpus import CpuPlan, allowed_cpus, format_cpu_list
from bench.rundir.columns import Component
from bench.rundir.manifest import ComponentPlacement, Placement, PlacementKind, ProcessPlacement


def _tree(roots: Iterable[int]) -> list[psutil.Process]:
    found: dict[int, psutil.Process] = {}
    for pid in roots:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            found[root.pid] = root
            for child in root.children(recursive=True):
                found[child.pid] = child
    return [found[pid] for pid in sorted(found)]


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.Error:
        return "?"


def read_back(
    component: Component, roots: Sequence[int], asked: frozenset[int] | None, why_not: str | None = None
) -> ComponentPlacement:
    """`component`'s processes (`roots` and everything they started), each with the CPUs it says it may use."""
    processes = [ProcessPlacement(p.pid, _name(p), allowed_cpus(p.pid)) for p in _tree(roots)]
    return ComponentPlacement(component.value, sorted(asked) if asked is not None else None, processes, why_not)


def placement(plan: CpuPlan, components: Sequence[ComponentPlacement]) -> Placement:
    """The plan as it turned out: isolated only when planned so and every process was found where it was meant."""
    kind, why_not = plan.kind, plan.why_not
    strays = [
        (component.component, asked, process.pid, process.name, found)
        for component in components
        if (asked := component.asked) is not None
        for process in component.processes
        if (found := process.cpus) is not None and found != asked
    ]
    if strays:
        name, asked, pid, program, found = strays[0]
        kind = PlacementKind.NOT_AS_ASKED
        why_not = (
            f"{name} process {pid} ({program}) may run on CPUs {format_cpu_list(found)}, not only on "
            f"{format_cpu_list(asked)} as pinned"
        )
    return Placement(
        kind=kind,
        isolated=kind is PlacementKind.ISOLATED,
        node_cpus=sorted(plan.node) if plan.node is not None else None,
        generator_cpus=sorted(plan.generator) if plan.generator is not None else None,
        usable_cpus=sorted(plan.usable) if plan.usable is not None else None,
        why_not=why_not,
        components=list(components),
    )
