"""`bench up`: start the infrastructure and a target, print its base URL, and serve until Ctrl-C."""

from __future__ import annotations

import functools
import math
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from subprocess import Popen

import click
from rich.console import Console

from bench.commands.options import (
    check_query_workers,
    cpu_request,
    placement_options,
    query_workers_option,
    server_options,
)
from bench.infra.cpus import plan_cpus, said_cpus
from bench.infra.errors import InfraError
from bench.infra.logs import log_tail
from bench.infra.probe import wait_until
from bench.infra.signals import sigterm_exits
from bench.infra.stack import Infrastructure
from bench.infra.supervision import RestartBudget, restart_companion
from bench.infra.target_process import (
    RunningTarget,
    floor_delay_setting,
    harness_settings,
    start_target,
)
from targets.common.delay import DELAY_SYNTAX, parse_delay
from targets.registry import get_target, target_names

console = Console(stderr=True, soft_wrap=True, highlight=False)


def _any_exited(processes: list[Popen[bytes]]) -> bool:
    return any(process.poll() is not None for process in processes)


def _supervise(running: RunningTarget, log_dir: Path, budget: RestartBudget) -> None:
    """Serve until the API or the query workers exit; a companion that exits is started again, within `budget`."""
    target = running.spec.name
    while True:
        processes = running.processes
        wait_until(
            functools.partial(_any_exited, processes),
            timeout=math.inf,
            what=f"an exit of target {target}",
            interval=0.5,
        )
        exited = next(process for process in processes if process.poll() is not None)
        if exited in running.companions:
            index = running.companions.index(exited)
            ended = f"projector {index} exited with code {exited.returncode}"
            running.companions[index] = restart_companion(running, index, ended, log_dir, budget, console.print)
            continue
        which = f"target {target}" if exited is running.process else f"the query workers of {target}"
        log = log_tail(running.log_path) if exited is running.process else f"logs in {log_dir}"
        raise InfraError(f"{which} exited with code {exited.returncode}.\n{log}")


def _check_delay(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        parse_delay(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


@click.command()
@click.option("--target", type=click.Choice(target_names()), required=True, help="The service to start.")
@click.option("--listen", default="127.0.0.1", show_default=True, help="Address the target binds to.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Target port; 0 picks a free one.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="uvicorn worker processes.")
@click.option(
    "--pg-pool-size",
    type=click.IntRange(1, 500),
    default=16,
    show_default=True,
    help="PostgreSQL connections per worker.",
)
@server_options
@click.option("--keep-database", is_flag=True, help="Do not drop the database created on an external server.")
@click.option(
    "--floor-delay",
    default="none",
    show_default=True,
    callback=_check_delay,
    help=f"Synthetic service time of the floor target: {DELAY_SYNTAX}.",
)
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where target logs go (default: a new temporary directory).",
)
@click.option(
    "--projectors",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Projector processes of the cqrs target, one per shard of the streams (other targets ignore it).",
)
@query_workers_option
@placement_options
def up(
    target: str,
    listen: str,
    port: int,
    workers: int,
    pg_pool_size: int,
    pg_dsn: str | None,
    redis_url: str | None,
    keep_database: bool,
    floor_delay: str,
    log_dir: Path | None,
    projectors: int,
    query_workers: int,
    node_cpus: frozenset[int] | None,
    generator_cpus: frozenset[int] | None,
    co_located: bool,
) -> None:
    """Start the infrastructure and a target, print its base URL, and serve until Ctrl-C.

    The target, its projectors and the embedded servers run on the node's CPUs (--node-cpus; by default
    those the load generator's share, --generator-cpus, leaves), unless --co-located.
    """
    spec = get_target(target)
    check_query_workers(query_workers, target)
    uses_redis = spec.uses_redis(os.environ)  # the target reads its other settings from this environment
    outside = (
        ("PostgreSQL (--pg-dsn)", bool(pg_dsn) and spec.needs_postgres),
        ("Redis (--redis-url)", bool(redis_url) and uses_redis),
    )
    plan = plan_cpus(
        cpu_request(node_cpus, generator_cpus, co_located),
        external_servers=[name for name, external in outside if external],
    )
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="cqrsb-up-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    with (
        sigterm_exits(),
        Infrastructure(
            pg_dsn=pg_dsn or None,
            redis_url=redis_url or None,
            need_postgres=spec.needs_postgres,
            need_redis=uses_redis,
            keep_database=keep_database,
            cpus=plan.node,
        ) as infra,
    ):
        target_settings = harness_settings(infra.database_dsn, infra.redis_url)
        target_settings = replace(
            target_settings, pg_pool_size=pg_pool_size, floor_delay=floor_delay_setting(floor_delay)
        )
        running = start_target(
            spec,
            settings_env=target_settings.to_env(),
            log_dir=log_dir,
            host=listen,
            port=port or None,
            workers=workers,
            projectors=projectors,
            query_workers=query_workers,
            cpus=plan.node,
        )
        try:
            for kind, info in infra.manifest().items():
                console.print(f"[bold]{kind}[/] {info.mode} {info.version} at {info.address}")
            if infra.database_dsn is not None:
                console.print(f"database: {infra.database_dsn}")
            companions = f" and {len(running.companions)} projector(s)" if running.companions else ""
            console.print(f"target [bold]{target}[/] with {workers} worker(s){companions}; logs in {log_dir}")
            if running.query_workers is not None:
                console.print(f"query side: {running.query_workers.workers} worker(s) at {running.query_url}")
            if plan.node is not None:
                generator = f"; load generators belong on {said_cpus(plan.generator)}" if plan.generator else ""
                console.print(f"node: {said_cpus(plan.node)}{generator}")
            if plan.why_not is not None:
                console.print(f"not isolated: {plan.why_not}")
            console.print("Ctrl-C stops the target and the servers.")
            print(running.base_url, flush=True)
            _supervise(running, log_dir, RestartBudget())
        finally:
            running.stop()
