"""What a sweep measures: the arms, the load of every step, the SLOs, and how the rate is searched.

Each step is a short run on fresh infrastructure with the same seeded data set. A rate step is an
open-model run at the asked arrival rate whose users are the actions that may be in flight: one second
of arrivals (at least 10) unless the sweep fixes how many. A concurrency level is a closed-model run
of that many users at a fixed think time (0 by default: in-flight requests).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import msgspec

from bench.capacity.search import SearchPolicy
from bench.compare.experiment import DEFAULT_GENERATOR_RETRIES, Arm, Servers
from bench.report.slo import Slo
from bench.run.load import MAX_ACTIONS_PER_USER_SECOND, OPEN_MODEL_RAMP_SECONDS, open_model_users
from bench.run.settings import LoadSettings
from targets.common.dataset import SeedSpec

LEVEL_RAMP_SECONDS = 2.0  # a concurrency level's users all start within this, whatever their number
MIN_SPAWN_RATE = 20.0  # users/s: a handful of users need no ramp of seconds (steps are short)


@dataclass(frozen=True)
class SweepDefinition:
    name: str
    load: LoadSettings  # scenario, mix, skew, probes, seed, Locust processes; duration and warm-up of each step
    data: SeedSpec
    arms: tuple[Arm, ...]
    slos: tuple[Slo, ...]
    policy: SearchPolicy
    in_flight: int | None = None  # open model: most actions in flight; None: one second of arrivals
    workers: tuple[int, ...] = ()  # the rate search per target worker count; empty: each arm's own count
    concurrency: tuple[int, ...] = ()  # closed-model levels for the scalability fit; empty: none
    think_time: tuple[float, float] = (0.0, 0.0)  # of the concurrency levels
    plan_rate: float | None = None  # plan nodes for this many actions/s
    headroom: float = 0.3
    confirm_failures: bool = True  # a failing rate step is repeated; it fails only if the repeat fails too
    generator_retries: int = DEFAULT_GENERATOR_RETRIES  # times a step the load generator spoiled is run again
    servers: Servers = field(default_factory=Servers)

    def worker_counts(self, arm: Arm) -> tuple[int, ...]:
        return self.workers or (arm.workers,)

    def rate_load(self, rate: float) -> LoadSettings:
        """An open-model step at `rate` actions/s."""
        if self.in_flight is None:
            users = open_model_users(rate, None)
        else:
            users = max(self.in_flight, math.ceil(rate / MAX_ACTIONS_PER_USER_SECOND))
        users = max(users, self.load.processes)
        return replace(self.load, rate=rate, users=users, spawn_rate=_spawn_rate(users, OPEN_MODEL_RAMP_SECONDS))

    def level_load(self, users: int) -> LoadSettings:
        """A closed-model step of `users` users at the sweep's think time."""
        users = max(users, self.load.processes)
        return replace(
            self.load,
            rate=None,
            users=users,
            think_time=self.think_time,
            spawn_rate=_spawn_rate(users, LEVEL_RAMP_SECONDS),
        )

    def as_dict(self) -> dict[str, Any]:
        load = msgspec.to_builtins(self.load.as_manifest())
        for key in ("rate", "users", "spawn_rate", "think_time", "model"):
            load.pop(key, None)  # set by each step
        return {
            "name": self.name,
            "load": load,
            "data": asdict(self.data),
            "arms": [arm.as_dict() for arm in self.arms],
            "slos": [slo.text for slo in self.slos],
            "search": asdict(self.policy),
            "in_flight": self.in_flight,
            "workers": list(self.workers),
            "concurrency": list(self.concurrency),
            "think_time": list(self.think_time),
            "plan_rate": self.plan_rate,
            "headroom": self.headroom,
        }


def _spawn_rate(users: int, ramp_seconds: float) -> float:
    return max(MIN_SPAWN_RATE, users / ramp_seconds)
