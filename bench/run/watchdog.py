"""Noticing that something a run depends on died: the target, a projector, the embedded PostgreSQL or Redis."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from bench.infra.postgres import EmbeddedPostgres
from bench.infra.redis import EmbeddedRedis
from bench.infra.stack import Infrastructure
from bench.infra.target_process import RunningTarget
from bench.rundir.validity import Ending, EndKind


@dataclass
class Watchdog:
    """Named checks, each returning an exit description of a dead process or None while it lives."""

    checks: list[tuple[EndKind, str, Callable[[], str | None]]] = field(default_factory=list)

    def watch_target(self, target: RunningTarget) -> None:
        self.checks.append((EndKind.TARGET_DIED, f"target {target.spec.name}", _popen_exit(target.process.poll)))
        if target.query_workers is not None:
            name = f"the query workers of {target.spec.name}"
            self.checks.append((EndKind.TARGET_DIED, name, _popen_exit(target.query_workers.process.poll)))
        for index, companion in enumerate(target.companions):
            name = f"{target.spec.name} projector {index}"
            self.checks.append((EndKind.TARGET_DIED, name, _popen_exit(companion.poll)))

    def watch_infrastructure(self, infra: Infrastructure) -> None:
        if isinstance(infra.postgres, EmbeddedPostgres):
            self.checks.append((EndKind.SERVER_DIED, "the embedded PostgreSQL", _pid_exit(infra.postgres.pid)))
        if isinstance(infra.redis, EmbeddedRedis):
            self.checks.append((EndKind.SERVER_DIED, "the embedded Redis", _pid_exit(infra.redis.pid)))

    def first_death(self) -> Ending | None:
        """The first dead process (its kind, and a sentence naming it and how it ended), or None when all live."""
        for kind, name, check in self.checks:
            ended = check()
            if ended is not None:
                return Ending(kind, f"{name} {ended} during the run")
        return None


def _popen_exit(poll: Callable[[], int | None]) -> Callable[[], str | None]:
    def check() -> str | None:
        code = poll()
        if code is None:
            return None
        return f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"

    return check


def _pid_exit(pid: int) -> Callable[[], str | None]:
    process = psutil.Process(pid)

    def check() -> str | None:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                return None
        except psutil.NoSuchProcess:
            pass
        return "exited"

    return check
