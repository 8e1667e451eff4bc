"""phases.json: the wall-clock times (epoch seconds) of a run's phases, as the Locust master saw them.

ramp (spawning users) -> warmup -> steady (measured) -> stopping -> done. The steady window is in
whole seconds, the clock `bench run` samples its collectors on.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Phase(StrEnum):
    STARTING = "starting"
    RAMP = "ramp"
    WARMUP = "warmup"
    STEADY = "steady"
    STOPPING = "stopping"
    DONE = "done"


class Phases(msgspec.Struct, forbid_unknown_fields=True):
    test_start: float | None = None
    ramp_end: float | None = None
    schedule_start: float | None = None  # open model: when the arrival schedule began
    steady_start: int | None = None
    steady_end: int | None = None
    stop: float | None = None
    phase: Phase = Phase.STARTING
    users: int = 0
    target_users: int = 0


class SecondPhase(StrEnum):
    """The phase a second of the time series belongs to (timeseries.csv's phase column)."""

    SETUP = "setup"
    RAMP = "ramp"
    WARMUP = "warmup"
    STEADY = "steady"
    STOP = "stop"


def phase_of(phases: Phases, second: int, last_second: int) -> SecondPhase:
    if phases.test_start is None or second < int(phases.test_start):
        return SecondPhase.SETUP
    if phases.ramp_end is None or second < int(phases.ramp_end):
        return SecondPhase.RAMP
    if phases.steady_start is None or second < phases.steady_start:
        return SecondPhase.WARMUP
    end = phases.steady_end if phases.steady_end is not None else last_second + 1
    return SecondPhase.STEADY if second < end else SecondPhase.STOP
