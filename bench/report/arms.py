"""Runs grouped into arms: by the experiment section that `bench compare` writes, else by target and settings.

Without an experiment section each distinct (target, settings) is an arm, named after its
target plus the settings that set it apart from other arms of the same target; arms are in
the order their first run started, and the first is the baseline.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from bench.report.rundata import RunData

UNCOMPARED_SETTINGS = frozenset({"keys_dir"})  # differ between runs of the same configuration


@dataclass(frozen=True)
class Arm:
    name: str
    runs: tuple[RunData, ...]  # in repetition order

    @property
    def included(self) -> tuple[RunData, ...]:
        """The runs whose figures count: complete and valid."""
        return tuple(run for run in self.runs if run.valid)


def _flatten(settings: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in settings.items():
        if key in UNCOMPARED_SETTINGS:
            continue
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", json.dumps(value, sort_keys=True)


def _base_name(run: RunData) -> str:
    settings = run.manifest.settings
    return settings.target or settings.host or "unknown target"


def _label_arms(runs: list[RunData]) -> list[tuple[str, list[RunData]]]:
    configurations: dict[tuple[str, tuple[tuple[str, str], ...]], list[RunData]] = {}
    for run in sorted(runs, key=lambda r: (r.manifest.started_at, r.name)):
        flat = tuple(sorted(_flatten(msgspec.to_builtins(run.manifest.settings))))
        configurations.setdefault((_base_name(run), flat), []).append(run)
    named = []
    for (base, flat), members in configurations.items():
        siblings = [dict(other) for (other_base, other), _ in configurations.items() if other_base == base]
        differing = [(key, value) for key, value in flat if any(other.get(key) != value for other in siblings)]
        shown = ", ".join(f"{key}={json.loads(value)}" for key, value in differing)
        named.append((f"{base} ({shown})" if shown else base, members))
    return named


def group_arms(runs: list[RunData]) -> list[Arm]:
    from_experiment: dict[str, list[RunData]] = {}
    order: dict[str, int] = {}
    unlabelled = []
    for run in runs:
        experiment = run.experiment
        if experiment is None:
            unlabelled.append(run)
            continue
        name, index = experiment.arm, experiment.arm_index
        from_experiment.setdefault(name, []).append(run)
        order[name] = min(order.get(name, index), index)
    arms = [
        Arm(name, tuple(sorted(members, key=lambda run: (_repetition(run), run.name))))
        for name, members in sorted(from_experiment.items(), key=lambda item: (order[item[0]], item[0]))
    ]
    taken = {arm.name for arm in arms}
    for name, members in _label_arms(unlabelled):
        while name in taken:
            name += "'"
        taken.add(name)
        arms.append(Arm(name, tuple(members)))
    return arms


def _repetition(run: RunData) -> int:
    return run.experiment.repetition if run.experiment is not None else 0


def repetition_of(run: RunData, arm: Arm) -> int:
    return _repetition(run) if run.experiment else arm.runs.index(run)
