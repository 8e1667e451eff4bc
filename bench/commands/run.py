"""`bench run`: drive a target (started here, or an external --host) with a scenario and keep everything measured."""

from __future__ import annotations

from pathlib import Path

import click

from bench.commands.console import console
from bench.commands.ending import finish
from bench.commands.options import (
    RUNS_OUT,
    check_query_workers,
    cpu_request,
    placement_options,
    query_workers_option,
    seed_options,
    server_options,
)
from bench.commands.params import DelayType, Duration, FaultType, SkewType, ThinkTime
from bench.faults.spec import KINDS, FaultSpec, FaultSpecError, check_schedule
from bench.run.load import DEFAULT_RAMP_SECONDS, DEFAULT_USERS, OPEN_MODEL_RAMP_SECONDS, LoadError, load_settings
from bench.run.orchestrate import execute_run
from bench.run.settings import RunSettings
from bench.seed.sizes import seed_spec
from scenarios.catalog import DEFAULT_MIX, DEFAULT_THINK_TIME, DEFAULT_VISIBILITY_SHARE, MIXES, SCENARIOS
from scenarios.keys import Skew
from targets.registry import target_names


def _check_host(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise click.BadParameter(f"expected the base URL of a service, like http://127.0.0.1:8000, got {value!r}")
    return value.rstrip("/") if value else value


@click.command()
@click.option("--target", type=click.Choice(target_names()), default=None, help="Start this target and drive it.")
@click.option("--host", default=None, callback=_check_host, help="Drive a service already running at this base URL.")
@click.option("--scenario", type=click.Choice(sorted(SCENARIOS)), required=True, help="The Locust scenario.")
@click.option(
    "--mix",
    type=click.Choice(list(MIXES)),
    default=DEFAULT_MIX,
    show_default=True,
    help="read-heavy: 90% reads; balanced: half; write-heavy: 90% writes.",
)
@click.option(
    "--users",
    type=click.IntRange(1, 100_000),
    default=None,
    help=f"Closed model: virtual users [default {DEFAULT_USERS:,}]. Open model: most actions in flight "
    "[default: one second of arrivals].",
)
@click.option(
    "--spawn-rate",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help=f"Users started per second [default: all within {DEFAULT_RAMP_SECONDS:g} s, open model "
    f"{OPEN_MODEL_RAMP_SECONDS:g} s].",
)
@click.option(
    "--rate",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Open model: actions per second, each started at its scheduled time whatever the responses do.",
)
@click.option("--duration", type=Duration(), default="60s", show_default=True, help="Steady-state time measured.")
@click.option(
    "--warmup",
    type=Duration(allow_zero=True),
    default="10s",
    show_default=True,
    help="Time after the ramp-up that runs but is left out of the summary.",
)
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Locust processes generating load (above 1: a master and this many workers).",
)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Target worker processes.")
@click.option(
    "--projectors",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Projector processes of the cqrs target.",
)
@query_workers_option
@click.option(
    "--think-time",
    type=ThinkTime(),
    default=None,
    help=f"Closed model: pause between a user's actions, MIN..MAX [default "
    f"{DEFAULT_THINK_TIME[0]:g}s..{DEFAULT_THINK_TIME[1]:g}s].",
)
@click.option(
    "--skew",
    type=SkewType(),
    default="uniform",
    show_default=True,
    help="How keys are picked: uniform, or zipf:S (hot accounts).",
)
@click.option(
    "--visibility-share",
    type=click.FloatRange(0, 1),
    default=DEFAULT_VISIBILITY_SHARE,
    show_default=True,
    help="Share of actions that are visibility probes (write, then read until visible).",
)
@seed_options
@click.option("--no-seed", is_flag=True, help="Load no data; key files are still written (or taken from --keys).")
@click.option(
    "--keys",
    "keys_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="With --host: the key files of an earlier `bench seed`.",
)
@server_options
@click.option(
    "--pg-pool-size",
    type=click.IntRange(1, 500),
    default=16,
    show_default=True,
    help="PostgreSQL connections per target worker.",
)
@click.option(
    "--floor-delay",
    type=DelayType(),
    default="none",
    show_default=True,
    help="Synthetic service time of the floor target.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=RUNS_OUT,
    show_default=True,
    help="Where the run directory is created.",
)
@click.option(
    "--check-data",
    is_flag=True,
    help="After the load, run the target's own data checks too (invariants.json), as `bench compare` does.",
)
@click.option(
    "--fault",
    "faults",
    type=FaultType(),
    multiple=True,
    help=f"Inject a fault under load, AT seconds after the load starts (repeatable). KIND: {KINDS}.",
)
@placement_options
def run(
    target: str | None,
    host: str | None,
    scenario: str,
    mix: str,
    users: int | None,
    spawn_rate: float | None,
    rate: float | None,
    duration: float,
    warmup: float,
    processes: int,
    workers: int,
    projectors: int,
    query_workers: int,
    think_time: tuple[float, float] | None,
    skew: Skew,
    visibility_share: float,
    seed: int,
    accounts: int | None,
    entries: int | None,
    customers: int | None,
    orders: int | None,
    no_seed: bool,
    keys_dir: Path | None,
    pg_dsn: str | None,
    redis_url: str | None,
    pg_pool_size: int,
    floor_delay: str,
    out: Path,
    node_cpus: frozenset[int] | None,
    generator_cpus: frozenset[int] | None,
    co_located: bool,
    check_data: bool,
    faults: tuple[FaultSpec, ...],
) -> None:
    """Run a scenario against a target and print the path of the run directory it wrote.

    Starts the servers and the target (or drives --host), seeds the data set, runs Locust,
    samples every component each second, and leaves the results in a new run directory.
    """
    if (target is None) == (host is None):
        raise click.UsageError("expected either --target NAME (start a target) or --host URL (drive a running one)")
    if keys_dir is not None and host is None:
        raise click.UsageError("--keys goes with --host; a started target gets a fresh database and its own seed")
    if host is not None and no_seed and keys_dir is None:
        raise click.UsageError("--host with --no-seed needs --keys DIR holding the key files of an earlier seed")
    try:
        load = load_settings(
            scenario=scenario,
            mix=mix,
            users=users,
            spawn_rate=spawn_rate,
            rate=rate,
            duration=duration,
            warmup=warmup,
            processes=processes,
            think_time=think_time,
            skew=skew,
            visibility_share=visibility_share,
            seed=seed,
        )
        check_schedule(list(faults), load.expected_seconds())
    except (LoadError, FaultSpecError) as error:
        raise click.UsageError(str(error)) from None
    sizes = {"accounts": accounts, "entries": entries, "customers": customers, "orders": orders}
    settings = RunSettings(
        load=load,
        target=target,
        host=host,
        out=out,
        seed_spec=seed_spec(sizes, seed, through_api=host is not None),
        load_data=not no_seed and keys_dir is None,
        workers=workers,
        projectors=projectors,
        query_workers=check_query_workers(query_workers, target),
        pg_pool_size=pg_pool_size,
        floor_delay=floor_delay,
        pg_dsn=pg_dsn or None,
        redis_url=redis_url or None,
        keys_dir=keys_dir,
        cpus=cpu_request(node_cpus, generator_cpus, co_located),
        faults=faults,
        check_invariants=check_data,
    )
    finish(execute_run(settings, console))
