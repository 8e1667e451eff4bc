"""The write-capacity search of `bench compare`: per arm, `bench sweep`'s open-model rate search.

An experiment with a [capacity] table runs, after the interleaved repetitions, one search per arm:
geometric steps from the start rate, then bisection (bench.capacity.search), each step a short open-model
run on fresh servers with the experiment's data set, judged by bench.capacity.steps (void steps when the
generator gave out, failing steps confirmed by a repeat). The step runs are kept under
reports/<stamp>/capacity/<arm>/runs/, each tagged with a CapacityTag that carries the policy, so that
`bench report` derives the same result from them alone (bench.report.capacity).

The searches run after the repetitions, arm after arm, not interleaved: a search is adaptive (each rate
depends on the verdicts before it) and a handful of steps long, so its steps cannot be spread over the
repetitions without running a search per repetition.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from bench.capacity.definition import SweepDefinition
from bench.capacity.search import SearchResult, StepOutcome, measured_step, search
from bench.capacity.steps import judge_rate_step
from bench.compare.experiment import CapacitySettings, Experiment, Servers
from bench.report.location import capacity_runs
from bench.report.rundata import RunData
from bench.run.orchestrate import RunOutcome, execute_run
from bench.rundir.manifest import CapacityTag

VERDICT_STYLE = {"pass": "[green]PASS[/]", "fail": "[red]FAIL[/]", "void": "[yellow]VOID[/]"}


class CapacityStopped(Exception):
    """Ctrl-C or SIGTERM during a step: the comparison stops after writing its report."""

    def __init__(self, run: RunOutcome) -> None:
        super().__init__("stopped")
        self.run = run


def capacity_definition(experiment: Experiment, capacity: CapacitySettings, servers: Servers) -> SweepDefinition:
    """The sweep of the experiment's arms that [capacity] describes: the experiment's scenario in its own mix."""
    load = dataclasses.replace(
        experiment.load, mix=capacity.mix, duration=capacity.step_duration, warmup=capacity.warmup
    )
    return SweepDefinition(
        name=f"{experiment.name}-capacity",
        load=load,
        data=experiment.data,
        arms=experiment.arms,
        slos=capacity.slos,
        policy=capacity.policy(),
        in_flight=capacity.in_flight,
        generator_retries=experiment.generator_retries,
        servers=servers,
    )


@dataclass
class _ArmSearch:
    experiment: Experiment
    capacity: CapacitySettings
    definition: SweepDefinition
    arm_index: int
    report: Path
    console: Console
    steps_done: int = 0
    attempts: int = 0

    def tag(self, rate: float) -> CapacityTag:
        policy = self.definition.policy
        return CapacityTag(
            experiment=self.experiment.name,
            arm=self.experiment.arms[self.arm_index].name,
            arm_index=self.arm_index,
            step=self.steps_done + 1,
            attempt=self.attempts + 1,
            rate=rate,
            mix=self.capacity.mix,
            slos=[slo.text for slo in self.capacity.slos],
            start_rate=policy.start_rate,
            growth=policy.growth,
            resolution=self.capacity.resolution,
            max_steps=policy.max_steps,
            confirm_failures=self.definition.confirm_failures,
            generator_retries=self.definition.generator_retries,
        )

    def attempt(self, rate: float) -> StepOutcome:
        arm = self.experiment.arms[self.arm_index]
        out = capacity_runs(self.report, arm.name)
        settings = arm.run_settings(self.definition.rate_load(rate), self.definition.data, out, self.definition.servers)
        # Steps are short: the data checks would take longer than some steps (as in `bench sweep`).
        settings = dataclasses.replace(settings, check_invariants=False)
        again = f" (attempt {self.attempts + 1})" if self.attempts else ""
        title = f"{arm.name} capacity, step {self.steps_done + 1}{again}: asked {rate:,.0f} actions/s"
        run = execute_run(settings, self.console, title=title, capacity=self.tag(rate))
        if run.stopped:
            raise CapacityStopped(run)
        self.attempts += 1
        data = RunData(run.run.path, run.run.manifest, run.steady, run.timeseries, run.data_checks)
        outcome = judge_rate_step(data, self.definition.slos)
        achieved = f"achieved {outcome.achieved_rate:,.1f}/s, " if outcome.achieved_rate is not None else ""
        self.console.print(f"{title}: {achieved}{VERDICT_STYLE[outcome.verdict.value]} ({outcome.reason})")
        return outcome

    def run(self) -> SearchResult:
        definition = self.definition
        measure = measured_step(self.attempt, confirm=definition.confirm_failures, retries=definition.generator_retries)

        def step(rate: float) -> StepOutcome:
            self.attempts = 0
            outcome = measure(rate)
            self.steps_done += 1
            return outcome

        return search(step, self.definition.policy)


def search_capacity(
    experiment: Experiment, arm_index: int, *, report: Path, servers: Servers, console: Console
) -> SearchResult:
    """One arm's search; raises CapacityStopped when a signal cut a step short."""
    capacity = experiment.capacity
    if capacity is None:
        raise ValueError(f"the experiment {experiment.name} has no [capacity] table")
    definition = capacity_definition(experiment, capacity, servers)
    result = _ArmSearch(experiment, capacity, definition, arm_index, report, console).run()
    console.print(f"[bold]{experiment.arms[arm_index].name} write capacity[/]: {result.explanation}")
    return result
