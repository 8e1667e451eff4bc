"""Applying a run's faults at their offsets, in a thread beside the sampling loop, and supervising the projectors.

A fault is applied once, at AT seconds after the load's start; a lasting one is lifted FOR seconds later. While
faults run, the projectors are supervised as a deployment would (a dead one is started again, within a restart
budget) instead of ending the run; the servers a fault restarts are not reported dead while it does. Everything
is recorded in faults.json as it happens, so a run that is interrupted still says what was injected.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.faults.spec import FaultKind, FaultSpec
from bench.infra.errors import InfraError
from bench.infra.postgres import EmbeddedPostgres
from bench.infra.probe import wait_until
from bench.infra.redis import EmbeddedRedis
from bench.infra.supervision import RestartBudget, restart_companion
from bench.run.prepare import Stage
from bench.run.watchdog import EMBEDDED_POSTGRES, EMBEDDED_REDIS
from bench.rundir import files
from bench.rundir.columns import Component
from bench.rundir.faults import FaultOutcome, FaultRecord, FaultTimeline, RestartRecord
from bench.rundir.validity import Ending, EndKind
from bench.rundir.write import write_struct

SUPERVISE_PERIOD_S = 0.2  # how soon a dead projector is noticed
EXIT_TIMEOUT_S = 10.0  # a SIGKILLed process is gone well within this
WORKER_REPLACED_TIMEOUT_S = 30.0  # uvicorn's supervisor checks its workers every half second
STOP_TIMEOUT_S = 120.0  # a fault being applied when the run stops (a PostgreSQL restart) is let finish


@dataclass
class Applied:
    outcome: FaultOutcome
    detail: str
    lift: Callable[[], str] | None = None  # undoes a lasting fault, and says how
    over: bool = True  # False: over only when lifted


@dataclass(frozen=True)
class _Restartable:
    """A server the harness can restart when it embeds it, and how the watchdog and the samplers know it."""

    embedded: type[EmbeddedRedis | EmbeddedPostgres]
    name: str
    option: str  # the option that names an external one instead
    watched_as: str
    component: Component


def not_applicable(detail: str) -> Applied:
    return Applied(FaultOutcome.NOT_APPLICABLE, detail)


class FaultRun:
    """Applies `faults` to `stage` from `load_started` (time.monotonic()) on, until finish(); supervises until close().

    The thread lives until close(), at the end of the run: the servers and projectors it restarted were started
    from it, and their parent-death signal (bench.infra.processes.spawn) fires when the thread that started them
    ends, not the process. Ending it before the run's checks shut down a PostgreSQL it had restarted.
    """

    def __init__(self, faults: list[FaultSpec], stage: Stage, run_path: Path, load_started: float) -> None:
        self._faults = sorted(faults, key=lambda fault: fault.at_s)
        self._stage, self._path, self._origin = stage, run_path, load_started
        self._timeline = FaultTimeline(load_started_at=time.time() - (time.monotonic() - load_started))
        self._lock = threading.Lock()
        self._over = threading.Event()  # no more faults; those lasting are to be lifted
        self._lifted = threading.Event()  # ... and they were
        self._closing = threading.Event()
        self._lifts: list[tuple[float, FaultRecord, Callable[[], str]]] = []
        self._budget = RestartBudget()
        self.failure: Ending | None = None  # a projector the supervisor gave up on: the run ends with it
        self._thread = threading.Thread(target=self._loop, name="faults", daemon=True)
        self._save()

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        """No more faults; any fault still lasting is lifted (a paused projector continues). Supervision goes on."""
        self._over.set()
        if self._thread.is_alive():
            self._lifted.wait(timeout=STOP_TIMEOUT_S)  # a fault being applied (a restart) is let finish first
        else:
            self._lift_all()

    def close(self) -> None:
        """The end of the run: finished, then the thread (and with it, the supervision) ended."""
        self.finish()
        self._closing.set()
        self._thread.join(timeout=STOP_TIMEOUT_S)

    def _loop(self) -> None:
        pending = list(self._faults)
        while not self._closing.is_set():
            if self._over.is_set():
                if not self._lifted.is_set():
                    self._lift_all()
                    self._lifted.set()
            elif self.failure is None:
                elapsed = time.monotonic() - self._origin
                while pending and pending[0].at_s <= elapsed and not self._over.is_set():
                    self._apply(pending.pop(0))
                due = [lift for lift in self._lifts if lift[0] <= time.monotonic() - self._origin]
                for lift in due:
                    self._lifts.remove(lift)
                    self._lift(lift[1], lift[2])
            if self.failure is None:
                self._supervise()
            self._closing.wait(SUPERVISE_PERIOD_S)

    def _lift_all(self) -> None:
        for _, record, lift in self._lifts:
            self._lift(record, lift)
        self._lifts.clear()
        self._save()

    def _apply(self, fault: FaultSpec) -> None:
        started, began = time.time(), time.monotonic() - self._origin
        try:
            applied = self._applier(fault.kind)()
        except (InfraError, OSError, psutil.Error) as error:
            applied = Applied(FaultOutcome.FAILED, f"{type(error).__name__}: {error}")
        record = FaultRecord(
            fault=fault.text,
            kind=fault.kind.value,
            at_s=fault.at_s,
            outcome=applied.outcome,
            detail=applied.detail,
            started_at=started if applied.outcome is FaultOutcome.APPLIED else None,
            ended_at=time.time() if applied.outcome is FaultOutcome.APPLIED and applied.over else None,
        )
        if applied.lift is not None and fault.for_s is not None:
            self._lifts.append((began + fault.for_s, record, applied.lift))  # FOR from when it began
        with self._lock:
            self._timeline.faults.append(record)
        self._save()

    def _lift(self, record: FaultRecord, lift: Callable[[], str]) -> None:
        try:
            record.detail = f"{record.detail}; {lift()}"
        except (OSError, psutil.Error) as error:
            record.detail = f"{record.detail}; it could not be lifted: {type(error).__name__}: {error}"
        record.ended_at = time.time()
        self._save()

    def _save(self) -> None:
        with self._lock:
            write_struct(self._path / files.FAULTS, self._timeline)

    def _applier(self, kind: FaultKind) -> Callable[[], Applied]:
        return {
            FaultKind.KILL_PROJECTOR: self._kill_projector,
            FaultKind.PAUSE_PROJECTOR: self._pause_projector,
            FaultKind.KILL_WORKER: self._kill_worker,
            FaultKind.FLUSH_REDIS: self._flush_redis,
            FaultKind.RESTART_REDIS: self._restart_redis,
            FaultKind.RESTART_POSTGRES: self._restart_postgres,
        }[kind]

    # --- the projectors ---------------------------------------------------------------------------------

    def _no_projector(self) -> Applied | None:
        target = self._stage.target
        if target is None:
            return not_applicable("the target runs elsewhere (--host): its processes are not the harness's")
        if not target.companions:
            return not_applicable(f"target {target.spec.name} has no projector")
        return None

    def _kill_projector(self) -> Applied:
        if (absent := self._no_projector()) is not None:
            return absent
        target = self._stage.target
        assert target is not None
        victim = target.companions[0]
        victim.send_signal(signal.SIGKILL)
        wait_until(lambda: victim.poll() is not None, timeout=EXIT_TIMEOUT_S, what=f"projector 0 (pid {victim.pid})")
        restarted = self._restart(0, "projector 0 was killed (SIGKILL) by the fault")
        if restarted is None:
            return Applied(FaultOutcome.APPLIED, f"projector 0 (pid {victim.pid}) killed; it did not start again")
        return Applied(FaultOutcome.APPLIED, f"projector 0 (pid {victim.pid}) killed, and started again as {restarted}")

    def _pause_projector(self) -> Applied:
        if (absent := self._no_projector()) is not None:
            return absent
        target = self._stage.target
        assert target is not None
        paused = target.companions[0]
        paused.send_signal(signal.SIGSTOP)

        def lift() -> str:
            if paused.poll() is not None:
                return "it had exited before it could continue"
            paused.send_signal(signal.SIGCONT)
            return "continued (SIGCONT)"

        return Applied(FaultOutcome.APPLIED, f"projector 0 (pid {paused.pid}) stopped (SIGSTOP)", lift, over=False)

    def _supervise(self) -> None:
        target = self._stage.target
        if target is None or self._closing.is_set():
            return
        for index, companion in enumerate(target.companions):
            if companion.poll() is not None:
                self._restart(index, f"projector {index} exited with code {companion.returncode}")

    def _restart(self, index: int, ended: str) -> int | None:
        """Projector `index` started again (its pid), or None when the budget is spent (the run then ends)."""
        target = self._stage.target
        assert target is not None
        exited_at = time.time()
        try:
            process = restart_companion(target, index, ended, target.log_path.parent, self._budget, lambda _: None)
        except InfraError as error:
            self.failure = Ending(EndKind.TARGET_DIED, f"{target.spec.name} {error}")
            self._record_restart(RestartRecord(f"projector {index}", exited_at, None, str(error)))
            return None
        target.companions[index] = process
        self._add_root(Component.PROJECTORS, process.pid)
        self._record_restart(RestartRecord(f"projector {index}", exited_at, time.time(), f"{ended}; pid {process.pid}"))
        return process.pid

    def _record_restart(self, record: RestartRecord) -> None:
        with self._lock:
            self._timeline.restarts.append(record)
        self._save()

    def _add_root(self, name: Component, pid: int) -> None:
        for component in self._stage.components:
            if component.name is name and component.sampler is not None:
                component.sampler.add_root(pid)

    # --- the API workers --------------------------------------------------------------------------------

    def _kill_worker(self) -> Applied:
        target = self._stage.target
        if target is None:
            return not_applicable("the target runs elsewhere (--host): its processes are not the harness's")
        if target.workers < 2:
            return not_applicable(
                "one API worker is the whole API: uvicorn replaces a dead worker only with --workers 2 or more"
            )
        master = psutil.Process(target.process.pid)

        def workers() -> list[psutil.Process]:
            return [child for child in master.children() if "spawn_main" in " ".join(child.cmdline())]

        victim = min(workers(), key=lambda worker: worker.pid)
        os.kill(victim.pid, signal.SIGKILL)
        wait_until(
            lambda: victim.pid not in {worker.pid for worker in workers()} and len(workers()) == target.workers,
            timeout=WORKER_REPLACED_TIMEOUT_S,
            what=f"uvicorn to replace API worker {victim.pid}",
        )
        return Applied(FaultOutcome.APPLIED, f"API worker {victim.pid} killed (SIGKILL); uvicorn started another")

    # --- the servers ------------------------------------------------------------------------------------

    def _flush_redis(self) -> Applied:
        infra = self._stage.infra
        if infra is None or infra.redis is None:
            return not_applicable("the target uses no Redis")
        infra.flush_redis()
        return Applied(FaultOutcome.APPLIED, "the target's Redis database flushed (FLUSHDB): its read models lost")

    def _restart_redis(self) -> Applied:
        infra = self._stage.infra
        server = infra.redis if infra is not None else None
        restarted = _Restartable(EmbeddedRedis, "Redis", "--redis-url", EMBEDDED_REDIS, Component.REDIS)
        return self._restart_server(server, restarted, "restarted without its data")

    def _restart_postgres(self) -> Applied:
        infra = self._stage.infra
        server = infra.postgres if infra is not None else None
        restarted = _Restartable(EmbeddedPostgres, "PostgreSQL", "--pg-dsn", EMBEDDED_POSTGRES, Component.POSTGRES)
        return self._restart_server(server, restarted, "shut down fast and started again")

    def _restart_server(self, server: object, kind: _Restartable, how: str) -> Applied:
        if server is None:
            return not_applicable(f"the target uses no {kind.name}")
        if not isinstance(server, kind.embedded):
            return not_applicable(f"an external {kind.name} ({kind.option}) is not the harness's to restart")
        old = server.pid
        with self._stage.watchdog.expecting_exit(kind.watched_as):
            server.restart()
        self._add_root(kind.component, server.pid)
        return Applied(FaultOutcome.APPLIED, f"the embedded {kind.name} (pid {old}) {how}, as pid {server.pid}")
