"""Which machine, software and settings produced the runs: each distinct value once, in run order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import msgspec

from bench.infra.cpus import said_cpus
from bench.report.arms import Arm
from bench.report.document import EnvironmentEntry, Machine, NodeEntry
from bench.rundir.manifest import HostInfo, Placement, PlacementKind

GIB = 1024**3
T = TypeVar("T")


def _distinct(values: Iterable[T | None]) -> list[T]:
    seen: dict[bytes, T] = {}
    for value in values:
        if value is not None:
            seen.setdefault(msgspec.json.encode(value, order="sorted"), value)
    return list(seen.values())


def machine_of(host: HostInfo) -> Machine:
    return Machine(
        hostname=host.hostname,
        system=host.system,
        machine=host.machine,
        cpu_model=host.cpu_model,
        logical_cpus=host.logical_cpus,
        physical_cores=host.physical_cores,
        usable_cpus=host.usable_cpus,
        memory_gib=round(host.memory_bytes / GIB, 1),
    )


def said(placement: Placement | None) -> str:
    """The node as the report's header states it."""
    if placement is None:
        return "node placement not recorded"
    if placement.kind is PlacementKind.CO_LOCATED:
        where = said_cpus(placement.usable_cpus) if placement.usable_cpus else "every CPU"
        return f"co-located on {where} (nothing pinned)"
    pinned = []
    if placement.node_cpus is not None:
        pinned.append(f"node: {said_cpus(placement.node_cpus)}")
    if placement.generator_cpus is not None:
        pinned.append(f"generator: {said_cpus(placement.generator_cpus)}")
    if placement.isolated:
        return "; ".join(pinned)
    return "; ".join([*pinned, f"not isolated: {placement.why_not or placement.kind.value}"])


def node_entry(placement: Placement | None) -> NodeEntry:
    if placement is None:
        return NodeEntry(None, False, None, None, None, said(None))
    return NodeEntry(
        kind=placement.kind,
        isolated=placement.isolated,
        node_cpus=placement.node_cpus,
        generator_cpus=placement.generator_cpus,
        why_not=placement.why_not,
        said=said(placement),
    )


def environment(arms: list[Arm]) -> EnvironmentEntry:
    runs = [run for arm in arms for run in arm.runs]
    return EnvironmentEntry(
        machines=_distinct(machine_of(run.manifest.host) for run in runs),
        software=_distinct(run.manifest.software for run in runs),
        git=_distinct(run.manifest.git for run in runs),
        settings={arm.name: arm.runs[0].manifest.settings for arm in arms},
        infrastructure={arm.name: arm.runs[0].manifest.infrastructure or {} for arm in arms},
        nodes={
            arm.name: node_entry(next((r.manifest.placement for r in arm.runs if r.manifest.placement), None))
            for arm in arms
        },
    )
