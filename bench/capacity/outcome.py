"""What a sweep found, arm by arm, and the plain JSON-able structure the capacity report is written from.

The structure holds nothing about when the report was written, so the same measurements always
give the same capacity.json. Run directories are named relative to the report directory.

The knee of a rate search: the highest rate measured whose p99 (from the intended start) is at most
KNEE_FACTOR times the p99 at the lowest rate measured, the next rate measured being beyond that. It
says where latency starts to climb, which is usually well below the limit at the SLO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.capacity.definition import SweepDefinition
from bench.capacity.planning import NodePlan
from bench.capacity.search import SearchPolicy, SearchResult, Step, StepOutcome, Verdict, search
from bench.capacity.usl import UslResult
from bench.compare.experiment import Arm

FORMAT = 1
KNEE_FACTOR = 2.0


@dataclass
class RateSearch:
    """The rate search of one arm at one target worker count; `result` is None until a step was measured."""

    workers: int
    outcomes: list[StepOutcome] = field(default_factory=list)
    runs: list[Path] = field(default_factory=list)
    result: SearchResult | None = None
    interrupted: bool = False

    def conclude_early(self, policy: SearchPolicy) -> None:
        """The result of the steps measured before an interruption.

        The search is deterministic, so replaying the recorded outcomes with a budget of exactly that many
        steps asks for the same rates and concludes on them.
        """
        self.interrupted = True
        if self.outcomes:
            recorded = iter(self.outcomes)
            self.result = search(lambda _rate: next(recorded), replace(policy, max_steps=len(self.outcomes)))


@dataclass(frozen=True)
class LevelPoint:
    users: int
    outcome: StepOutcome  # PASS: usable for the fit
    run: Path


@dataclass
class ConcurrencySweep:
    workers: int
    think_time: tuple[float, float]
    points: list[LevelPoint] = field(default_factory=list)
    fit: UslResult | None = None

    def usable(self) -> list[tuple[int, float]]:
        """(users, actions/s) of the valid levels: what the scalability law is fitted to."""
        return [
            (point.users, point.outcome.achieved_rate)
            for point in self.points
            if point.outcome.verdict is Verdict.PASS and point.outcome.achieved_rate is not None
        ]


@dataclass
class ArmCapacity:
    arm: Arm
    searches: list[RateSearch] = field(default_factory=list)
    concurrency: ConcurrencySweep | None = None
    scale_out_fit: UslResult | None = None  # the limit at the SLO against the worker count
    plan: NodePlan | None = None

    def limits(self) -> dict[int, float | None]:
        return {found.workers: found.result.limit if found.result else None for found in self.searches}


@dataclass
class SweepOutcome:
    report: Path
    definition: SweepDefinition
    arms: list[ArmCapacity] = field(default_factory=list)
    interrupted: bool = False
    exit_code: int | None = None  # a signal turned into SystemExit
    stopped_in: Path | None = None  # the run a signal cut short (not counted as a step)
    data: dict[str, Any] = field(default_factory=dict)  # capacity.json's structure, once the report is written


def knee(steps: tuple[Step, ...]) -> dict[str, Any]:
    measured = sorted(
        (step for step in steps if step.verdict is not Verdict.VOID and "p99_ms" in step.outcome.measures),
        key=lambda step: step.rate,
    )
    if len(measured) < 2:
        return {"rate": None, "short": "n/a", "note": "fewer than two rates measured"}
    base = measured[0].outcome.measures["p99_ms"]
    beyond = next((step for step in measured if step.outcome.measures["p99_ms"] > KNEE_FACTOR * base), None)
    if beyond is None:
        within = f"within {KNEE_FACTOR:g}x of {base:,.4g} ms up to {measured[-1].rate:,.4g}/s"
        return {"rate": None, "short": "not reached", "note": f"not reached: p99 {within}"}
    below = [step for step in measured if step.rate < beyond.rate]
    if not below:
        return {"rate": None, "short": "below the lowest rate", "note": "past the knee at the lowest rate measured"}
    return {
        "rate": below[-1].rate,
        "p99_ms": below[-1].outcome.measures["p99_ms"],
        "beyond_rate": beyond.rate,
        "beyond_p99_ms": beyond.outcome.measures["p99_ms"],
        "note": (
            f"p99 within {KNEE_FACTOR:g}x of {base:,.4g} ms (its value at {measured[0].rate:,.4g}/s) up to "
            f"{below[-1].rate:,.4g}/s; {beyond.outcome.measures['p99_ms']:,.4g} ms at {beyond.rate:,.4g}/s"
        ),
    }


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such a number becomes null, everywhere in a nested structure."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(key): _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _relative(path: Path, report: Path) -> str:
    try:
        return str(path.resolve().relative_to(report.resolve()))
    except ValueError:
        return str(path)


def _search_data(found: RateSearch, report: Path) -> dict[str, Any]:
    result = found.result
    data: dict[str, Any] = {"workers": found.workers, "interrupted": found.interrupted}
    if result is None:
        return data | {
            "limit": None,
            "bracket": None,
            "bounded_by": None,
            "generator_limit": None,
            "explanation": "interrupted before a step was measured",
            "steps": [],
            "knee": None,
        }
    data |= result.as_dict()
    for index, (step, run) in enumerate(zip(data["steps"], found.runs, strict=False), start=1):
        step["index"], step["run"] = index, _relative(run, report)
    data["knee"] = knee(result.steps)
    if found.interrupted:
        data["explanation"] = f"Interrupted after {len(result.steps)} step(s): {result.explanation}"
    return data


def _concurrency_data(found: ConcurrencySweep | None, report: Path) -> dict[str, Any] | None:
    if found is None:
        return None
    points = [
        {"users": point.users, "run": _relative(point.run, report), **_outcome(point.outcome)} for point in found.points
    ]
    return {
        "workers": found.workers,
        "think_time": list(found.think_time),
        "points": points,
        "fit": found.fit.as_dict() if found.fit is not None else None,
    }


def _outcome(outcome: StepOutcome) -> dict[str, Any]:
    return {
        "verdict": str(outcome.verdict),
        "reason": outcome.reason,
        "achieved_rate": outcome.achieved_rate,
        "measures": dict(outcome.measures),
    }


def _arm_data(found: ArmCapacity, report: Path) -> dict[str, Any]:
    return {
        "name": found.arm.name,
        "arm": found.arm.as_dict(),
        "searches": [_search_data(search, report) for search in found.searches],
        "concurrency": _concurrency_data(found.concurrency, report),
        "scale_out": {
            "limits": {str(workers): limit for workers, limit in sorted(found.limits().items())},
            "fit": found.scale_out_fit.as_dict() if found.scale_out_fit is not None else None,
        },
        "plan": found.plan.as_dict() if found.plan is not None else None,
    }


def capacity_data(outcome: SweepOutcome, machine: dict[str, Any] | None) -> dict[str, Any]:
    data = {
        "format": FORMAT,
        "sweep": outcome.definition.as_dict(),
        "latency": (
            "Rate steps (open model): latency measured from each action's intended start, so that time spent "
            "waiting for a free in-flight user counts (coordinated omission corrected); p99_uncorrected_ms is "
            "measured from the actual send. Concurrency levels (closed model): from the send."
        ),
        "machine": machine,
        "interrupted": outcome.interrupted or outcome.exit_code is not None,
        "stopped_in": _relative(outcome.stopped_in, outcome.report) if outcome.stopped_in is not None else None,
        "arms": [_arm_data(found, outcome.report) for found in outcome.arms],
    }
    finite: dict[str, Any] = _finite(data)
    return finite
