"""`bench run`: drive a target (started here, or an external --host) with a scenario and keep everything measured."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from bench.commands.options import seed_options, seed_spec, server_options
from bench.commands.params import DelayType, Duration, SkewType, ThinkTime
from bench.infra.errors import InfraError
from bench.run.orchestrate import RunOutcome, execute_run
from bench.run.settings import LoadSettings, RunSettings
from bench.run.summary import print_summary
from scenarios.catalog import DEFAULT_MIX, DEFAULT_THINK_TIME, DEFAULT_VISIBILITY_SHARE, MIXES, SCENARIOS
from scenarios.keys import Skew
from targets.registry import target_names

DEFAULT_OUT = Path("reports") / "runs"
DEFAULT_USERS = 1_000
DEFAULT_RAMP_SECONDS = 10.0  # closed model: a population arrives over time
OPEN_MODEL_RAMP_SECONDS = 2.0  # open model: the users are only connections waiting for the schedule
MAX_ACTIONS_PER_USER_SECOND = 1_000.0  # an open-model user sends one action at a time, none faster than 1 ms

# Tables wider than a pipe's default 80 columns: endpoint names are long.
console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


def open_model_users(rate: float, users: int | None) -> int:
    """In the open model users are the requests that may be in flight; enough for one second of arrivals."""
    needed = math.ceil(rate / MAX_ACTIONS_PER_USER_SECOND)
    if users is None:
        return max(10, math.ceil(rate))
    if users < needed:
        raise click.UsageError(
            f"--rate {rate:g} with --users {users} is impossible: each user has one action in flight and none "
            f"completes in under 1 ms, so the rate needs at least {needed} users (or leave --users out)"
        )
    return users


def load_settings(options: dict[str, Any]) -> LoadSettings:
    """The load from the command's options (click has checked each one; this checks how they combine)."""
    rate: float | None = options["rate"]
    users: int | None = options["users"]
    think_time: tuple[float, float] | None = options["think_time"]
    if rate is not None:
        if think_time is not None:
            raise click.UsageError(
                "--think-time belongs to the closed model; with --rate the arrival schedule paces every action"
            )
        users = open_model_users(rate, users)
    users = users if users is not None else DEFAULT_USERS
    ramp_seconds = OPEN_MODEL_RAMP_SECONDS if rate is not None else DEFAULT_RAMP_SECONDS
    if options["processes"] > users:
        raise click.UsageError(f"--processes {options['processes']} needs at least as many users, got --users {users}")
    spawn_rate: float | None = options["spawn_rate"]
    return LoadSettings(
        scenario=options["scenario"],
        mix=options["mix"],
        users=users,
        spawn_rate=spawn_rate if spawn_rate is not None else max(1.0, users / ramp_seconds),
        rate=rate,
        duration=options["duration"],
        warmup=options["warmup"],
        processes=options["processes"],
        think_time=think_time or DEFAULT_THINK_TIME,
        skew=options["skew"],
        visibility_share=options["visibility_share"],
        seed=options["seed"],
    )


def finish(outcome: RunOutcome) -> None:
    print_summary(outcome, console)
    conclude(outcome)


def end_as_it_ended(result: Path, *, interrupted: bool, exit_code: int | None) -> None:
    """Print where the results are (standard output: for scripts); end with Ctrl-C's or the signal's code."""
    print(result, flush=True)
    if interrupted:
        raise KeyboardInterrupt
    if exit_code is not None:
        sys.exit(exit_code)


def conclude(outcome: RunOutcome) -> None:
    """Print the run directory; end the way the run ended."""
    end_as_it_ended(outcome.run.path, interrupted=outcome.interrupted, exit_code=outcome.exit_code)
    if outcome.failure is not None:
        raise InfraError(f"{outcome.failure}\nWhat was measured so far is in {outcome.run.path}")


def _check_host(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise click.BadParameter(f"expected the base URL of a service, like http://127.0.0.1:8000, got {value!r}")
    return value.rstrip("/") if value else value


@click.command()
@click.option("--target", type=click.Choice(target_names()), default=None, help="Start this target and drive it.")
@click.option("--host", default=None, callback=_check_host, help="Drive a service already running at this base URL.")
@click.option("--scenario", type=click.Choice(sorted(SCENARIOS)), required=True, help="The Locust scenario.")
@click.option("--mix", type=click.Choice(list(MIXES)), default=DEFAULT_MIX, show_default=True,
              help="read-heavy: 90% reads; balanced: half; write-heavy: 90% writes.")  # fmt: skip
@click.option("--users", type=click.IntRange(1, 100_000), default=None,
              help=f"Closed model: virtual users [default {DEFAULT_USERS:,}]. Open model: most actions in flight "
                   "[default: one second of arrivals].")  # fmt: skip
@click.option("--spawn-rate", type=click.FloatRange(0, min_open=True), default=None,
              help=f"Users started per second [default: all within {DEFAULT_RAMP_SECONDS:g} s, open model "
                   f"{OPEN_MODEL_RAMP_SECONDS:g} s].")  # fmt: skip
@click.option(
    "--rate",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Open model: actions per second, each started at its scheduled time whatever the responses do.",
)
@click.option("--duration", type=Duration(), default="60s", show_default=True, help="Steady-state time measured.")
@click.option("--warmup", type=Duration(allow_zero=True), default="10s", show_default=True,
              help="Time after the ramp-up that runs but is left out of the summary.")  # fmt: skip
@click.option("--processes", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Locust processes generating load (above 1: a master and this many workers).")  # fmt: skip
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Target worker processes.")
@click.option("--projectors", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Projector processes of the cqrs target.")  # fmt: skip
@click.option("--think-time", type=ThinkTime(), default=None,
              help=f"Closed model: pause between a user's actions, MIN..MAX [default "
                   f"{DEFAULT_THINK_TIME[0]:g}s..{DEFAULT_THINK_TIME[1]:g}s].")  # fmt: skip
@click.option("--skew", type=SkewType(), default="uniform", show_default=True,
              help="How keys are picked: uniform, or zipf:S (hot accounts).")  # fmt: skip
@click.option("--visibility-share", type=click.FloatRange(0, 1), default=DEFAULT_VISIBILITY_SHARE, show_default=True,
              help="Share of actions that are visibility probes (write, then read until visible).")  # fmt: skip
@seed_options
@click.option("--no-seed", is_flag=True, help="Load no data; key files are still written (or taken from --keys).")
@click.option("--keys", "keys_dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="With --host: the key files of an earlier `bench seed`.")  # fmt: skip
@server_options
@click.option("--pg-pool-size", type=click.IntRange(1, 500), default=16, show_default=True,
              help="PostgreSQL connections per target worker.")  # fmt: skip
@click.option("--floor-delay", type=DelayType(), default="none", show_default=True,
              help="Synthetic service time of the floor target.")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT, show_default=True,
              help="Where the run directory is created.")  # fmt: skip
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
    load = load_settings(click.get_current_context().params)
    sizes = {"accounts": accounts, "entries": entries, "customers": customers, "orders": orders}
    settings = RunSettings(
        load=load, target=target, host=host, out=out, seed_spec=seed_spec(sizes, seed, through_api=host is not None),
        load_data=not no_seed and keys_dir is None, workers=workers, projectors=projectors, pg_pool_size=pg_pool_size,
        floor_delay=floor_delay, pg_dsn=pg_dsn or None, redis_url=redis_url or None, keys_dir=keys_dir,
    )  # fmt: skip
    finish(execute_run(settings, console))
