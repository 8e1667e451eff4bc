"""The validity verdict of a run and how the run ended, each finding with a kind that readers switch on.

`detail` is for people; code decides on `kind` alone.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class EndKind(StrEnum):
    FINISHED = "finished"
    INTERRUPTED = "interrupted"  # Ctrl-C
    TERMINATED = "terminated"  # a signal (SIGTERM)
    TARGET_DIED = "target_died"  # the target's API workers or one of its companions (a projector)
    SERVER_DIED = "server_died"  # the embedded PostgreSQL or Redis
    LOCUST_FAILED = "locust_failed"  # Locust exited with an error, or did not finish in time
    INFRASTRUCTURE = "infrastructure"  # a server or the target could not be started or seeded
    HARNESS_ERROR = "harness_error"  # a bug of the harness


class Ending(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: EndKind
    detail: str  # what happened, for people; its first line is a summary

    @property
    def summary(self) -> str:
        return self.detail.splitlines()[0] if self.detail else self.kind.value


FINISHED = Ending(EndKind.FINISHED, "finished")


class FindingKind(StrEnum):
    INCOMPLETE = "incomplete"  # the run did not complete (its Ending says why)
    NO_STEADY_STATE = "no_steady_state"  # no steady-state second was measured
    GENERATOR_CPU = "generator_cpu"  # a Locust process used more than the CPU limit
    LOOP_LAG = "loop_lag"  # a Locust process's event loop woke greenlets late
    RATE_SHORTFALL = "rate_shortfall"  # the open model achieved less than the asked rate


# Findings that say the load generator itself could not be trusted.
GENERATOR_FINDINGS = frozenset({FindingKind.GENERATOR_CPU, FindingKind.LOOP_LAG})


class Finding(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    kind: FindingKind
    detail: str


class ProcessCpu(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    process: str
    mean_percent: float
    max_percent: float


class ValidityMeasures(msgspec.Struct, forbid_unknown_fields=True):
    """What the verdict was judged on; None where it was not sampled."""

    generator_cpu: list[ProcessCpu] | None = None
    loop_lag_p90_of_per_second_max_ms: dict[int, float] | None = None
    loop_lag_max_ms: dict[int, float] | None = None  # each worker's latest wake-up in the steady state
    asked_rate: float | None = None
    achieved_rate: float | None = None


class Validity(msgspec.Struct, forbid_unknown_fields=True):
    valid: bool = True
    findings: list[Finding] = msgspec.field(default_factory=list)
    measures: ValidityMeasures = msgspec.field(default_factory=ValidityMeasures)

    def invalidate(self, kind: FindingKind, detail: str) -> None:
        self.valid = False
        self.findings.append(Finding(kind, detail))

    def of_kind(self, *kinds: FindingKind) -> list[Finding]:
        return [finding for finding in self.findings if finding.kind in kinds]

    @property
    def reasons(self) -> list[str]:
        return [finding.detail for finding in self.findings]

    @property
    def spoiled_by_generator(self) -> bool:
        """Invalid only because the load generator was: another run of the same load may well be valid."""
        return not self.valid and all(finding.kind in GENERATOR_FINDINGS for finding in self.findings)
