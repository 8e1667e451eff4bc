"""The open-model search for the highest arrival rate that meets every SLO with a valid load generator.

Geometric steps up from the start rate until a step does not pass (or the ceiling passes), then bisection
between the highest passing rate and the lowest rate that did not pass, until that bracket is within the
resolution. If the start rate does not pass, the geometric steps go down instead, to the floor.

A void step (the load generator saturated or fell short of the rate) says nothing about the target: it
counts neither as a pass nor as a fail, but the generator cannot be trusted at or above that rate, so it
bounds the bracket from above like a fail does. If the search ends against a void step, the result says
so: the limit is at least the highest passing rate, and the generator could not go beyond the void one.

The search is deterministic: the same outcomes for the same rates give the same steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal

BoundedBy = Literal["slo", "generator", "ceiling", "floor", "max_steps"]
Phase = Literal["start", "up", "down", "bisect"]


class Verdict(StrEnum):
    PASS = "pass"  # every SLO met, generator valid  # noqa: S105 (not a password)
    FAIL = "fail"  # an SLO missed, generator valid
    VOID = "void"  # the generator was not valid: nothing learnt about the target


@dataclass(frozen=True)
class StepOutcome:
    verdict: Verdict
    reason: str  # which SLO failed, why the step is void, or what passed
    achieved_rate: float | None = None  # None when the step did not measure it
    measures: dict[str, float] = field(default_factory=dict)
    generator_spoiled: bool = False  # VOID because the load generator was not valid: another run may be

    @property
    def retryable(self) -> bool:
        return self.verdict is Verdict.VOID and self.generator_spoiled


@dataclass(frozen=True)
class Step:
    rate: float  # the asked rate
    phase: Phase
    outcome: StepOutcome

    @property
    def verdict(self) -> Verdict:
        return self.outcome.verdict

    def as_dict(self) -> dict[str, object]:
        outcome = self.outcome
        return {
            "rate": self.rate,
            "phase": self.phase,
            "verdict": str(outcome.verdict),
            "reason": outcome.reason,
            "achieved_rate": outcome.achieved_rate,
            "measures": dict(outcome.measures),
        }


@dataclass(frozen=True)
class SearchPolicy:
    """How far and how finely to search. The bracket is resolved when it is within either resolution."""

    start_rate: float
    growth: float = 2.0  # factor between geometric steps, up and down
    relative_resolution: float | None = 0.05  # of the highest passing rate
    absolute_resolution: float | None = None  # in rate units
    max_steps: int = 20
    ceiling: float | None = None  # the highest rate ever asked for; None: no ceiling
    floor: float = 1.0  # the lowest rate asked for when even the start rate does not pass
    unit: str = "actions/s"  # for the explanation only

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start_rate) and self.start_rate > 0):
            raise ValueError(f"start_rate must be a positive number, not {self.start_rate}")
        if not (math.isfinite(self.growth) and self.growth > 1):
            raise ValueError(f"growth must be a number above 1, not {self.growth}")
        if self.relative_resolution is None and self.absolute_resolution is None:
            raise ValueError("give a relative_resolution, an absolute_resolution, or both")
        for name in ("relative_resolution", "absolute_resolution"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, not {value}")
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, not {self.max_steps}")
        if not (math.isfinite(self.floor) and 0 < self.floor <= self.start_rate):
            raise ValueError(f"floor must be positive and at most the start rate {self.start_rate}, not {self.floor}")
        if self.ceiling is not None and not self.start_rate <= self.ceiling:
            raise ValueError(f"ceiling must be at least the start rate {self.start_rate}, not {self.ceiling}")

    def resolved(self, low: float, high: float) -> bool:
        tolerance = max(
            self.relative_resolution * low if self.relative_resolution is not None else 0.0,
            self.absolute_resolution if self.absolute_resolution is not None else 0.0,
        )
        return high - low <= tolerance


@dataclass(frozen=True)
class SearchResult:
    limit: float | None  # the highest passing rate; None when no rate passed
    bracket: tuple[float, float] | None  # (highest pass, lowest fail): the target's limit lies within
    bounded_by: BoundedBy
    steps: tuple[Step, ...]
    explanation: str  # one sentence
    generator_limit: float | None = None  # the lowest rate whose step was void

    @property
    def void_steps(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.verdict is Verdict.VOID)

    def as_dict(self) -> dict[str, object]:
        return {
            "limit": self.limit,
            "bracket": list(self.bracket) if self.bracket is not None else None,
            "bounded_by": self.bounded_by,
            "generator_limit": self.generator_limit,
            "explanation": self.explanation,
            "steps": [step.as_dict() for step in self.steps],
        }


@dataclass
class _Search:
    step: Callable[[float], StepOutcome]
    policy: SearchPolicy
    steps: list[Step] = field(default_factory=list)
    passed: Step | None = None  # the highest rate that passed
    failed: Step | None = None  # the lowest rate that failed
    void: Step | None = None  # the lowest rate that was void

    @property
    def blocked(self) -> Step | None:
        """The lowest rate that did not pass: the top of the bracket being narrowed."""
        candidates = [step for step in (self.failed, self.void) if step is not None]
        return min(candidates, key=lambda step: step.rate) if candidates else None

    @property
    def budget_left(self) -> bool:
        return len(self.steps) < self.policy.max_steps

    def probe(self, rate: float, phase: Phase) -> Verdict:
        taken = Step(rate, phase, self.step(rate))
        self.steps.append(taken)
        if taken.verdict is Verdict.PASS:
            if self.passed is None or rate > self.passed.rate:
                self.passed = taken
        elif taken.verdict is Verdict.FAIL:
            if self.failed is None or rate < self.failed.rate:
                self.failed = taken
        elif self.void is None or rate < self.void.rate:
            self.void = taken
        return taken.verdict

    def geometric(self) -> None:
        policy, rate = self.policy, self.policy.start_rate
        if self.probe(rate, "start") is Verdict.PASS:
            ceiling = policy.ceiling if policy.ceiling is not None else math.inf
            while self.blocked is None and rate < ceiling and self.budget_left:
                rate = min(rate * policy.growth, ceiling)
                self.probe(rate, "up")
        else:
            while self.passed is None and rate > policy.floor and self.budget_left:
                rate = max(rate / policy.growth, policy.floor)
                self.probe(rate, "down")

    def bisect(self) -> None:
        while self.passed is not None and (blocked := self.blocked) is not None:
            if self.policy.resolved(self.passed.rate, blocked.rate) or not self.budget_left:
                return
            self.probe((self.passed.rate + blocked.rate) / 2, "bisect")


def search(step: Callable[[float], StepOutcome], policy: SearchPolicy) -> SearchResult:
    """Run steps until the highest rate that meets every SLO is known within the policy's resolution."""
    state = _Search(step, policy)
    state.geometric()
    state.bisect()
    return _conclude(state)


def _conclude(state: _Search) -> SearchResult:
    policy, passed, failed, void, blocked = state.policy, state.passed, state.failed, state.void, state.blocked
    if passed is not None and blocked is not None and policy.resolved(passed.rate, blocked.rate):
        bounded_by: BoundedBy = "slo" if blocked.verdict is Verdict.FAIL else "generator"
    elif passed is not None and blocked is None and policy.ceiling is not None and passed.rate >= policy.ceiling:
        bounded_by = "ceiling"
    elif passed is None and blocked is not None and blocked.rate <= policy.floor:
        bounded_by = "floor" if blocked.verdict is Verdict.FAIL else "generator"
    else:
        bounded_by = "max_steps"
    return SearchResult(
        limit=passed.rate if passed is not None else None,
        bracket=(passed.rate, failed.rate) if passed is not None and failed is not None else None,
        bounded_by=bounded_by,
        steps=tuple(state.steps),
        explanation=_explain(bounded_by, state),
        generator_limit=void.rate if void is not None else None,
    )


def _explain(bounded_by: BoundedBy, state: _Search) -> str:
    passed, failed, void, blocked, steps = state.passed, state.failed, state.void, state.blocked, len(state.steps)

    # Each sentence names only steps that its case guarantees exist.
    def at(step: Step | None) -> str:
        assert step is not None
        value = f"{step.rate:,.0f}" if step.rate >= 100 else f"{step.rate:,.3g}"
        return f"{value} {state.policy.unit}"

    def why(step: Step | None) -> str:
        assert step is not None
        return step.outcome.reason

    failed_too = f", and the SLO failed at {at(failed)} ({why(failed)})" if failed is not None else ""
    if bounded_by == "slo":
        return f"The limit is {at(passed)}, within the resolution of {at(failed)}, which failed ({why(failed)})."
    if bounded_by == "generator" and passed is not None:
        return (
            f"The limit is at least {at(passed)}, the highest rate that met every SLO; the load generator could not "
            f"go beyond {at(void)} ({why(void)}){failed_too}."
        )
    if bounded_by == "generator":
        return f"No rate passed: the load generator could not produce even {at(void)} ({why(void)}){failed_too}."
    if bounded_by == "ceiling":
        return f"Every SLO was met at the ceiling of {at(passed)}, so the limit is at least that; raise the ceiling."
    if bounded_by == "floor":
        return f"Even the floor rate of {at(failed)} failed the SLO ({why(failed)}), so the limit is below it."
    if passed is not None and blocked is not None:
        return (
            f"After the maximum of {steps} steps the limit lies between {at(passed)}, which passed, and "
            f"{at(blocked)}, which did not ({why(blocked)}): a bracket wider than the resolution."
        )
    if passed is not None:
        return f"After the maximum of {steps} steps every rate passed, up to {at(passed)}: the limit is at least that."
    return f"After the maximum of {steps} steps no rate had passed, down to {at(blocked)} ({why(blocked)})."


def confirm_failures(step: Callable[[float], StepOutcome]) -> Callable[[float], StepOutcome]:
    """`step`, except that a FAIL counts only when a repeat at the same rate does not pass.

    One stall of a shared machine (seen here: every endpoint of a healthy target at 270 ms for one
    second of a 15-second step) is enough to break a p99; a limit should not rest on it. A repeat that
    passes decides; a repeat that fails, or says nothing (void), leaves the first FAIL standing.
    """

    def confirmed(rate: float) -> StepOutcome:
        first = step(rate)
        if first.verdict is not Verdict.FAIL:
            return first
        repeat = step(rate)
        if repeat.verdict is Verdict.PASS:
            return replace(repeat, reason=f"{repeat.reason}; on a repeat: the first run failed ({first.reason})")
        if repeat.verdict is Verdict.FAIL:
            return replace(repeat, reason=f"failed twice: {repeat.reason} (first run: {first.reason})")
        return replace(first, reason=f"{first.reason} (its repeat was void: {repeat.reason})")

    return confirmed


def retry_spoiled(step: Callable[[float], StepOutcome], retries: int) -> Callable[[float], StepOutcome]:
    """`step`, except that a step the load generator spoiled is run again, up to `retries` times.

    A lagging event loop or a saturated Locust core says nothing about the target, and on a shared machine
    it comes and goes (a neighbour's burst, a garbage collection that lands in an 8-second step); the
    first run that is not spoiled decides. When every run is spoiled, the step stays void.
    """

    def retried(rate: float) -> StepOutcome:
        spoiled: list[StepOutcome] = []
        outcome = step(rate)
        while outcome.retryable and len(spoiled) < retries:
            spoiled.append(outcome)
            outcome = step(rate)
        if not spoiled:
            return outcome
        before = f"{len(spoiled)} earlier run(s) spoiled by the load generator, the first: {spoiled[0].reason}"
        return replace(outcome, reason=f"{outcome.reason} (after {before})")

    return retried


def measured_step(
    attempt: Callable[[float], StepOutcome], *, confirm: bool, retries: int
) -> Callable[[float], StepOutcome]:
    """One search step from single runs: spoiled runs retried, then (with `confirm`) a failure confirmed."""
    retried = retry_spoiled(attempt, retries) if retries else attempt
    return confirm_failures(retried) if confirm else retried
