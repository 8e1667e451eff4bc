"""The write capacity of each arm, derived from the step runs of `bench compare`'s capacity search alone.

Each step run carries a CapacityTag (bench.rundir.manifest): its step and attempt, the asked rate, the
search's policy and SLOs. The search (bench.capacity.search) is deterministic, so it is run again here on
the verdicts of the recorded runs (bench.capacity.steps judges each from its files, as the comparison did):
the same steps, the same result. A step cut short by a signal was not counted and is skipped; a search
that was interrupted concludes on the steps it completed.

The figure is the rate of acknowledged writes (successful POSTs, bench.report.groups WRITES) per second
in the steady state of the highest passing step, with PostgreSQL's rows written per second in that step
beside it. A search gives a bracket, not a confidence interval: two arms differ significantly only when
the ranges where their limits lie do not overlap.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from bench.capacity.search import SearchPolicy, SearchResult, StepOutcome, Verdict, measured_step, search
from bench.capacity.steps import judge_rate_step
from bench.report.document import CapacityArmEntry, CapacityDeltaEntry, CapacityEntry, CapacityStepEntry
from bench.report.groups import WRITES, members
from bench.report.metrics import DB_WRITES, run_metrics
from bench.report.rundata import RunData
from bench.report.slo import parse_slo
from bench.rundir.manifest import CapacityTag
from bench.rundir.validity import EndKind

CUT_SHORT = frozenset({EndKind.INTERRUPTED, EndKind.TERMINATED})  # not counted as a step by the search
NO_TABLE = "not measured: the experiment has no [capacity] table (the search for each arm's highest write rate)"
NO_STEPS = (
    "not measured: no step run of the capacity search was given (the comparison stopped before it, or its "
    "capacity/<arm>/runs/ were left out)"
)
NO_EXPERIMENT = "not measured: these runs are no `bench compare` experiment with a [capacity] table"


def tag_of(run: RunData) -> CapacityTag | None:
    return run.manifest.capacity


class _Exhausted(Exception):
    """The search asks for an attempt that was never run (the comparison was interrupted)."""


@dataclass
class _Replay:
    by_step: dict[int, list[RunData]]
    slos: list[str]
    taken: list[list[RunData]]  # per completed step, its attempts

    def outcomes(self, policy: SearchPolicy, first: CapacityTag) -> SearchResult:
        slos = [parse_slo(text) for text in self.slos]
        self.taken = []
        current: list[RunData] = []

        def attempt(rate: float) -> StepOutcome:
            runs = self.by_step.get(len(self.taken) + 1, [])
            if len(current) >= len(runs):
                raise _Exhausted
            run = runs[len(current)]
            tag = tag_of(run)
            if tag is None or not math.isclose(tag.rate, rate, rel_tol=1e-9):
                recorded = tag.rate if tag is not None else None
                raise ValueError(
                    f"{run.path}: the search asks for {rate} actions/s at this step, the run was {recorded}"
                )
            current.append(run)
            return judge_rate_step(run, slos)

        measure = measured_step(attempt, confirm=first.confirm_failures, retries=first.generator_retries)

        def step(rate: float) -> StepOutcome:
            current.clear()
            outcome = measure(rate)
            self.taken.append(list(current))
            return outcome

        return search(step, policy)


def _policy(tag: CapacityTag, max_steps: int | None = None) -> SearchPolicy:
    return SearchPolicy(
        start_rate=tag.start_rate,
        growth=tag.growth,
        relative_resolution=tag.resolution,
        max_steps=max_steps if max_steps is not None else tag.max_steps,
    )


def _writes_per_s(run: RunData) -> float | None:
    """Acknowledged writes per second in the steady state: the write endpoints' requests that did not fail."""
    steady = run.steady
    if steady is None or not steady.seconds_measured:
        return None
    names = members(WRITES, steady.latency)
    if not names:
        return None
    acknowledged = sum(steady.latency[name].count - steady.latency[name].failures for name in names)
    return acknowledged / steady.seconds_measured


def replay(runs: list[RunData]) -> tuple[SearchResult, list[list[RunData]]]:
    """The search of one arm from its step runs: its result, and each counted step's attempts."""
    counted = sorted(
        (run for run in runs if tag_of(run) is not None and not _cut_short(run)),
        key=lambda run: (_tag(run).step, _tag(run).attempt, run.name),
    )
    if not counted:
        raise ValueError("no completed step run")
    by_step: dict[int, list[RunData]] = {}
    for run in counted:
        by_step.setdefault(_tag(run).step, []).append(run)
    first = _tag(counted[0])
    found = _Replay(by_step, first.slos, [])
    try:
        return found.outcomes(_policy(first), first), found.taken
    except _Exhausted:
        budget = len(found.taken)
    if budget == 0:
        raise ValueError("the first step was never completed")
    return found.outcomes(_policy(first, budget), first), found.taken


def _tag(run: RunData) -> CapacityTag:
    tag = tag_of(run)
    assert tag is not None
    return tag


def _cut_short(run: RunData) -> bool:
    ended = run.manifest.ended
    return ended is not None and ended.kind in CUT_SHORT


def _not_measured(why: str) -> CapacityArmEntry:
    return CapacityArmEntry(False, why, None, None, None, None, None, None, None, None, why, None, [])


def arm_capacity(runs: list[RunData]) -> CapacityArmEntry:
    if not runs:
        return _not_measured("not measured: no step run of this arm's capacity search (the comparison stopped)")
    try:
        result, taken = replay(runs)
    except ValueError as error:
        return _not_measured(f"not measured: its capacity search cannot be read back ({error})")
    steps = [
        CapacityStepEntry(
            step=index,
            phase=step.phase,
            rate=step.rate,
            verdict=str(step.verdict),
            reason=step.outcome.reason,
            achieved_rate=step.outcome.achieved_rate,
            writes_per_s=_writes_per_s(attempts[-1]),
            runs=[run.name for run in attempts],
        )
        for index, (step, attempts) in enumerate(zip(result.steps, taken, strict=True), start=1)
    ]
    best = _best(result, taken)
    writes = _writes_per_s(best) if best is not None else None
    rows: float | None = None
    rows_missing: str | None = "no rate met every capacity SLO"
    if best is not None:
        metrics = run_metrics(best)
        rows, rows_missing = metrics.values.get(DB_WRITES), metrics.missing.get(DB_WRITES)
    missing = None
    if best is None:
        missing = f"no rate met every capacity SLO: {result.explanation}"
    elif writes is None:
        missing = "the highest passing step acknowledged no write (does the scenario's mix write?)"
    return CapacityArmEntry(
        measured=writes is not None,
        missing=missing,
        writes_per_s=writes,
        rows_per_s=rows,
        rows_missing=rows_missing if rows is None else None,
        limit=result.limit,
        bracket=result.bracket,
        upper=result.bracket[1] if result.bracket is not None else _lowest_fail(result),
        bounded_by=result.bounded_by,
        generator_limit=result.generator_limit,
        explanation=result.explanation,
        best_run=best.name if best is not None else None,
        steps=steps,
    )


def _lowest_fail(result: SearchResult) -> float | None:
    failed = [step.rate for step in result.steps if step.verdict is Verdict.FAIL]
    return min(failed) if failed else None


def _best(result: SearchResult, taken: list[list[RunData]]) -> RunData | None:
    """The deciding run of the highest passing step."""
    passing = [
        (step.rate, attempts[-1])
        for step, attempts in zip(result.steps, taken, strict=True)
        if step.verdict is Verdict.PASS
    ]
    return max(passing, key=lambda found: found[0])[1] if passing else None


def _range(entry: CapacityArmEntry) -> tuple[float, float]:
    """Where the arm's limit lies, in actions/s: [highest pass, lowest fail); unbounded where nothing failed."""
    return (entry.limit or 0.0, entry.upper if entry.upper is not None else math.inf)


def _said(bounds: tuple[float, float]) -> str:
    low, high = bounds
    return f"[{low:,.4g}, {high:,.4g})" if math.isfinite(high) else f"[{low:,.4g}, unbounded)"


def capacity_delta(baseline: CapacityArmEntry, arm: CapacityArmEntry) -> CapacityDeltaEntry:
    if baseline.writes_per_s is None or arm.writes_per_s is None:
        return CapacityDeltaEntry(None, None, None, False, "no capacity figure in both arms")
    absolute = arm.writes_per_s - baseline.writes_per_s
    relative = absolute / baseline.writes_per_s * 100.0 if baseline.writes_per_s else None
    (low_a, high_a), (low_b, high_b) = _range(baseline), _range(arm)
    overlap = low_a < high_b and low_b < high_a
    ranges = f"limits in {_said((low_a, high_a))} and {_said((low_b, high_b))} actions/s"
    note = f"{ranges} overlap: not significant" if overlap else f"{ranges} do not overlap: significant"
    return CapacityDeltaEntry(absolute, relative, overlap, not overlap, note)


def _arm_steps(runs: list[RunData]) -> Iterator[tuple[str, RunData]]:
    for run in runs:
        tag = tag_of(run)
        if tag is not None:
            yield tag.arm, run


def capacity_entry(steps: list[RunData], arm_names: list[str], definition: dict[str, object] | None) -> CapacityEntry:
    """The summary's capacity section: `definition` is the experiment as its runs recorded it (None: no experiment)."""
    settings = definition.get("capacity") if definition is not None else None
    if not steps:
        why = NO_TABLE if definition is not None else NO_EXPERIMENT
        if isinstance(settings, dict):
            why = NO_STEPS
        unmeasured = CapacityDeltaEntry(None, None, None, False, "the write capacity was not measured")
        arms = {name: _not_measured(why) for name in arm_names}
        return CapacityEntry(False, why, None, [], arms, {name: unmeasured for name in arm_names[1:]})
    by_arm: dict[str, list[RunData]] = {name: [] for name in arm_names}
    for arm, run in _arm_steps(steps):
        by_arm.setdefault(arm, []).append(run)
    arms = {name: arm_capacity(by_arm[name]) for name in arm_names}
    first = _tag(steps[0])
    baseline = arm_names[0]
    deltas = {name: capacity_delta(arms[baseline], arms[name]) for name in arm_names[1:]}
    return CapacityEntry(True, None, first.mix, list(first.slos), arms, deltas)


def capacity_statements(capacity: CapacityEntry) -> list[str]:
    """What the headline's write capacity rests on, and how its deltas are judged."""
    if not capacity.measured:
        return [f"Database write throughput was {capacity.missing}."]
    said = [
        f"Database write throughput is each arm's write capacity: acknowledged writes/s in the steady state of the "
        f"highest arrival rate (open model, {capacity.mix} mix) that met every capacity SLO "
        f"({'; '.join(capacity.slos)}), found by one search per arm. A search gives no bootstrap interval: a "
        "difference is called significant only when the ranges where the arms' limits lie do not overlap."
    ]
    for name, arm in capacity.arms.items():
        void = sum(step.verdict == "void" for step in arm.steps)
        voided = f" ({void} void step(s): the load generator could not be trusted there)" if void else ""
        said.append(f"Write capacity of {name}: {arm.explanation}{voided}")
    return said
