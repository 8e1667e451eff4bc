"""faults.json: the faults a run injected, when, with what outcome, and what the supervisor restarted."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class FaultOutcome(StrEnum):
    APPLIED = "applied"
    NOT_APPLICABLE = "not_applicable"  # the arm has no such part (no projector in crud, an external server)
    FAILED = "failed"  # the harness could not inject it: the detail says why


class FaultRecord(msgspec.Struct, forbid_unknown_fields=True):
    fault: str  # as written: 'pause-projector@20s+5s'
    kind: str
    at_s: float  # asked: seconds after the load's start
    outcome: FaultOutcome
    detail: str
    started_at: float | None = None  # Unix time the fault began; None when it was not applied
    ended_at: float | None = None  # when it was over (a restart done, a pause lifted)


class RestartRecord(msgspec.Struct, forbid_unknown_fields=True):
    """A companion process (a projector) that exited and was started again, as a deployment's supervisor would."""

    component: str
    exited_at: float  # Unix time its exit was noticed
    ready_at: float | None  # when the new one was ready; None when it could not be started
    detail: str


class FaultTimeline(msgspec.Struct, forbid_unknown_fields=True):
    load_started_at: float  # Unix time of AT = 0
    faults: list[FaultRecord] = msgspec.field(default_factory=list)
    restarts: list[RestartRecord] = msgspec.field(default_factory=list)
