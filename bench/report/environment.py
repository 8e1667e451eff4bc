"""Which machine, software and settings produced the runs: each distinct value once, in run order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import msgspec

from bench.report.arms import Arm
from bench.report.document import EnvironmentEntry, Machine
from bench.rundir.manifest import HostInfo

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


def environment(arms: list[Arm]) -> EnvironmentEntry:
    runs = [run for arm in arms for run in arm.runs]
    return EnvironmentEntry(
        machines=_distinct(machine_of(run.manifest.host) for run in runs),
        software=_distinct(run.manifest.software for run in runs),
        git=_distinct(run.manifest.git for run in runs),
        settings={arm.name: arm.runs[0].manifest.settings for arm in arms},
        infrastructure={arm.name: arm.runs[0].manifest.infrastructure or {} for arm in arms},
    )
