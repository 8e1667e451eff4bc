"""Running a sweep: per arm, the rate search (per worker count), the concurrency levels, the node plan.

Every step is one `execute_run` whose run directory is kept under the sweep's report directory
(reports/<stamp>-<name>/runs/), judged by bench.capacity.steps and reported on stderr as it ends.
Ctrl-C or SIGTERM ends the sweep at once: the step cut short is not counted, the search in progress
concludes on the steps it measured, and the report of everything measured so far is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from rich.console import Console

from bench.capacity.definition import SweepDefinition
from bench.capacity.outcome import ArmCapacity, ConcurrencySweep, LevelPoint, RateSearch, SweepOutcome
from bench.capacity.planning import plan_nodes
from bench.capacity.report import write_capacity_report
from bench.capacity.search import StepOutcome, Verdict, measured_step, search
from bench.capacity.steps import LEVEL_VALID, judge_level, judge_rate_step
from bench.capacity.usl import UslResult, fit_usl
from bench.compare.experiment import Arm
from bench.infra.signals import sigterm_exits
from bench.report.location import RUNS, new_report_directory, point_latest
from bench.report.rundata import RunData
from bench.run.kept_seeds import SeedStore
from bench.run.orchestrate import execute_run
from bench.run.settings import LoadSettings
from bench.rundir.manifest import SweepTag

VERDICT_STYLE = {Verdict.PASS: "[green]PASS[/]", Verdict.FAIL: "[red]FAIL[/]", Verdict.VOID: "[yellow]VOID[/]"}


class _Stopped(Exception):
    """Ctrl-C or SIGTERM: the sweep stops after writing its report."""

    def __init__(self, *, interrupted: bool, exit_code: int | None) -> None:
        super().__init__("stopped")
        self.interrupted = interrupted
        self.exit_code = exit_code


@dataclasses.dataclass(frozen=True)
class _Step:
    """Which step of the search a run is, as its manifest records it (bench.rundir.manifest.SweepTag)."""

    kind: Literal["rate", "concurrency"]
    step: int | None = None
    rate: float | None = None
    attempt: int | None = None
    users: int | None = None


@dataclasses.dataclass
class _Sweeper:
    definition: SweepDefinition
    outcome: SweepOutcome
    console: Console

    def run_step(self, arm: Arm, workers: int, load: LoadSettings, title: str, step: _Step) -> RunData:
        definition = self.definition
        settings = arm.run_settings(load, definition.data, self.outcome.report / RUNS, definition.servers)
        # Each step is short: the data checks of `bench compare` would take longer than some steps.
        settings = dataclasses.replace(settings, workers=workers, check_invariants=False)
        slos = [slo.text for slo in definition.slos]
        tag = SweepTag(name=definition.name, arm=arm.name, workers=workers, slos=slos, **dataclasses.asdict(step))
        run = execute_run(settings, self.console, title=title, sweep=tag)
        if run.stopped:
            self.outcome.stopped_in = run.run.path
            raise _Stopped(interrupted=run.interrupted, exit_code=run.exit_code)
        return RunData(run.run.path, run.run.manifest, run.steady, run.timeseries, run.data_checks)

    def say(self, what: str, outcome: StepOutcome) -> None:
        achieved = f"achieved {outcome.achieved_rate:,.1f}/s, " if outcome.achieved_rate is not None else ""
        verdict = VERDICT_STYLE[outcome.verdict]
        said = f"{verdict} ({outcome.reason})" if outcome.reason != LEVEL_VALID else "valid"
        self.console.print(f"{what}: {achieved}{said}")

    def rate_search(self, arm: Arm, workers: int, found: RateSearch) -> None:
        attempts: list[Path] = []  # the runs of the current step; the last one decided it

        def attempt(rate: float) -> StepOutcome:
            number = len(found.outcomes) + 1
            again = f" (attempt {len(attempts) + 1})" if attempts else ""
            what = f"{arm.name}, {workers} worker(s), step {number}{again}: asked {_rate(rate)}"
            recorded = _Step("rate", step=number, rate=rate, attempt=len(attempts) + 1)
            run = self.run_step(arm, workers, self.definition.rate_load(rate), what, recorded)
            outcome = judge_rate_step(run, self.definition.slos)
            attempts.append(run.path)
            self.say(what, outcome)
            return outcome

        definition = self.definition
        measure = measured_step(attempt, confirm=definition.confirm_failures, retries=definition.generator_retries)

        def step(rate: float) -> StepOutcome:
            attempts.clear()
            outcome = measure(rate)
            found.outcomes.append(outcome)
            found.runs.append(attempts[-1])
            return outcome

        try:
            found.result = search(step, self.definition.policy)
        except (_Stopped, KeyboardInterrupt, SystemExit):
            found.conclude_early(self.definition.policy)
            raise
        self.console.print(f"[bold]{arm.name}, {workers} worker(s)[/]: {found.result.explanation}")

    def concurrency_sweep(self, arm: Arm, found: ConcurrencySweep) -> None:
        try:
            for users in self.definition.concurrency:
                what = f"{arm.name}, {found.workers} worker(s), concurrency {users}"
                load = self.definition.level_load(users)
                run = self.run_step(arm, found.workers, load, what, _Step("concurrency", users=users))
                point = LevelPoint(users, judge_level(run), run.path)
                found.points.append(point)
                self.say(what, point.outcome)
        finally:
            usable = found.usable()
            found.fit = fit_usl([users for users, _ in usable], [rate for _, rate in usable])
        self.console.print(f"[bold]{arm.name}[/]: scalability law {_fit_said(found.fit)}")

    def arm(self, arm: Arm) -> None:
        found = ArmCapacity(arm)
        self.outcome.arms.append(found)
        try:
            for workers in self.definition.worker_counts(arm):
                found.searches.append(RateSearch(workers))
                self.rate_search(arm, workers, found.searches[-1])
            if self.definition.concurrency:
                found.concurrency = ConcurrencySweep(arm.workers, self.definition.think_time)
                self.concurrency_sweep(arm, found.concurrency)
        finally:
            self.plan(found)

    def plan(self, found: ArmCapacity) -> None:
        known = {workers: limit for workers, limit in found.limits().items() if limit is not None}
        if len(known) > 1:
            found.scale_out_fit = fit_usl(list(known), list(known.values()))
        if self.definition.plan_rate is not None:
            found.plan = plan_nodes(
                self.definition.plan_rate, self.definition.headroom, measured=found.limits(), fit=found.scale_out_fit
            )


def _fit_said(fit: UslResult) -> str:
    return f"refused: {fit.reason}" if fit.refused else f"sigma {fit.sigma}, kappa {fit.kappa}, {fit.peak_note}"


def run_sweep(definition: SweepDefinition, *, reports: Path, console: Console) -> SweepOutcome:
    """Every arm's steps, then the report; each data set is seeded once (bench.run.kept_seeds)."""
    with SeedStore() as seeds:
        servers = dataclasses.replace(definition.servers, seed_store=seeds)
        return _run_sweep(dataclasses.replace(definition, servers=servers), reports, console)


def _run_sweep(definition: SweepDefinition, reports: Path, console: Console) -> SweepOutcome:
    outcome = SweepOutcome(new_report_directory(definition.name, reports), definition)
    sweeper = _Sweeper(definition, outcome, console)
    console.print(
        f"[bold]{definition.name}[/]: capacity sweep of {_names(definition.arms)}; report in {outcome.report}"
    )
    try:
        with sigterm_exits():
            for arm in definition.arms:
                sweeper.arm(arm)
    except _Stopped as stopped:
        outcome.interrupted, outcome.exit_code = stopped.interrupted, stopped.exit_code
    except KeyboardInterrupt:  # between two steps
        outcome.interrupted = True
    except SystemExit as exit_:  # SIGTERM between two steps (sigterm_exits)
        outcome.exit_code = exit_.code if isinstance(exit_.code, int) else 1
    outcome.data = write_capacity_report(outcome)
    point_latest(outcome.report, reports)
    return outcome


def _rate(rate: float) -> str:
    return f"{rate:,.0f} actions/s" if rate >= 100 else f"{rate:,.3g} actions/s"


def _names(arms: Iterable[Arm]) -> str:
    return ", ".join(arm.name for arm in arms)
