"""Starting a target service (uvicorn workers, plus any companion processes) and probing it until it serves."""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from subprocess import Popen

import httpx

from bench.infra.errors import InfraError
from bench.infra.logs import log_tail
from bench.infra.ports import free_tcp_port
from bench.infra.probe import wait_until
from bench.infra.processes import spawn, stop_process_tree
from targets.common.delay import DelayDistribution, parse_delay
from targets.common.description import TargetDescription
from targets.common.settings import SettingsError, TargetSettings

READY_FILE_ENV = "BENCH_READY_FILE"


@dataclass
class QueryWorkers:
    """The query side in processes of its own (`--query-workers`): a uvicorn of the target's query app."""

    base_url: str
    workers: int
    process: Popen[bytes]
    log_path: Path


@dataclass
class RunningTarget:
    spec: TargetDescription
    base_url: str
    workers: int
    process: Popen[bytes]
    log_path: Path
    settings_env: dict[str, str] = field(default_factory=dict)
    companions: list[Popen[bytes]] = field(default_factory=list)
    cpus: frozenset[int] | None = None  # what the API workers and companions are pinned to; None: not pinned
    query_workers: QueryWorkers | None = None  # None: the API workers serve the queries too

    @property
    def query_url(self) -> str:
        """Where the reads go: the query workers if there are any, else the API."""
        return self.query_workers.base_url if self.query_workers is not None else self.base_url

    @property
    def processes(self) -> list[Popen[bytes]]:
        """The API workers' parent, the query workers' (if any) and the companions, in that order."""
        query = [self.query_workers.process] if self.query_workers is not None else []
        return [self.process, *query, *self.companions]

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the API workers and the query workers, then the companions (which may still be catching up:
        they are stopped, not drained)."""
        api, *others = self.processes
        try:
            stop_process_tree(api, timeout=timeout)
        finally:
            for process in others:
                stop_process_tree(process, timeout=timeout)


def harness_settings(database_dsn: str | None, redis_url: str | None) -> TargetSettings:
    """A started target's settings: those of this process's environment, pointed at the servers started for it."""
    try:
        settings = TargetSettings.from_env()
    except SettingsError as exc:
        raise InfraError(f"invalid target setting {exc}") from None
    return replace(settings, pg_dsn=database_dsn, redis_url=redis_url)


def server_settings(database_dsn: str | None, redis_url: str | None) -> dict[str, str]:
    """The environment of a target started on these servers, with its other settings as they are."""
    return harness_settings(database_dsn, redis_url).to_env()


def floor_delay_setting(spec: str) -> DelayDistribution:
    try:
        return parse_delay(spec)
    except ValueError as exc:
        raise InfraError(f"invalid target setting BENCH_FLOOR_DELAY: {exc}") from None


# httptools with a deadline on request headers (uvicorn has none: a silent or slow client holds a connection).
HTTP_PROTOCOL = "targets.common.http_protocol:GuardedHttpToolsProtocol"


def uvicorn_argv(app: str, *, host: str, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        HTTP_PROTOCOL,
        "--no-access-log",
        # Nothing stands in front of the targets: uvicorn's X-Forwarded-For middleware is a layer per request.
        "--no-proxy-headers",
        "--log-level",
        "warning",
        # 10,000 virtual users may connect at once: the default backlog of 2048 would refuse some.
        "--backlog",
        "16384",
    ]


def start_companion(
    spec: TargetDescription,
    index: int,
    count: int,
    *,
    settings_env: dict[str, str],
    log_dir: Path,
    ready_timeout: float = 60.0,
    cpus: frozenset[int] | None = None,
) -> Popen[bytes]:
    """Start companion `index` of `count` of `spec`, pinned to `cpus` if given, and return once it reports ready."""
    companion = spec.companion
    if companion is None:
        raise InfraError(f"target {spec.name} has no companion processes")
    name = f"{spec.name}-{companion.module.rpartition('.')[2]}-{index}of{count}"
    log_path = log_dir / f"{name}.log"
    ready_file = log_dir / f"{name}.ready"
    ready_file.unlink(missing_ok=True)
    env = {**os.environ, **settings_env, companion.count_env: str(count), READY_FILE_ENV: str(ready_file)}
    process = spawn(companion.argv(index, count), env=env, log_path=log_path, cpus=cpus)
    try:
        wait_until(
            lambda: process.poll() is not None or ready_file.exists(),
            timeout=ready_timeout,
            what=f"{name} (log: {log_path})",
        )
        if process.poll() is not None:
            raise InfraError(f"{name} exited with code {process.returncode} while starting.\n{log_tail(log_path)}")
    except BaseException:
        stop_process_tree(process)
        raise
    return process


def start_target(
    spec: TargetDescription,
    *,
    settings_env: dict[str, str],
    log_dir: Path,
    host: str = "127.0.0.1",
    port: int | None = None,
    workers: int = 1,
    projectors: int | None = None,
    query_workers: int = 0,
    ready_timeout: float = 60.0,
    cpus: frozenset[int] | None = None,
) -> RunningTarget:
    """Start `spec` with its settings in the environment and return once /health answers.

    With `cpus`, uvicorn (and so each of its workers) and the companions are pinned to those CPUs.

    A target with a companion (cqrs) also gets `projectors` companion processes (default: the
    companion's default count), started once the API serves and ready before this returns.
    Other targets ignore `projectors`. `query_workers` > 0 starts the target's query app in that many
    workers of their own, on a port of their own (a target without a query app refuses it).
    """
    companion_count = 0
    if spec.companion is not None:
        companion_count = projectors if projectors is not None else spec.companion.default_count
        if companion_count < 1:
            raise InfraError(f"target {spec.name} needs at least one {spec.companion.module} process")
        settings_env = {**settings_env, spec.companion.count_env: str(companion_count)}
    if query_workers and spec.query_app is None:
        raise InfraError(f"target {spec.name} has no query side of its own to run in query workers")
    env = {**os.environ, **settings_env}
    try:
        spec.check_settings(env)  # the target would refuse them too, but with a traceback in its log
    except SettingsError as exc:
        raise InfraError(f"invalid target setting {exc}") from None
    port = port if port is not None else free_tcp_port(host)
    log_path = log_dir / f"target-{spec.name}-{port}.log"
    serve = functools.partial(_serve, host=host, env=env, cpus=cpus, timeout=ready_timeout)
    process = serve(spec.app, port=port, workers=workers, log_path=log_path, what=f"target {spec.name}")
    target = RunningTarget(spec, f"http://{host}:{port}", workers, process, log_path, settings_env, cpus=cpus)
    try:
        if query_workers:
            assert spec.query_app is not None
            query_port = free_tcp_port(host)
            query_log = log_dir / f"target-{spec.name}-queries-{query_port}.log"
            query_process = serve(
                spec.query_app,
                port=query_port,
                workers=query_workers,
                log_path=query_log,
                what=f"the query workers of {spec.name}",
            )
            target.query_workers = QueryWorkers(f"http://{host}:{query_port}", query_workers, query_process, query_log)
        for index in range(companion_count):
            target.companions.append(
                start_companion(
                    spec,
                    index,
                    companion_count,
                    settings_env=settings_env,
                    log_dir=log_dir,
                    ready_timeout=ready_timeout,
                    cpus=cpus,
                )
            )
    except BaseException:
        target.stop()
        raise
    return target


def _serve(
    app: str,
    *,
    host: str,
    port: int,
    workers: int,
    env: dict[str, str],
    log_path: Path,
    cpus: frozenset[int] | None,
    what: str,
    timeout: float,
) -> Popen[bytes]:
    """uvicorn serving `app`, once its /health answers; stopped again if it does not."""
    process = spawn(uvicorn_argv(app, host=host, port=port, workers=workers), env=env, log_path=log_path, cpus=cpus)
    base_url = f"http://{host}:{port}"
    try:
        wait_until(
            lambda: process.poll() is not None or _healthy(base_url), timeout=timeout, what=f"{what} at {base_url}"
        )
        if process.poll() is not None:
            raise InfraError(f"{what} exited with code {process.returncode} while starting.\n{log_tail(log_path)}")
    except BaseException:
        stop_process_tree(process)
        raise
    return process


def _healthy(base_url: str) -> bool:
    return httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200


__all__ = [
    "QueryWorkers",
    "RunningTarget",
    "floor_delay_setting",
    "harness_settings",
    "server_settings",
    "start_companion",
    "start_target",
]
