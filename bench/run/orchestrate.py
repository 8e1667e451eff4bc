"""One run from start to finish: prepare, drive Locust while sampling, and write the results whatever happens.

However the run ends (finished, Ctrl-C, SIGTERM, a crashed target or server, a harness
error), Locust is stopped so that it writes its own statistics, what was measured is turned
into timeseries.csv and the manifest (marked incomplete, with the reason, unless the run
finished), and every process the run started is stopped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import msgspec
import pandas as pd
from rich.console import Console

from bench.infra.errors import InfraError
from bench.infra.logs import log_tail
from bench.infra.processes import stop_process_tree
from bench.infra.signals import sigterm_exits
from bench.run.collectors.processes import ProcessTreeSampler
from bench.run.collectors.target_stats import TargetStats
from bench.run.environment import git_revision, host_info, software_versions
from bench.run.invariants import check_invariants, not_checked
from bench.run.live import latest_second
from bench.run.loadgen import start_locust
from bench.run.prepare import Stage, prepare
from bench.run.progress import RunProgress
from bench.run.rundir import RunDirectory
from bench.run.sampling import Component, Sampler
from bench.run.settings import RunSettings
from bench.run.timeseries import write_timeseries
from bench.run.validity import Validity, judge
from bench.rundir.files import DATA_CHECKS

LOCUST_STOP_TIMEOUT = 30.0  # Locust writes its statistics on the way out


@dataclass
class RunOutcome:
    run: RunDirectory
    complete: bool
    ended_because: str
    validity: Validity
    steady: dict[str, Any] | None
    timeseries: pd.DataFrame
    checks: dict[str, Any]
    interrupted: bool = False  # by Ctrl-C
    exit_code: int | None = None  # by a signal turned into SystemExit
    failure: str | None = None  # the sentence to end with when the run failed


def execute_run(
    settings: RunSettings,
    console: Console,
    *,
    title: str = "run",
    remaining_after: float | None = None,
    manifest: dict[str, Any] | None = None,
) -> RunOutcome:
    """Run once; `manifest` entries (an experiment's arm and repetition) are in the manifest from the start."""
    run = RunDirectory.create(settings.out, settings.label)
    started = dt.datetime.now(dt.UTC)
    run.update_manifest(
        format=1, status="running", complete=False, started_at=started.isoformat(), command=sys.argv,
        settings=settings.as_manifest(), seed=settings.load.seed, host=host_info(), software=software_versions(),
        git=git_revision(), **(manifest or {}),
    )  # fmt: skip
    ended_because, failure, interrupted, exit_code = "finished", None, False, None
    harness_error: Exception | None = None
    sampler: Sampler | None = None
    locust: subprocess.Popen[bytes] | None = None
    with ExitStack() as stack, RunProgress(console, title=title, remaining_after=remaining_after) as progress:
        stack.enter_context(sigterm_exits())
        try:
            stage = prepare(settings, run, stack, progress.seeding)
            run.update_manifest(seed_data=stage.seed, base_url=stage.base_url)
            locust = start_locust(settings.load, host=stage.base_url, run=run, keys_dir=stage.keys_dir)
            sampler = _sampler(run, stage, locust.pid)
            failure = _drive(settings, run, stage, locust, sampler, progress)
            ended_because = failure or "finished"
            if failure is None and settings.check_invariants:
                progress.checking()
                _check_invariants(settings, run, stage)
        except KeyboardInterrupt:
            ended_because, interrupted = "interrupted by Ctrl-C", True
        except SystemExit as exit_:
            ended_because, exit_code = f"terminated by signal {_signal_name(exit_.code)}", _code(exit_.code)
        except InfraError as error:
            ended_because = failure = str(error)
        except Exception as error:  # a bug of the harness: keep the measurements, then show the traceback
            ended_because, harness_error = f"harness error: {type(error).__name__}: {error}", error
        finally:
            if locust is not None:
                _stop_locust(locust)
            if sampler is not None:
                run.update_manifest(observability=sampler.observability())
                sampler.close()
        outcome = _finish(run, settings, ended_because, started)
    if harness_error is not None:
        raise harness_error
    outcome.interrupted, outcome.exit_code, outcome.failure = interrupted, exit_code, failure
    return outcome


def _sampler(run: RunDirectory, stage: Stage, locust_pid: int) -> Sampler:
    generator = ProcessTreeSampler([locust_pid])
    components = [*stage.components, Component("generator", generator)]
    return Sampler(run.samples, components, generator=generator, postgres=stage.postgres,
                   target_stats=TargetStats(stage.base_url))  # fmt: skip


def _drive(
    settings: RunSettings,
    run: RunDirectory,
    stage: Stage,
    locust: subprocess.Popen[bytes],
    sampler: Sampler,
    progress: RunProgress,
) -> str | None:
    """Sample every second until Locust exits; return why the run failed, or None when it finished."""
    deadline = time.monotonic() + settings.deadline_seconds()
    boundary = math.floor(time.time()) + 1
    while True:
        with contextlib.suppress(subprocess.TimeoutExpired):
            locust.wait(timeout=max(0.0, boundary - time.time()))  # the sampling period; ends early with Locust
        if locust.poll() is not None:
            if locust.returncode != 0:
                return f"Locust exited with code {locust.returncode}.\n{log_tail(run.locust / 'locust.log')}"
            return None
        sampler.sample(boundary - 1)
        boundary = max(boundary + 1, math.floor(time.time()) + 1)
        death = stage.watchdog.first_death()
        if death is not None:
            log = f"\n{log_tail(stage.target.log_path)}" if stage.target and death.startswith("target") else ""
            return f"{death} during the run{log}"
        if time.monotonic() > deadline:
            return f"Locust did not finish within {settings.deadline_seconds():.0f} s; see {run.locust / 'locust.log'}"
        progress.running(run.read_json("phases.json"), settings.load.expected_seconds(), latest_second(run.path))


def _check_invariants(settings: RunSettings, run: RunDirectory, stage: Stage) -> None:
    """With the load stopped and the target still up: is its data right? (invariants.json)"""
    database_dsn = stage.infra.database_dsn if stage.infra is not None else None
    try:
        report = check_invariants(settings.target, database_dsn, stage.base_url)
    except (OSError, asyncpg.PostgresError, httpx.HTTPError, KeyError, ValueError) as error:
        report = not_checked(f"the check itself failed: {type(error).__name__}: {error}")
    (run.path / DATA_CHECKS).write_bytes(msgspec.json.format(msgspec.json.encode(report)) + b"\n")
    run.update_manifest(invariants={"checked": report.checked, "passed": report.passed})


def _stop_locust(locust: subprocess.Popen[bytes]) -> None:
    """SIGTERM makes Locust's master stop its workers and write its statistics; stragglers are killed."""
    stop_process_tree(locust, signal_first=signal.SIGTERM, timeout=LOCUST_STOP_TIMEOUT)


def _finish(run: RunDirectory, settings: RunSettings, ended_because: str, started: dt.datetime) -> RunOutcome:
    phases = run.read_json("phases.json")
    steady = run.read_json("histograms/steady.json")
    timeseries = write_timeseries(run.path, phases)
    complete = ended_because == "finished" and steady is not None and (phases or {}).get("phase") == "done"
    steady_seconds = set()
    if not timeseries.empty and "actions" in timeseries:
        steady_rows = timeseries[(timeseries["phase"] == "steady") & timeseries["actions"].notna()]
        steady_seconds = {int(second) for second in steady_rows["second"]}
    validity = judge(run.path, steady_seconds, asked_rate=settings.load.rate, complete=complete,
                     why_incomplete=ended_because.splitlines()[0])  # fmt: skip
    checks = _count_check(run, steady)
    ended = dt.datetime.now(dt.UTC)
    run.update_manifest(
        status="complete" if complete else "incomplete", complete=complete, ended_because=ended_because,
        ended_at=ended.isoformat(), duration_s=round((ended - started).total_seconds(), 1), phases=phases,
        validity=validity.as_dict(), checks=checks,
        files=sorted(str(path.relative_to(run.path)) for path in run.path.rglob("*") if path.is_file()),
    )  # fmt: skip
    return RunOutcome(run, complete, ended_because, validity, steady, timeseries, checks)


def _count_check(run: RunDirectory, steady: dict[str, Any] | None) -> dict[str, Any]:
    """Histograms hold every request Locust counted: the same request events feed both."""
    locust_stats = run.read_json("locust/stats.json")
    locust_total = sum(int(entry["num_requests"]) for entry in locust_stats) if locust_stats else None
    recorded = int(steady["requests_recorded"]) if steady else None
    return {
        "locust_requests": locust_total,
        "histogram_requests": recorded,
        "histograms_match_locust": locust_total is not None and locust_total == recorded,
    }


def _signal_name(code: object) -> str:
    number = _code(code) - 128
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _code(code: object) -> int:
    return code if isinstance(code, int) else 1
