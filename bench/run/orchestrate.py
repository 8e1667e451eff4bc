"""One run from start to finish: prepare, drive Locust while sampling, and write the results whatever happens.

However the run ends (finished, Ctrl-C, SIGTERM, a crashed target or server, a harness
error), Locust is stopped so that it writes its own statistics, what was measured is turned
into timeseries.csv and the manifest (marked incomplete, with the reason, unless the run
finished), and every process the run started is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass

import asyncpg
import httpx
import msgspec
import pandas as pd
import urllib3
from rich.console import Console

from bench.faults.inject import FaultRun
from bench.infra.errors import InfraError
from bench.infra.logs import log_tail
from bench.infra.processes import stop_process_tree
from bench.infra.signals import sigterm_exits
from bench.run.collectors.processes import ProcessTreeSampler
from bench.run.collectors.target_stats import TargetStats
from bench.run.environment import git_revision, host_info, software_versions
from bench.run.invariants import check_invariants
from bench.run.live import latest_second
from bench.run.loadgen import start_locust
from bench.run.placement import placement, read_back
from bench.run.prepare import Stage, prepare
from bench.run.progress import RunProgress
from bench.run.rundir import RunDirectory
from bench.run.sampling import Component, Sampler
from bench.run.settings import RunSettings
from bench.run.timeseries import write_timeseries
from bench.run.validity import judge
from bench.rundir import columns, files
from bench.rundir.checks import DataChecks, not_checked
from bench.rundir.columns import Component as ComponentName
from bench.rundir.manifest import (
    CapacityTag,
    ChecksVerdict,
    ComponentPlacement,
    CountCheck,
    ExperimentTag,
    Manifest,
    SweepTag,
)
from bench.rundir.phases import Phase, Phases, SecondPhase
from bench.rundir.read import RunDirectoryError, read_phases, read_steady
from bench.rundir.steady import SteadySummary
from bench.rundir.validity import FINISHED, Ending, EndKind, Validity
from bench.rundir.write import write_struct
from bench.rundir.writes import WriteCheck
from bench.writecheck.check import Snapshot, check_writes, take_snapshot
from targets.common.ledger import MoneyLedger

# What a data check that could not finish raises: the run then says so, rather than ending on it.
CHECK_ERRORS = (OSError, asyncpg.PostgresError, httpx.HTTPError, urllib3.exceptions.HTTPError, KeyError, ValueError)
LOCUST_STOP_TIMEOUT = 30.0  # Locust writes its statistics on the way out
# Endings that are the run's failure, said at the end of `bench run` (exit 1); the others end it otherwise.
FAILURES = frozenset({EndKind.TARGET_DIED, EndKind.SERVER_DIED, EndKind.LOCUST_FAILED, EndKind.INFRASTRUCTURE})


class _LocustStats(msgspec.Struct):
    """The one field of Locust's stats.json the count check reads."""

    num_requests: int


@dataclass
class RunOutcome:
    run: RunDirectory
    complete: bool
    ended: Ending
    validity: Validity
    steady: SteadySummary | None
    timeseries: pd.DataFrame
    checks: CountCheck
    data_checks: DataChecks | None = None
    write_check: WriteCheck | None = None
    interrupted: bool = False  # by Ctrl-C
    exit_code: int | None = None  # by a signal turned into SystemExit

    @property
    def stopped(self) -> bool:
        """Ended by Ctrl-C or a signal: whatever runs it should stop too."""
        return self.interrupted or self.exit_code is not None

    @property
    def failure(self) -> str | None:
        """The sentence to end with when the run failed."""
        return self.ended.detail if self.ended.kind in FAILURES else None


def execute_run(
    settings: RunSettings,
    console: Console,
    *,
    title: str = "run",
    remaining_after: float | None = None,
    experiment: ExperimentTag | None = None,
    sweep: SweepTag | None = None,
    capacity: CapacityTag | None = None,
) -> RunOutcome:
    """Run once; `experiment`, `sweep` or `capacity` (which arm, repetition or step this is) is in the manifest
    from the start."""
    started = dt.datetime.now(dt.UTC)
    manifest = Manifest(
        started_at=started.isoformat(),
        command=sys.argv,
        settings=settings.as_manifest(),
        seed=settings.load.seed,
        host=host_info(),
        software=software_versions(),
        git=git_revision(),
        experiment=experiment,
        sweep=sweep,
        capacity=capacity,
    )
    run = RunDirectory.create(settings.out, settings.label, manifest)
    ended, interrupted, exit_code = FINISHED, False, None
    harness_error: Exception | None = None
    data_checks: DataChecks | None = None
    write_check: WriteCheck | None = None
    sampler: Sampler | None = None
    placer: _Placer | None = None
    locust: subprocess.Popen[bytes] | None = None
    faults: FaultRun | None = None
    with ExitStack() as stack, RunProgress(console, title=title, remaining_after=remaining_after) as progress:
        stack.enter_context(sigterm_exits())
        try:
            stage = prepare(settings, run, stack, progress.seeding)
            run.manifest.seed_data, run.manifest.base_url = stage.seed, stage.base_url
            query_url = stage.target.query_url if stage.target is not None else stage.base_url
            run.manifest.query_url = query_url if query_url != stage.base_url else None
            placer = _Placer(run, stage)
            snapshot = _snapshot(stage)
            locust = start_locust(
                settings.load,
                host=stage.base_url,
                run=run,
                keys_dir=stage.keys_dir,
                cpus=placer.generator_cpus,
                query_host=run.manifest.query_url,
            )
            if settings.faults:
                faults = FaultRun(list(settings.faults), stage, run.path, load_started=time.monotonic())
                faults.start()
            sampler = _sampler(run, stage, locust.pid)
            ended = _drive(settings, run, stage, locust, sampler, progress, placer, faults) or FINISHED
            if faults is not None:
                faults.finish()  # before the checks: a fault still lasting (a paused projector) would fail them
            if ended.kind is EndKind.FINISHED and settings.check_invariants:
                progress.checking()
                data_checks = _check_data(settings, run, stage)
            if ended.kind is EndKind.FINISHED:
                progress.checking()
                write_check = _check_writes(run, stage, snapshot)
        except KeyboardInterrupt:
            ended, interrupted = Ending(EndKind.INTERRUPTED, "interrupted by Ctrl-C"), True
        except SystemExit as exit_:
            ended = Ending(EndKind.TERMINATED, f"terminated by signal {_signal_name(exit_.code)}")
            exit_code = _code(exit_.code)
        except InfraError as error:
            ended = Ending(EndKind.INFRASTRUCTURE, str(error))
        except Exception as error:  # a bug of the harness: keep the measurements, then show the traceback
            ended, harness_error = (
                Ending(EndKind.HARNESS_ERROR, f"harness error: {type(error).__name__}: {error}"),
                error,
            )
        finally:
            if faults is not None:
                faults.close()  # first: a paused projector continues before anything is stopped
            if placer is not None:
                placer.record()  # the node again, with the backends and workers that started under load
            if locust is not None:
                _stop_locust(locust)
            if sampler is not None:
                run.manifest.observability = sampler.observability()
                run.save_manifest()
                sampler.close()
        outcome = _finish(run, settings, ended, started)
    if harness_error is not None:
        raise harness_error
    outcome.interrupted, outcome.exit_code, outcome.data_checks = interrupted, exit_code, data_checks
    outcome.write_check = write_check
    return outcome


class _Placer:
    """The manifest's placement, read back from the node's processes and, while it runs, Locust's."""

    def __init__(self, run: RunDirectory, stage: Stage) -> None:
        self._run, self._stage = run, stage
        self._generator: ComponentPlacement | None = None
        self._generator_pids: set[int] = set()
        self.record()

    @property
    def generator_cpus(self) -> frozenset[int] | None:
        return self._stage.plan.generator if self._stage.plan is not None else None

    def watch_generator(self, locust_pid: int, pids: frozenset[int]) -> None:
        """Read Locust's processes back whenever new ones appeared in `pids`, its tree at the latest sample (its
        workers start after the master; at the end they exit first, and what was read while they ran stands)."""
        if pids and not pids <= self._generator_pids:
            self._generator_pids |= pids
            self._generator = read_back(ComponentName.GENERATOR, [locust_pid], self.generator_cpus)
            self.record()

    def record(self) -> None:
        plan = self._stage.plan
        if plan is None:
            return
        components = self._stage.node_placement()
        if self._generator is not None:
            components.append(self._generator)
        self._run.manifest.placement = placement(plan, components)
        self._run.save_manifest()


def _sampler(run: RunDirectory, stage: Stage, locust_pid: int) -> Sampler:
    generator = ProcessTreeSampler([locust_pid], pss=False)  # its footprint is not the node's
    components = [*stage.components, Component(ComponentName.GENERATOR, generator)]
    return Sampler(
        run.path,
        components,
        generator=generator,
        postgres=stage.postgres,
        target_stats=TargetStats(stage.base_url, stage.target.spec.stats if stage.target is not None else None),
    )


def _drive(
    settings: RunSettings,
    run: RunDirectory,
    stage: Stage,
    locust: subprocess.Popen[bytes],
    sampler: Sampler,
    progress: RunProgress,
    placer: _Placer,
    faults: FaultRun | None,
) -> Ending | None:
    """Sample every second until Locust exits; return how the run failed, or None when it finished."""
    deadline = time.monotonic() + settings.deadline_seconds()
    boundary = math.floor(time.time()) + 1
    while True:
        with contextlib.suppress(subprocess.TimeoutExpired):
            locust.wait(timeout=max(0.0, boundary - time.time()))  # the sampling period; ends early with Locust
        if locust.poll() is not None:
            if locust.returncode != 0:
                log = log_tail(run.path / files.LOCUST_LOG)
                return Ending(EndKind.LOCUST_FAILED, f"Locust exited with code {locust.returncode}.\n{log}")
            return None
        sampler.sample(boundary - 1)
        if sampler.generator is not None:
            placer.watch_generator(locust.pid, sampler.generator.last_pids)
        boundary = max(boundary + 1, math.floor(time.time()) + 1)
        death = stage.watchdog.first_death() or (faults.failure if faults is not None else None)
        if death is not None:
            if stage.target is not None and death.kind is EndKind.TARGET_DIED:
                return Ending(death.kind, f"{death.detail}\n{log_tail(stage.target.log_path)}")
            return death
        if time.monotonic() > deadline:
            said = (
                f"Locust did not finish within {settings.deadline_seconds():.0f} s; see {run.path / files.LOCUST_LOG}"
            )
            return Ending(EndKind.LOCUST_FAILED, said)
        progress.running(_phases(run), settings.load.expected_seconds(), latest_second(run.path))


def _phases(run: RunDirectory) -> Phases | None:
    try:
        return read_phases(run.path)
    except RunDirectoryError:
        return None  # being replaced this instant; the next second will read it


def _check_data(settings: RunSettings, run: RunDirectory, stage: Stage) -> DataChecks:
    """With the load stopped and the target still up: is its data right? (invariants.json)"""
    database_dsn = stage.infra.database_dsn if stage.infra is not None else None
    try:
        report = check_invariants(settings.target, database_dsn, stage.base_url)
    except CHECK_ERRORS as error:
        report = not_checked(f"the check itself failed: {type(error).__name__}: {error}")
    write_struct(run.path / files.DATA_CHECKS, report)
    run.manifest.invariants = ChecksVerdict(checked=report.checked, passed=report.passed)
    run.save_manifest()
    return report


def _ledger(stage: Stage) -> tuple[MoneyLedger, str] | None:
    """The target's money ledger and database, when the harness started a target that keeps accounts."""
    dsn = stage.infra.database_dsn if stage.infra is not None else None
    ledger = stage.target.spec.money_ledger() if stage.target is not None else None
    return (ledger, dsn) if ledger is not None and dsn is not None else None


def _snapshot(stage: Stage) -> Snapshot | None:
    found = _ledger(stage)
    return asyncio.run(take_snapshot(found[1], found[0])) if found is not None else None


def _check_writes(run: RunDirectory, stage: Stage, snapshot: Snapshot | None) -> WriteCheck:
    found = _ledger(stage)
    if found is None or snapshot is None or stage.target is None:
        why = "an external service: its store is not the harness's to read" if stage.target is None else ""
        verdict = WriteCheck(checked=False, why_not_checked=why or "the target keeps no accounts")
    else:
        try:
            verdict = check_writes(run.path, found[1], stage.target.query_url, found[0], snapshot)
        except CHECK_ERRORS as error:
            verdict = WriteCheck(checked=False, why_not_checked=f"the check failed: {type(error).__name__}: {error}")
    write_struct(run.path / files.ACKNOWLEDGED, verdict)
    run.manifest.acknowledged_writes = ChecksVerdict(checked=verdict.checked, passed=verdict.passed)
    run.save_manifest()
    return verdict


def _stop_locust(locust: subprocess.Popen[bytes]) -> None:
    """SIGTERM makes Locust's master stop its workers and write its statistics; stragglers are killed."""
    stop_process_tree(locust, signal_first=signal.SIGTERM, timeout=LOCUST_STOP_TIMEOUT)


def _finish(run: RunDirectory, settings: RunSettings, ended: Ending, started: dt.datetime) -> RunOutcome:
    phases = read_phases(run.path)
    steady = read_steady(run.path)
    timeseries = write_timeseries(run.path, phases)
    done = phases is not None and phases.phase is Phase.DONE
    ran_to_the_end = ended.kind is EndKind.FINISHED
    complete = ran_to_the_end and steady is not None and done
    why_incomplete = "Locust ended without its steady-state summary" if ran_to_the_end else ended.summary
    steady_seconds = set()
    if not timeseries.empty and columns.ACTION_COUNT in timeseries:
        in_steady = timeseries[columns.PHASE] == SecondPhase.STEADY
        steady_rows = timeseries[in_steady & timeseries[columns.ACTION_COUNT].notna()]
        steady_seconds = {int(second) for second in steady_rows[columns.SECOND]}
    validity = judge(
        run.path, steady_seconds, asked_rate=settings.load.rate, complete=complete, why_incomplete=why_incomplete
    )
    checks = _count_check(run, steady)
    finished = dt.datetime.now(dt.UTC)
    manifest = run.manifest
    manifest.status, manifest.complete = ("complete" if complete else "incomplete"), complete
    manifest.ended, manifest.ended_at = ended, finished.isoformat()
    manifest.duration_s = round((finished - started).total_seconds(), 1)
    manifest.phases, manifest.validity, manifest.checks = phases, validity, checks
    manifest.files = sorted(str(path.relative_to(run.path)) for path in run.path.rglob("*") if path.is_file())
    run.save_manifest()
    return RunOutcome(run, complete, ended, validity, steady, timeseries, checks)


def _count_check(run: RunDirectory, steady: SteadySummary | None) -> CountCheck:
    path = run.path / files.LOCUST_STATS
    try:
        entries = msgspec.json.decode(path.read_bytes(), type=list[_LocustStats])
    except (FileNotFoundError, msgspec.DecodeError):
        entries = None
    locust_total = sum(entry.num_requests for entry in entries) if entries is not None else None
    return CountCheck(locust_requests=locust_total, histogram_requests=steady.requests_recorded if steady else None)


def _signal_name(code: object) -> str:
    number = _code(code) - 128
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _code(code: object) -> int:
    return code if isinstance(code, int) else 1
