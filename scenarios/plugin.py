"""Locust event wiring for the scenarios: options, recording on workers, merging on the master, phases.

Imported by every locustfile here. Roles follow Locust's runner: a worker (or the single process
of a local run) records requests and sends a report every second with runner.send_message; the
master (or that same single process) merges the reports, keeps the run's phases, fixes the open
model's schedule once all users are spawned, and stops the test after warm-up + duration.

Phases: ramp (spawning users) -> warm-up -> steady (measured) -> stop. The steady window is
in whole wall-clock seconds, the same clock `bench run` samples its collectors on.
"""

from __future__ import annotations

import gc
import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeGuard

import gevent
import psutil
from gevent.lock import BoundedSemaphore
from locust import events
from locust.env import Environment
from locust.runners import LocalRunner, MasterRunner, Runner, WorkerRunner

from bench.rundir import columns, files
from bench.rundir.messages import REPORT_MESSAGE, SCHEDULE_MESSAGE, MessageError, Schedule, WorkerReport
from bench.rundir.phases import Phase, Phases
from bench.rundir.steady import Window
from bench.rundir.write import write_struct
from bench.rundir.writes import file_name as writes_file
from scenarios.aggregation import IntervalMerger
from scenarios.csvlog import CsvLog
from scenarios.options import ScenarioOptions, add_arguments
from scenarios.pacing import ArrivalSchedule
from scenarios.recording import IntervalRecorder
from scenarios.writes import WriteLog

LOOP_LAG_PERIOD = columns.LOOP_LAG_PERIOD_S  # seconds between the loop-lag probe's wake-ups
OLDEST_GENERATION = 2
NO_FULL_COLLECTION = 1_000_000_000  # middle-generation collections before a full one: none in a run
MERGE_SLICE_SECONDS = 0.002  # the per-second merge lets the users' I/O in after this much work
MERGE_YIELD_SECONDS = 0.0005  # the shortest timer: the loop polls for I/O and runs due timers before it fires
REPORT_OFFSET = 0.05  # report this long after each second ends, so that the second is over everywhere
SCHEDULE_LEAD = 0.5  # the open model starts this long after the schedule is sent, so every worker has it


class BenchState:
    """Everything the plugin keeps in one Locust process."""

    def __init__(self) -> None:
        self.options: ScenarioOptions | None = None
        self.recorder: IntervalRecorder | None = None
        self.merger: IntervalMerger | None = None
        self.schedule = ArrivalSchedule()
        self.phases = Phases()
        self.greenlets: list[gevent.Greenlet[..., Any]] = []
        self.users_log: CsvLog | None = None
        self.worker_index = 0
        self.environment: Environment | None = None
        self.merging = BoundedSemaphore()
        self.collection_started: float | None = None  # perf_counter() of the garbage collection under way
        self.writes: WriteLog | None = None  # this process's writes and their outcomes (users' processes only)

    def require_options(self) -> ScenarioOptions:
        if self.options is None:
            raise RuntimeError("the scenario options are read at test start; no test has started")
        return self.options


STATE = BenchState()


def _is_worker(runner: Runner | None) -> TypeGuard[WorkerRunner | LocalRunner]:
    return isinstance(runner, WorkerRunner | LocalRunner)


def _is_master(runner: Runner | None) -> TypeGuard[MasterRunner | LocalRunner]:
    return isinstance(runner, MasterRunner | LocalRunner)


def _on_parser(parser: Any, **kwargs: Any) -> None:
    add_arguments(parser)


def _on_init(environment: Environment, **kwargs: Any) -> None:
    STATE.environment = environment
    runner = environment.runner
    if runner is None:
        return
    if _is_master(runner):
        runner.register_message(REPORT_MESSAGE, _on_report)
    if _is_worker(runner):
        runner.register_message(SCHEDULE_MESSAGE, _on_schedule)


def _on_test_start(environment: Environment, **kwargs: Any) -> None:
    options = STATE.options = ScenarioOptions.from_parsed(environment.parsed_options)
    runner = environment.runner
    if _is_worker(runner) and options.out_dir is not None:
        STATE.worker_index = max(int(getattr(runner, "worker_index", 0)), 0)
        STATE.recorder = IntervalRecorder(open_model=options.open_model)
        STATE.writes = WriteLog(options.out_dir / writes_file(STATE.worker_index, os.getpid()))
        STATE.greenlets += [gevent.spawn(_report_every_second, runner), gevent.spawn(_probe_loop_lag)]
        if _time_collections not in gc.callbacks:
            gc.callbacks.append(_time_collections)
    if _is_master(runner) and options.out_dir is not None:
        workers = len(runner.clients) if isinstance(runner, MasterRunner) else 1
        slices = _TimeSlices(MERGE_SLICE_SECONDS)
        STATE.merger = IntervalMerger(options.out_dir, expected_workers=workers, pause=slices.pause)
        STATE.users_log = CsvLog(options.out_dir / files.USERS, columns.USERS)
        STATE.phases.test_start = time.time()
        STATE.phases.phase = Phase.RAMP
        STATE.phases.target_users = int(getattr(environment.parsed_options, "num_users", 0) or 0)
        STATE.greenlets.append(gevent.spawn(_write_status_every_second, runner, options.out_dir))


def _on_request(
    name: str,
    response_time: float,
    response: Any,
    context: dict[str, Any],
    exception: BaseException | None,
    start_time: float | None = None,
    **kwargs: Any,
) -> None:
    recorder = STATE.recorder
    if recorder is None:
        return
    recorder.record_request(
        name,
        response_time,
        start_time=start_time if start_time is not None else time.time() - response_time / 1000.0,
        intended=context.get("intended"),
        failure=None if exception is None else failure_kind(response, exception),
    )


def failure_kind(response: Any, exception: BaseException) -> str:
    status = int(getattr(response, "status_code", 0) or 0)
    return f"HTTP {status}" if status else type(exception).__name__


def _freeze_the_users(user_count: int, **kwargs: Any) -> None:
    """Once every user exists, take them out of the garbage collector's sight, and stop full collections.

    10,000 users are millions of long-lived objects; every full collection would walk them all and
    stall this process's event loop for a quarter of a second, which the loop-lag check rightly counts
    against the generator. gc.freeze() moves them to a generation no collection visits; collecting
    first keeps garbage from being frozen with them. The pause this costs falls in the warm-up.

    That is not enough: a user makes its connection pool, socket and parser at its first request, which
    comes after a think time (up to 40 s into the claim's run), so long-lived objects keep arriving and
    a full collection walked them 10 s into the steady state (130 ms, in every run). Young collections
    still free what a request leaves behind; only the full ones are put off, for a run of minutes.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NO_FULL_COLLECTION)


def _time_collections(phase: str, info: dict[str, int]) -> None:
    """gc.callbacks: each collection's pause, added to the second it ended in (loop_lag.csv gc_pause_ms)."""
    recorder = STATE.recorder
    if phase == "start":
        STATE.collection_started = time.perf_counter()
    elif recorder is not None and STATE.collection_started is not None:
        paused_ms = (time.perf_counter() - STATE.collection_started) * 1000.0
        recorder.record_gc_pause(paused_ms, full=info.get("generation") == OLDEST_GENERATION)
        STATE.collection_started = None


def _on_spawning_complete(user_count: int, **kwargs: Any) -> None:
    options = STATE.options
    runner = STATE.environment.runner if STATE.environment is not None else None
    if options is None or runner is None or not _is_master(runner):
        return
    phases = STATE.phases
    phases.ramp_end = time.time()
    started = phases.ramp_end
    if options.open_model:
        started = _start_schedule(runner, options.rate)
    phases.steady_start = math.ceil(started + options.warmup)
    phases.steady_end = phases.steady_start + math.ceil(options.duration) if options.duration > 0 else None
    phases.phase = Phase.WARMUP if options.warmup > 0 else Phase.STEADY
    if STATE.merger is not None:
        STATE.merger.window = Window(phases.steady_start, phases.steady_end or 2**62)
    if phases.steady_end is not None:
        STATE.greenlets.append(gevent.spawn(_stop_at, runner, phases.steady_end))


def _start_schedule(runner: Runner, rate: float) -> float:
    t0 = time.time() + SCHEDULE_LEAD
    STATE.phases.schedule_start = t0
    if isinstance(runner, MasterRunner):
        workers = sorted(client.id for client in runner.clients.all)
        for index, client_id in enumerate(workers):
            schedule = Schedule(t0=t0, rate=rate, index=index, count=len(workers))
            runner.send_message(SCHEDULE_MESSAGE, schedule.to_message(encoded=True), client_id=client_id)
    else:
        runner.send_message(SCHEDULE_MESSAGE, Schedule(t0=t0, rate=rate, index=0, count=1).to_message(encoded=False))
    return t0


def _on_schedule(environment: Environment, msg: Any, **kwargs: Any) -> None:
    try:
        schedule = Schedule.from_message(msg.data)
    except MessageError as error:
        _refuse(environment, error)
        return
    STATE.schedule.start(t0=schedule.t0, rate=schedule.rate, index=schedule.index, count=schedule.count)


def _on_report(environment: Environment, msg: Any, **kwargs: Any) -> None:
    if STATE.merger is not None:
        try:
            report = WorkerReport.from_message(msg.data)
        except MessageError as error:
            _refuse(environment, error)
            return
        with STATE.merging:  # merging yields between endpoints: one report at a time
            STATE.merger.add_report(report, now=time.time())


def _refuse(environment: Environment, error: MessageError) -> None:
    """A message this version cannot read ends the test, saying why, rather than merging what it guessed."""
    logging.getLogger("bench").error("stopping: %s", error)
    if environment.runner is not None:
        environment.runner.quit()


class _TimeSlices:
    """The per-second merge's pause: after every `slice_seconds` of merging, let the loop poll.

    gevent.sleep(0) only runs the callbacks already queued, so the users' responses and timers waited out
    the whole merge (10-28 ms of CPU each second with 10,000 users, measured), and the loop-lag probe
    rightly counted it against the generator. Sleeping on the shortest timer lets the loop poll for I/O
    and run what is due; doing so only once per slice keeps the merge's own time about what it was.
    """

    def __init__(self, slice_seconds: float) -> None:
        self._slice = slice_seconds
        self._since = time.perf_counter()

    def pause(self) -> None:
        if time.perf_counter() - self._since >= self._slice:
            gevent.sleep(MERGE_YIELD_SECONDS)
            self._since = time.perf_counter()


def _stop_at(runner: Runner, end: float) -> None:
    gevent.sleep(max(0.0, end - time.time()) + REPORT_OFFSET)
    STATE.phases.phase = Phase.STOPPING
    STATE.phases.stop = time.time()
    runner.stop()  # workers stop their users and send their last report before saying they stopped
    runner.quit()


def _report_every_second(runner: Runner) -> None:
    process = psutil.Process()
    process.cpu_percent(None)
    while True:
        now = time.time()
        gevent.sleep(math.floor(now) + 1 + REPORT_OFFSET - now)
        _send_report(runner, cpu=process.cpu_percent(None))
        if STATE.writes is not None:
            STATE.writes.flush()


def _send_report(runner: Runner, *, cpu: float | None, everything: bool = False) -> None:
    recorder = STATE.recorder
    if recorder is None:
        return
    through, seconds = recorder.drain(everything=everything)
    report = WorkerReport(worker=STATE.worker_index, through=through, cpu=cpu, seconds=seconds)
    # Within one process the histograms are handed over as they are; encoding is for the wire.
    runner.send_message(REPORT_MESSAGE, report.to_message(encoded=not isinstance(runner, LocalRunner)))


def _probe_loop_lag() -> None:
    """Measure how late this process's event loop wakes a greenlet: a busy loop delays every response too."""
    recorder = STATE.recorder
    while recorder is not None:
        before = time.perf_counter()
        gevent.sleep(LOOP_LAG_PERIOD)
        recorder.record_loop_lag(max(0.0, (time.perf_counter() - before - LOOP_LAG_PERIOD) * 1000.0))


def _write_status_every_second(runner: Runner, out_dir: Path) -> None:
    while True:
        now = time.time()
        gevent.sleep(math.floor(now) + 1 - now)
        _update_phase(runner)
        if STATE.users_log is not None:
            STATE.users_log.write([[math.floor(now), STATE.phases.users]])
            STATE.users_log.flush()
        _write_status(out_dir)


def _update_phase(runner: Runner) -> None:
    phases = STATE.phases
    phases.users = int(runner.user_count)
    now = time.time()
    if phases.phase is Phase.WARMUP and phases.steady_start is not None and now >= phases.steady_start:
        phases.phase = Phase.STEADY


def _write_status(out_dir: Path) -> None:
    write_struct(out_dir / files.PHASES, STATE.phases)


def _on_test_stop(environment: Environment, **kwargs: Any) -> None:
    runner = environment.runner
    if runner is not None and _is_worker(runner) and STATE.recorder is not None:
        _send_report(runner, cpu=None, everything=True)
    if STATE.writes is not None:
        STATE.writes.flush()  # the users have stopped: every outcome is in


def _on_quit(**kwargs: Any) -> None:
    for greenlet in STATE.greenlets:
        greenlet.kill(block=False)
    if STATE.writes is not None:
        STATE.writes.close()
        STATE.writes = None
    if STATE.merger is None:
        return
    with STATE.merging:
        STATE.merger.close(now=time.time())
    if STATE.users_log is not None:
        STATE.users_log.close()
    STATE.phases.phase = Phase.DONE
    if STATE.phases.stop is None:
        STATE.phases.stop = time.time()
    options = STATE.require_options()
    assert options.out_dir is not None
    _write_status(options.out_dir)


def _listen(hook: Any, listener: Callable[..., None]) -> None:
    hook.add_listener(listener)  # Locust's EventHook is untyped


_listen(events.init_command_line_parser, _on_parser)
_listen(events.init, _on_init)
_listen(events.test_start, _on_test_start)
_listen(events.request, _on_request)
_listen(events.spawning_complete, _freeze_the_users)
_listen(events.spawning_complete, _on_spawning_complete)
_listen(events.test_stop, _on_test_stop)
_listen(events.quit, _on_quit)
