"""Running an experiment: every arm once per repetition, interleaved (A B A B ...), each run on
fresh infrastructure with the same seeded data set, then the report from the run directories.

With a [capacity] table, each arm's write-capacity search follows the repetitions (bench.compare.capacity);
its step runs are kept under capacity/<arm>/runs/ and the report derives the capacity from them.

A run that fails (a crashed target, a server that died) is kept, marked incomplete by `bench
run`, and left out of the statistics by the report; the experiment goes on with the next run. A run
the load generator spoiled (its event loop lagged, its core saturated) is kept and excluded too, and
the repetition is run again, up to the experiment's generator_retries times, at once: another arm's
run in between would be a different comparison than the one planned.
Ctrl-C or SIGTERM ends it at once, after writing the report of the runs done so far.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from bench.compare.capacity import CapacityStopped, search_capacity
from bench.compare.experiment import Arm, Experiment, Servers
from bench.report.build import write_report
from bench.report.location import CAPACITY, RUNS, new_report_directory, point_latest
from bench.report.rundata import is_run_directory
from bench.report.summary import Summary
from bench.run.kept_seeds import SeedStore
from bench.run.orchestrate import RunOutcome, execute_run
from bench.rundir.manifest import ExperimentTag

START_UP_ALLOWANCE = 30.0  # seconds per run for servers, seeding and checks, until a run has been timed


@dataclass
class ExperimentOutcome:
    report: Path
    runs: list[RunOutcome] = field(default_factory=list)
    summary: Summary | None = None
    interrupted: bool = False
    exit_code: int | None = None  # a signal turned into SystemExit

    @property
    def stopped(self) -> bool:
        return self.interrupted or self.exit_code is not None


def plan(experiment: Experiment) -> list[tuple[int, int, Arm]]:
    """(repetition, arm index, arm) in the order they run: all arms of repetition 1, then of 2, ..."""
    return [(rep, index, arm) for rep in range(experiment.repeats) for index, arm in enumerate(experiment.arms)]


def experiment_tag(
    experiment: Experiment, repetition: int, arm_index: int, aa: bool, attempt: int = 1
) -> ExperimentTag:
    return ExperimentTag(
        name=experiment.name,
        arm=experiment.arms[arm_index].name,
        arm_index=arm_index,
        repetition=repetition,
        repeats=experiment.repeats,
        arms=[arm.name for arm in experiment.arms],
        baseline=experiment.baseline.name,
        slos=[slo.text for slo in experiment.slos],
        aa=aa,
        definition=experiment.as_dict(),
        attempt=attempt,
    )


def run_experiment(
    experiment: Experiment, *, reports: Path, servers: Servers, console: Console, aa: bool = False
) -> ExperimentOutcome:
    """Every run and capacity step, then the report; each data set is seeded once (bench.run.kept_seeds)."""
    with SeedStore() as seeds:
        return _run_experiment(experiment, reports, dataclasses.replace(servers, seed_store=seeds), console, aa)


def _run_experiment(
    experiment: Experiment, reports: Path, servers: Servers, console: Console, aa: bool
) -> ExperimentOutcome:
    outcome = ExperimentOutcome(new_report_directory(experiment.name, reports))
    runs_dir = outcome.report / "runs"
    steps = plan(experiment)
    per_run = experiment.run_seconds() + START_UP_ALLOWANCE
    console.print(
        f"[bold]{experiment.name}[/]: {len(experiment.arms)} arms x {experiment.repeats} repetitions, "
        f"interleaved; report in {outcome.report}"
    )
    for number, (repetition, arm_index, arm) in enumerate(steps):
        settings = arm.run_settings(experiment.load, experiment.data, runs_dir, servers, experiment.faults)
        for attempt in range(1, experiment.generator_retries + 2):
            again = f", attempt {attempt}" if attempt > 1 else ""
            title = f"{arm.name} {repetition + 1}/{experiment.repeats}{again}"
            started = time.monotonic()
            run = execute_run(
                settings,
                console,
                title=title,
                remaining_after=per_run * (len(steps) - number - 1),
                experiment=experiment_tag(experiment, repetition, arm_index, aa, attempt),
            )
            per_run = time.monotonic() - started  # the next estimate: measured, not assumed
            outcome.runs.append(run)
            _say(console, title, run)
            if run.stopped or not (run.complete and run.validity.spoiled_by_generator):
                break
        if run.stopped:
            outcome.interrupted, outcome.exit_code = run.interrupted, run.exit_code
            break
    if experiment.capacity is not None and not outcome.stopped:
        _search_capacities(experiment, outcome, servers, console)
    step_runs = sorted(path for path in outcome.report.glob(f"{CAPACITY}/*/{RUNS}/*") if is_run_directory(path))
    run_dirs = [run.run.path for run in outcome.runs] + step_runs
    outcome.summary = write_report(run_dirs, outcome.report)
    point_latest(outcome.report, reports)
    return outcome


def _search_capacities(experiment: Experiment, outcome: ExperimentOutcome, servers: Servers, console: Console) -> None:
    console.print(f"[bold]{experiment.name}[/]: the write-capacity search of each arm")
    for arm_index in range(len(experiment.arms)):
        try:
            search_capacity(experiment, arm_index, report=outcome.report, servers=servers, console=console)
        except CapacityStopped as stopped:
            outcome.interrupted, outcome.exit_code = stopped.run.interrupted, stopped.run.exit_code
            return


def _say(console: Console, title: str, run: RunOutcome) -> None:
    excluded = "excluded from the statistics"
    if not run.complete:
        console.print(f"[red]{title}: incomplete[/] ({run.ended.summary}); {excluded}")
    elif not run.validity.valid:
        console.print(f"[yellow]{title}: invalid[/] ({'; '.join(run.validity.reasons)}); {excluded}")
    else:
        passed = run.data_checks.passed if run.data_checks is not None else None
        data = "" if passed is None else ", data checks passed" if passed else ", [red]data checks FAILED[/]"
        kept = run.write_check.passed if run.write_check is not None else None
        writes = "" if kept is None else ", no acknowledged write lost" if kept else ", [red]WRITES LOST[/]"
        console.print(f"{title}: done{data}{writes}")
