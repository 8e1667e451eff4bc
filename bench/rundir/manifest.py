"""manifest.json: what produced a run (settings, machine, software, servers) and how it went.

`bench run` writes it at the start and rewrites it as the run goes; FORMAT is the version of the
whole run directory, checked by every reader (bench.rundir.read).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

import msgspec

from bench.infra.info import ServerInfo
from bench.rundir.phases import Phases
from bench.rundir.validity import Ending, Validity

# 1: the first version, validity reasons as sentences. 2: findings and endings with kinds, typed files.
FORMAT = 2


class RecordedLoad(msgspec.Struct, forbid_unknown_fields=True):
    scenario: str
    mix: str
    model: Literal["open", "closed"]
    users: int  # closed model: the population; open model: how many actions may be in flight
    spawn_rate: float
    rate: float | None  # open model: actions per second
    duration: float
    warmup: float
    processes: int
    think_time: tuple[float, float] | None  # closed model only
    skew: str
    visibility_share: float
    seed: int


class RecordedSettings(msgspec.Struct, forbid_unknown_fields=True):
    target: str | None  # None: an external service at `host`
    host: str | None
    load: RecordedLoad
    target_workers: int
    projectors: int | None
    pg_pool_size: int
    floor_delay: str | None
    floor_spin_s: float | None
    pg_dsn: str  # "embedded", or the DSN without its password
    redis_url: str
    seed_spec: dict[str, int]
    load_data: bool
    keys_dir: str | None
    check_invariants: bool
    target_settings: dict[str, str] = {}  # an arm's `settings`: more of the target's settings, by env name
    query_workers: int = 0  # the target's query side in processes of its own (served at query_url); 0: none
    faults: list[str] = []  # injected under load, as written (faults.json has what happened)


class HostInfo(msgspec.Struct, forbid_unknown_fields=True):
    hostname: str
    system: str
    machine: str
    cpu_model: str
    logical_cpus: int | None
    physical_cores: int | None
    usable_cpus: int | None
    memory_bytes: int
    load_average_at_start: list[float]


class Software(msgspec.Struct, forbid_unknown_fields=True):
    python: str
    implementation: str
    packages: dict[str, str | None]


class GitRevision(msgspec.Struct, forbid_unknown_fields=True):
    revision: str | None
    dirty: bool | None


class ExperimentTag(msgspec.Struct, forbid_unknown_fields=True):
    """Which arm and repetition of which `bench compare` experiment the run was."""

    name: str
    arm: str
    arm_index: int
    repetition: int
    repeats: int
    arms: list[str]
    baseline: str
    slos: list[str]
    aa: bool
    definition: dict[str, Any]  # the experiment as its file gave it, every default filled in
    attempt: int = 1  # 2, 3, ...: the repetition run again because the load generator spoiled the one before


class SweepTag(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which step of which `bench sweep` the run was."""

    name: str
    arm: str
    workers: int
    kind: Literal["rate", "concurrency"]
    slos: list[str]
    step: int | None = None
    rate: float | None = None
    attempt: int | None = None
    users: int | None = None


class CapacityTag(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which attempt of which step of the write-capacity search of a `bench compare` arm the run was.

    It carries the search's policy and SLOs, so that the search's result can be derived again from the
    step runs alone (bench.report.capacity replays the search on their verdicts).
    """

    experiment: str
    arm: str
    arm_index: int
    step: int  # 1, 2, ... in the order the search asked for them
    attempt: int  # 2, 3, ...: a repeat after a spoiled run (generator_retries) or a failure (confirm_failures)
    rate: float  # the asked arrival rate, actions/s
    mix: str
    slos: list[str]
    start_rate: float
    growth: float
    resolution: float
    max_steps: int
    confirm_failures: bool
    generator_retries: int = 0  # runs spoiled by the load generator were run again up to this many times


class SeedRecord(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    spec: dict[str, int] | None = None
    rows: dict[str, int] | None = None
    seconds: float | None = None
    key_files: list[str] | None = None
    keys_from: str | None = None  # --keys: the key files of an earlier seed
    through_api: bool = False  # --host: seeded through the service's HTTP API
    copied: bool = False  # servers started as copies of the command's one seed (bench.run.kept_seeds)


class Observability(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    observed: bool
    why_not: str | None = None

    @property
    def said(self) -> str:
        return "observed" if self.observed else f"not observable: {self.why_not}"


OBSERVED = Observability(True)
# Observability keys besides the components' names.
SEEN_POSTGRES_COUNTERS = "postgres_counters"  # PostgreSQL's statistics views
SEEN_TARGET_STATS = "target_stats"  # the target's /stats


class ChecksVerdict(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    checked: bool
    passed: bool | None


class CountCheck(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Histograms hold every request Locust counted: the same request events feed both."""

    locust_requests: int | None
    histogram_requests: int | None

    @property
    def histograms_match_locust(self) -> bool:
        return self.locust_requests is not None and self.locust_requests == self.histogram_requests


class CalibrationPointRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    percentile: float
    configured_ms: float
    expected_with_own_time_ms: float
    measured_ms: float
    error_ms: float
    net_error_ms: float
    tolerance_ms: float
    within_tolerance: bool
    net_within_tolerance: bool


class PlacementKind(StrEnum):
    """Where the node's processes and the generator's ran; readers switch on it (`why_not` is for people)."""

    ISOLATED = "isolated"  # node and generator pinned to CPUs of their own, every process found where it was meant
    CO_LOCATED = "co_located"  # asked for (--co-located): nothing pinned, everything shares every CPU
    ONE_CPU = "one_cpu"  # one usable CPU: nothing to split
    NO_AFFINITY = "no_affinity"  # the system cannot pin processes (not Linux)
    EXTERNAL_TARGET = "external_target"  # --host: the node is not this machine's to pin
    EXTERNAL_SERVER = "external_server"  # --pg-dsn / --redis-url: that server runs unpinned, elsewhere
    NOT_AS_ASKED = "not_as_asked"  # a process was read back on other CPUs than it was pinned to


class ProcessPlacement(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pid: int
    name: str
    cpus: list[int] | None  # read back from the process itself; None: it would not say (gone, not allowed)


class ComponentPlacement(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The CPUs one component (bench.rundir.columns.Component) was pinned to, and where its processes were found."""

    component: str
    asked: list[int] | None  # None: not pinned
    processes: list[ProcessPlacement]
    why_not: str | None = None  # why it was not pinned, or its processes not seen

    @property
    def as_asked(self) -> bool:
        return self.asked is None or all(p.cpus == self.asked for p in self.processes if p.cpus is not None)


class Placement(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The node (the system under test) and the load generator on this machine's CPUs."""

    kind: PlacementKind
    isolated: bool  # node and generator on CPUs of their own, as read back from every process
    node_cpus: list[int] | None  # None: the node's processes were not pinned
    generator_cpus: list[int] | None  # None: Locust was not pinned
    usable_cpus: list[int] | None  # those this machine let the harness use (sched_getaffinity), None: unknown
    why_not: str | None = None  # a sentence, when not isolated
    components: list[ComponentPlacement] = msgspec.field(default_factory=list)


class Manifest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    format: int = FORMAT
    status: Literal["running", "complete", "incomplete"] = "running"
    complete: bool = False
    started_at: str
    command: list[str]
    settings: RecordedSettings
    seed: int
    host: HostInfo
    software: Software
    git: GitRevision
    experiment: ExperimentTag | None = None
    sweep: SweepTag | None = None
    capacity: CapacityTag | None = None
    infrastructure: dict[str, ServerInfo] | None = None
    seed_data: SeedRecord | None = None
    base_url: str | None = None
    query_url: str | None = None  # where the reads went, when not to base_url (the query workers)
    observability: dict[str, Observability] | None = None
    invariants: ChecksVerdict | None = None
    acknowledged_writes: ChecksVerdict | None = None  # acknowledged.json's verdict
    ended: Ending | None = None
    ended_at: str | None = None
    duration_s: float | None = None
    phases: Phases | None = None
    validity: Validity | None = None
    checks: CountCheck | None = None
    files: list[str] = msgspec.field(default_factory=list)
    calibration: list[CalibrationPointRecord] | None = None
    placement: Placement | None = None  # absent in run directories written before the node was placed
