"""Starting a target service (uvicorn workers) as a child process and probing it until it serves."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

import httpx

from bench.infra.errors import InfraError
from bench.infra.logs import log_tail
from bench.infra.ports import free_tcp_port
from bench.infra.probe import wait_until
from bench.infra.processes import spawn, stop_process_tree
from targets.common.settings import SettingsError, TargetSettings


@dataclass(frozen=True)
class TargetSpec:
    name: str
    app: str
    needs_postgres: bool
    needs_redis: bool


TARGETS: dict[str, TargetSpec] = {
    spec.name: spec
    for spec in (
        TargetSpec("crud", "targets.crud.app:create_app", needs_postgres=True, needs_redis=False),
        TargetSpec("floor", "targets.floor.app:create_app", needs_postgres=False, needs_redis=False),
    )
}


@dataclass
class RunningTarget:
    spec: TargetSpec
    base_url: str
    workers: int
    process: Popen[bytes]
    log_path: Path
    settings_env: dict[str, str] = field(default_factory=dict)

    def stop(self, timeout: float = 15.0) -> None:
        stop_process_tree(self.process, timeout=timeout)


def uvicorn_argv(spec: TargetSpec, *, host: str, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        spec.app,
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
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        # 10,000 virtual users may connect at once: the default backlog of 2048 would refuse some.
        "--backlog",
        "16384",
    ]


def start_target(
    spec: TargetSpec,
    *,
    settings_env: dict[str, str],
    log_dir: Path,
    host: str = "127.0.0.1",
    port: int | None = None,
    workers: int = 1,
    ready_timeout: float = 60.0,
) -> RunningTarget:
    """Start `spec` with its settings in the environment and return once /health answers."""
    env = {**os.environ, **settings_env}
    try:
        TargetSettings.from_env(env)  # the target would refuse them too, but with a traceback in its log
    except SettingsError as exc:
        raise InfraError(f"invalid target setting {exc}") from None
    port = port if port is not None else free_tcp_port(host)
    log_path = log_dir / f"target-{spec.name}-{port}.log"
    process = spawn(uvicorn_argv(spec, host=host, port=port, workers=workers), env=env, log_path=log_path)
    base_url = f"http://{host}:{port}"
    target = RunningTarget(spec, base_url, workers, process, log_path, settings_env)
    try:
        wait_until(
            lambda: process.poll() is not None or _healthy(base_url),
            timeout=ready_timeout,
            what=f"target {spec.name} at {base_url}",
        )
        if process.poll() is not None:
            raise InfraError(
                f"target {spec.name} exited with code {process.returncode} while starting.\n{log_tail(log_path)}"
            )
    except BaseException:
        target.stop()
        raise
    return target


def _healthy(base_url: str) -> bool:
    return httpx.get(f"{base_url}/health", timeout=1.0).status_code == 200


__all__ = ["TARGETS", "RunningTarget", "TargetSpec", "start_target"]
