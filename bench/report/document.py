"""summary.json: everything a report shows, as structs built from run directories alone.

It holds nothing about when or where it was built, so the same run directories always give
byte-identical summary.json files (keys sorted, as the first version wrote them).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec

from bench.infra.info import ServerInfo
from bench.rundir.checks import DataChecks
from bench.rundir.faults import FaultTimeline
from bench.rundir.manifest import GitRevision, PlacementKind, RecordedSettings, Software
from bench.rundir.writes import WriteCheck

# 3: the write capacity (capacity), the fixed-load rows/s in the database section.
FORMAT = 3


class EstimateEntry(msgspec.Struct, forbid_unknown_fields=True):
    n: int
    values: list[float]
    mean: float | None
    ci: tuple[float, float] | None
    note: str | None
    missing: str | None  # why no repetition had a value


class DeltaEntry(msgspec.Struct, forbid_unknown_fields=True):
    absolute: float | None
    relative_percent: float | None
    ci: tuple[float, float] | None
    significant: bool
    note: str | None


class MetricEntry(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    label: str
    unit: str
    better: str  # lower, higher, neutral
    section: str
    arms: dict[str, EstimateEntry]
    deltas: dict[str, DeltaEntry]  # every arm but the baseline, against it


class SloArmEntry(msgspec.Struct, forbid_unknown_fields=True):
    passed: bool
    value: float | None
    detail: str


class SloEntry(msgspec.Struct, forbid_unknown_fields=True):
    text: str
    error: str | None  # why the SLO could not be read
    metric: str | None
    arms: dict[str, SloArmEntry]


class FaultCost(msgspec.Struct, forbid_unknown_fields=True):
    """What one fault of a run cost (bench.report.faults)."""

    errors: int | None  # None: the time series has no request counts
    recovered_after_s: float | None  # None: not back by the end of the load, or not judged
    lag_peak_events: float | None  # None: the target reports no projection lag
    note: str  # why a figure is missing, or how it was judged


class RunEntry(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    arm: str
    repetition: int
    target: str | None
    host: str | None
    started_at: str
    complete: bool
    valid: bool
    reasons: list[str]
    ended: str | None
    data_checks: DataChecks | None
    data_verdict: str
    metrics: dict[str, float | None]
    missing: dict[str, str]
    write_check: WriteCheck | None = None
    faults: FaultTimeline | None = None
    fault_costs: list[FaultCost] = []  # one per fault of `faults`, in its order


class ExcludedRun(msgspec.Struct, forbid_unknown_fields=True):
    run: str
    arm: str
    repetition: int
    reasons: list[str]


class ValidityEntry(msgspec.Struct, forbid_unknown_fields=True):
    included: int
    excluded: list[ExcludedRun]
    statements: list[str]


class ArmEntry(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    runs: list[str]
    valid_runs: int


class ExperimentEntry(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None
    source: str  # "experiment": its manifests name it; "run settings": arms told apart by their settings
    arms: list[str]
    baseline: str
    repeats: int | None
    aa: bool
    slos: list[str]
    definition: dict[str, Any] | None
    overrides: list[str] = []  # `bench compare --set KEY=VALUE`, as given; the definition has their values


class Verdict(StrEnum):
    SUPPORTS = "supports"  # a significant change in the claimed direction
    CONTRADICTS = "contradicts"  # a significant change the other way
    CANNOT_TELL = "cannot tell"  # no significant change measured (the interval spans zero), or none measured


class ClaimRowEntry(msgspec.Struct, forbid_unknown_fields=True):
    metric: str
    label: str
    unit: str
    claimed_baseline: float
    claimed_optimized: float
    claimed_change_percent: float | None
    measured_baseline: float | None
    measured_optimized: float | None
    measured_change: DeltaEntry | None
    verdict: Verdict
    detail: str


class ClaimEntry(msgspec.Struct, forbid_unknown_fields=True):
    source: str
    baseline: str
    optimized: str
    rows: list[ClaimRowEntry]


class Machine(msgspec.Struct, forbid_unknown_fields=True):
    hostname: str
    system: str
    machine: str
    cpu_model: str
    logical_cpus: int | None
    physical_cores: int | None
    usable_cpus: int | None
    memory_gib: float


class NodeEntry(msgspec.Struct, forbid_unknown_fields=True):
    """Where an arm's node and load generator ran (from the first of its runs that recorded it)."""

    kind: PlacementKind | None  # None: not recorded (a run directory from before nodes were placed)
    isolated: bool
    node_cpus: list[int] | None
    generator_cpus: list[int] | None
    why_not: str | None
    said: str  # "node: CPU 1; generator: CPU 0", "co-located on CPUs 0-1", or why not isolated


class EnvironmentEntry(msgspec.Struct, forbid_unknown_fields=True):
    machines: list[Machine]
    software: list[Software]
    git: list[GitRevision]
    settings: dict[str, RecordedSettings]
    infrastructure: dict[str, dict[str, ServerInfo]]
    nodes: dict[str, NodeEntry] = msgspec.field(default_factory=dict)  # per arm


class CapacityStepEntry(msgspec.Struct, forbid_unknown_fields=True):
    """One step of an arm's write-capacity search, as the search counted it."""

    step: int
    phase: str  # start, up, down, bisect
    rate: float  # asked, actions/s
    verdict: str  # pass, fail, void
    reason: str
    achieved_rate: float | None
    writes_per_s: float | None  # acknowledged writes/s in its steady state (of the deciding run)
    runs: list[str]  # its attempts' run directories, the deciding one last


class CapacityArmEntry(msgspec.Struct, forbid_unknown_fields=True):
    measured: bool
    missing: str | None  # why there is no capacity figure
    writes_per_s: float | None  # acknowledged writes/s in the steady state of the highest passing step
    rows_per_s: float | None  # PostgreSQL rows written/s in that step, from its own counters
    rows_missing: str | None
    limit: float | None  # the highest asked rate that passed, actions/s
    bracket: tuple[float, float] | None  # (highest pass, lowest fail), actions/s
    upper: float | None  # the lowest failing rate: the limit is below it; None: no bound above was measured
    bounded_by: str | None  # bench.capacity.search.BoundedBy: slo, generator, ceiling, floor, max_steps
    generator_limit: float | None  # the lowest rate whose step was void
    explanation: str
    best_run: str | None  # the run the figures come from
    steps: list[CapacityStepEntry]


class CapacityDeltaEntry(msgspec.Struct, forbid_unknown_fields=True):
    """Arm against baseline. One search per arm gives no bootstrap interval: significant only when the
    ranges where the two limits lie ([highest pass, lowest fail) in actions/s) do not overlap."""

    absolute: float | None  # writes/s, arm minus baseline
    relative_percent: float | None
    overlap: bool | None  # None: an arm has no capacity figure
    significant: bool
    note: str


class CapacityEntry(msgspec.Struct, forbid_unknown_fields=True):
    measured: bool
    missing: str | None  # why the write capacity was not measured at all
    mix: str | None
    slos: list[str]
    arms: dict[str, CapacityArmEntry]
    deltas: dict[str, CapacityDeltaEntry]  # every arm but the baseline, against it


class Summary(msgspec.Struct, forbid_unknown_fields=True):
    format: int
    experiment: ExperimentEntry
    arms: list[ArmEntry]
    metrics: list[MetricEntry]
    slos: list[SloEntry]
    runs: list[RunEntry]
    validity: ValidityEntry
    environment: EnvironmentEntry
    capacity: CapacityEntry
    claim: ClaimEntry | None = None  # the experiment's [claim] beside the measurement

    def to_json(self) -> str:
        encoded = msgspec.json.encode(self, order="sorted")
        return msgspec.json.format(encoded, indent=2).decode() + "\n"

    @property
    def arm_names(self) -> list[str]:
        return list(self.experiment.arms)

    @property
    def baseline(self) -> str:
        return self.experiment.baseline

    def metric(self, metric_id: str) -> MetricEntry:
        found = next((metric for metric in self.metrics if metric.id == metric_id), None)
        if found is None:
            raise KeyError(f"the summary has no metric {metric_id!r}")
        return found

    def write_failures(self) -> list[str]:
        """One sentence per run whose acknowledged writes were lost or doubled, or whose readers saw otherwise."""
        return [
            f"{run.arm} repetition {run.repetition}: {run.write_check.lost:,} acknowledged writes lost, "
            f"{run.write_check.doubled:,} doubled, {run.write_check.read_side_wrong:,} accounts read otherwise"
            for run in self.runs
            if run.write_check is not None and run.write_check.passed is False
        ]

    def slo_failures(self) -> list[str]:
        """One sentence per SLO an arm failed (or that could not be read); empty when every SLO passed."""
        failures = []
        for slo in self.slos:
            if slo.error:
                failures.append(f"SLO {slo.text!r} could not be read: {slo.error}")
                continue
            for arm in self.arm_names:
                result = slo.arms[arm]
                if not result.passed:
                    failures.append(f"arm {arm} fails SLO {slo.text!r}: {result.detail}")
        return failures

    @property
    def slos_passed(self) -> bool:
        return not self.slo_failures()


def read_summary(data: bytes) -> Summary:
    return msgspec.json.decode(data, type=Summary)
