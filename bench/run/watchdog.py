"""Noticing that something a run depends on died: the target, a projector, the embedded PostgreSQL or Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil

from bench.infra.errors import InfraError
from bench.infra.postgres import EmbeddedPostgres
from bench.infra.redis import EmbeddedRedis
from bench.infra.stack import Infrastructure
from bench.infra.target_process import RunningTarget
from bench.rundir.validity import Ending, EndKind

EMBEDDED_POSTGRES = "the embedded PostgreSQL"
EMBEDDED_REDIS = "the embedded Redis"


@dataclass
class Watchdog:
    """Named checks, each returning an exit description of a dead process or None while it lives."""

    checks: list[tuple[EndKind, str, Callable[[], str | None]]] = field(default_factory=list)
    expected: set[str] = field(default_factory=set)  # names being restarted on purpose (a fault) right now

    @contextmanager
    def expecting_exit(self, name: str) -> Iterator[None]:
        """While the block runs, `name` exiting is planned, not a death."""
        self.expected.add(name)
        try:
            yield
        finally:
            self.expected.discard(name)

    def watch_target(self, target: RunningTarget, *, companions: bool = True) -> None:
        """The API (and query) workers, and unless someone else supervises them (`companions`), the projectors."""
        self.checks.append((EndKind.TARGET_DIED, f"target {target.spec.name}", _popen_exit(target.process.poll)))
        if target.query_workers is not None:
            name = f"the query workers of {target.spec.name}"
            self.checks.append((EndKind.TARGET_DIED, name, _popen_exit(target.query_workers.process.poll)))
        for index, companion in enumerate(target.companions if companions else []):
            name = f"{target.spec.name} projector {index}"
            self.checks.append((EndKind.TARGET_DIED, name, _popen_exit(companion.poll)))

    def watch_infrastructure(self, infra: Infrastructure) -> None:
        postgres, redis = infra.postgres, infra.redis
        if isinstance(postgres, EmbeddedPostgres):
            self.checks.append((EndKind.SERVER_DIED, EMBEDDED_POSTGRES, _pid_exit(lambda: postgres.pid)))
        if isinstance(redis, EmbeddedRedis):
            self.checks.append((EndKind.SERVER_DIED, EMBEDDED_REDIS, _pid_exit(lambda: redis.pid)))

    def first_death(self) -> Ending | None:
        """The first dead process (its kind, and a sentence naming it and how it ended), or None when all live."""
        for kind, name, check in self.checks:
            if name in self.expected:
                continue
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


def _pid_exit(pid_of: Callable[[], int]) -> Callable[[], str | None]:
    """Whether the process `pid_of` names now has exited (a restarted server has a new pid)."""
    processes: dict[int, psutil.Process] = {}

    def check() -> str | None:
        try:
            pid = pid_of()
            process = processes.get(pid) or processes.setdefault(pid, psutil.Process(pid))
            if process.status() != psutil.STATUS_ZOMBIE:
                return None
        except (psutil.NoSuchProcess, InfraError):  # InfraError: it is not running (it did not start again)
            pass
        return "exited"

    return check
