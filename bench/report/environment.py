"""Which machine, software and settings produced the runs: each distinct value once, in run order."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from bench.report.arms import Arm

GIB = 1024**3
HOST_KEYS = ("hostname", "system", "machine", "cpu_model", "logical_cpus", "physical_cores", "usable_cpus")


def _distinct(values: Iterable[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for value in values:
        if value is not None:
            seen.setdefault(json.dumps(value, sort_keys=True), value)
    return list(seen.values())


def machine_of(host: dict[str, Any]) -> dict[str, Any]:
    machine = {key: host.get(key) for key in HOST_KEYS}
    memory = host.get("memory_bytes")
    machine["memory_gib"] = round(memory / GIB, 1) if isinstance(memory, int | float) else None
    return machine


def environment(arms: list[Arm]) -> dict[str, Any]:
    runs = [run for arm in arms for run in arm.runs]
    return {
        "machines": _distinct(machine_of(run.manifest.get("host") or {}) for run in runs),
        "software": _distinct(run.manifest.get("software") for run in runs),
        "git": _distinct(run.manifest.get("git") for run in runs),
        "settings": {arm.name: arm.runs[0].manifest.get("settings") for arm in arms},
        "infrastructure": {arm.name: arm.runs[0].manifest.get("infrastructure") for arm in arms},
    }
