"""A run's settings, checked once: what `bench run` and `bench calibrate` hand to the orchestration."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.faults.spec import FaultSpec
from bench.infra.cpus import CpuRequest
from bench.infra.urls import redact_url
from bench.rundir.manifest import RecordedLoad, RecordedSettings
from scenarios.keys import Skew
from targets.common.dataset import SeedSpec
from targets.registry import get_target

if TYPE_CHECKING:
    from bench.run.kept_seeds import SeedStore


@dataclass(frozen=True)
class LoadSettings:
    scenario: str
    mix: str
    users: int  # closed model: the population; open model: how many requests may be in flight
    spawn_rate: float
    rate: float | None  # open model: actions per second over all Locust processes
    duration: float  # steady-state seconds measured
    warmup: float  # seconds after the ramp that are run but not summarized
    processes: int  # Locust processes generating load (more than 1: a master plus this many workers)
    think_time: tuple[float, float]
    skew: Skew
    visibility_share: float
    seed: int

    @property
    def open_model(self) -> bool:
        return self.rate is not None

    @property
    def ramp_seconds(self) -> float:
        return self.users / self.spawn_rate

    def expected_seconds(self) -> float:
        return self.ramp_seconds + self.warmup + self.duration

    def as_manifest(self) -> RecordedLoad:
        return RecordedLoad(
            scenario=self.scenario,
            mix=self.mix,
            model="open" if self.open_model else "closed",
            users=self.users,
            spawn_rate=self.spawn_rate,
            rate=self.rate,
            duration=self.duration,
            warmup=self.warmup,
            processes=self.processes,
            think_time=None if self.open_model else self.think_time,
            skew=str(self.skew),
            visibility_share=self.visibility_share,
            seed=self.seed,
        )


@dataclass(frozen=True)
class RunSettings:
    load: LoadSettings
    target: str | None  # None with an external --host
    host: str | None
    out: Path
    seed_spec: SeedSpec
    load_data: bool = True  # False (--no-seed): only the key files of the data set are written
    workers: int = 1
    projectors: int = 1
    query_workers: int = 0  # processes of the target's query side apart from the API workers; 0: none
    pg_pool_size: int = 16
    floor_delay: str = "none"
    floor_spin: float = 0.0  # seconds at the end of each floor delay awaited by yielding (calibration)
    target_settings: Mapping[str, str] = field(default_factory=dict)  # more of the target's settings, by env name
    pg_dsn: str | None = None
    redis_url: str | None = None
    keys_dir: Path | None = None  # key files of an earlier seed, instead of seeding
    check_invariants: bool = False  # after the load: is the target's data still right? (bench compare)
    cpus: CpuRequest = field(
        default_factory=CpuRequest
    )  # the node's and the generator's CPUs (default: split the usable ones)
    seed_store: SeedStore | None = None  # one seed of each data set for a command's runs; None: each run seeds
    faults: tuple[FaultSpec, ...] = ()  # injected under load (bench.faults)

    @property
    def label(self) -> str:
        return f"{self.target or 'host'}-{self.load.scenario}-{self.load.mix}"

    def deadline_seconds(self) -> float:
        """How long Locust may take before the harness gives up on it: generously more than planned."""
        return math.ceil(self.load.expected_seconds() * 1.5) + 120

    def _has_companions(self) -> bool:
        return self.target is not None and get_target(self.target).companion is not None

    def as_manifest(self) -> RecordedSettings:
        return RecordedSettings(
            target=self.target,
            host=self.host,
            load=self.load.as_manifest(),
            target_workers=self.workers,
            query_workers=self.query_workers,
            projectors=self.projectors if self._has_companions() else None,
            pg_pool_size=self.pg_pool_size,
            floor_delay=self.floor_delay if self.target == "floor" else None,
            floor_spin_s=self.floor_spin if self.target == "floor" else None,
            target_settings=dict(self.target_settings),
            pg_dsn=redact_url(self.pg_dsn) if self.pg_dsn else "embedded",
            redis_url=redact_url(self.redis_url) if self.redis_url else "embedded",
            seed_spec=asdict(self.seed_spec),
            load_data=self.load_data,
            keys_dir=str(self.keys_dir) if self.keys_dir is not None else None,
            check_invariants=self.check_invariants,
            faults=[fault.text for fault in self.faults],
        )
