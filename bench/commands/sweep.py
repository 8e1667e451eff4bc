"""`bench sweep`: find each configuration's limit at its SLOs, fit a scalability law, plan nodes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.markdown import Markdown

from bench.capacity.definition import SweepDefinition
from bench.capacity.search import SearchPolicy
from bench.commands.console import console
from bench.commands.ending import end_as_it_ended
from bench.commands.experiments import experiment_argument, given_experiment, set_option
from bench.commands.options import checked, cpu_request, placement_options, server_options
from bench.commands.params import Counts, DelayType, Duration, Fraction, ThinkTime
from bench.compare.experiment import DEFAULT_GENERATOR_RETRIES, MAX_GENERATOR_RETRIES, Arm, Experiment, Servers
from bench.compare.overrides import Override
from bench.infra.cpus import CpuRequest
from bench.report.location import REPORTS
from bench.report.slo import SLO_SYNTAX, Slo, parse_slo
from bench.run.settings import LoadSettings
from scenarios.catalog import DEFAULT_MIX, DEFAULT_VISIBILITY_SHARE, MIXES, SCENARIOS
from scenarios.keys import parse_skew
from targets.common.dataset import SeedSpec
from targets.registry import target_names

DEFAULT_SCENARIO = "mixed"
# Small, so that every step (fresh servers, seeding, then load) starts within seconds.
SWEEP_DATA = SeedSpec(accounts=500, entries=50, customers=200, orders=2_000, seed=1)
# Option -> (default, with --quick).
DEFAULTS: dict[str, tuple[Any, Any]] = {
    "step_duration": (20.0, 5.0),
    "warmup": (5.0, 2.0),
    "resolution": (0.05, 0.10),
    "max_steps": (12, 6),
}


def _slos(texts: tuple[str, ...], experiment: Experiment | None) -> tuple[Slo, ...]:
    try:
        slos = tuple(parse_slo(text) for text in texts)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--slo") from None
    if not slos and experiment is not None:
        slos = experiment.slos
    if not slos:
        raise click.UsageError(
            f"no SLO to judge the steps by: give --slo, like --slo 'p99<100ms' ({SLO_SYNTAX}), or an "
            "experiment file with slos = [...]"
        )
    return slos


def _experiment(given: str | None, targets: tuple[str, ...], overrides: tuple[Override, ...]) -> Experiment | None:
    if given is not None and targets:
        raise click.UsageError("expected an EXPERIMENT file or --target arms, not both")
    if overrides and targets:
        raise click.UsageError(
            f"--set {overrides[0].text} changes a key of an experiment file; expected it with EXPERIMENT (or the "
            "default experiment), not with --target arms"
        )
    if targets:
        return None
    return given_experiment(given, overrides)


def _target_arms(targets: tuple[str, ...], floor_delay: str | None) -> tuple[Arm, ...]:
    repeated = sorted({target for target in targets if targets.count(target) > 1})
    if repeated:
        raise click.UsageError(f"--target {repeated[0]} is given twice; expected each target once")
    if floor_delay is not None and "floor" not in targets:
        raise click.UsageError("--floor-delay is the floor target's; expected --target floor with it")
    return tuple(Arm(name=target, target=target, floor_delay=floor_delay or "none") for target in targets)


def _load(experiment: Experiment | None, options: dict[str, Any]) -> LoadSettings:
    """The load every step shares; each step sets its own rate or users."""
    timing = {"duration": options["step_duration"], "warmup": options["warmup"]}
    chosen = {key: options[key] for key in ("scenario", "mix") if options[key] is not None}
    if experiment is not None:
        return replace(experiment.load, **timing, **chosen)
    return LoadSettings(
        scenario=chosen.get("scenario", DEFAULT_SCENARIO),
        mix=chosen.get("mix", DEFAULT_MIX),
        users=10,
        spawn_rate=10.0,
        rate=None,
        processes=1,
        think_time=(0.0, 0.0),
        skew=parse_skew("uniform"),
        visibility_share=DEFAULT_VISIBILITY_SHARE,
        seed=1,
        **timing,
    )


def _policy(options: dict[str, Any]) -> SearchPolicy:
    try:
        return SearchPolicy(
            start_rate=options["start_rate"],
            relative_resolution=options["resolution"],
            max_steps=options["max_steps"],
            ceiling=options["max_rate"],
        )
    except ValueError as error:
        raise click.UsageError(f"the rate search cannot be set up: {error}") from None


def _cpus(experiment: Experiment | None, options: dict[str, Any]) -> CpuRequest:
    """The command line's CPU options over the experiment file's [node] and [generator]."""
    asked = cpu_request(options["node_cpus"], options["generator_cpus"], options["co_located"])
    return checked(experiment.cpus.overridden_by(asked)) if experiment is not None else asked


def definition_from(given: str | None, options: dict[str, Any]) -> SweepDefinition:
    """The sweep the command line asks for (click has checked each option; this checks how they combine)."""
    quick = options["quick"]
    for name, (default, quick_default) in DEFAULTS.items():
        if options[name] is None:
            options[name] = quick_default if quick else default
    targets: tuple[str, ...] = options["target"]
    experiment = _experiment(given, targets, options["overrides"])
    if options["think_time"] is not None and not options["concurrency"]:
        raise click.UsageError("--think-time is the concurrency levels'; expected --concurrency with it")
    if experiment is not None and options["floor_delay"] is not None:
        raise click.UsageError("--floor-delay goes with --target floor; an experiment file sets floor_delay per arm")
    arms = experiment.arms if experiment is not None else _target_arms(targets, options["floor_delay"])
    data = SWEEP_DATA if experiment is None else (experiment.quick() if quick else experiment).data
    name = f"{experiment.name}-sweep" if experiment is not None else f"sweep-{'-'.join(targets)}"
    return SweepDefinition(
        name=name,
        load=_load(experiment, options),
        data=data,
        arms=arms,
        slos=_slos(options["slo"], experiment),
        policy=_policy(options),
        in_flight=options["in_flight"],
        workers=options["workers"] or (),
        concurrency=options["concurrency"] or (),
        think_time=options["think_time"] or (0.0, 0.0),
        plan_rate=options["plan_rate"],
        headroom=options["headroom"],
        confirm_failures=options["confirm"],
        generator_retries=_generator_retries(experiment, options["generator_retries"]),
        servers=Servers(options["pg_dsn"] or None, options["redis_url"] or None, _cpus(experiment, options)),
    )


def _generator_retries(experiment: Experiment | None, given: int | None) -> int:
    if given is not None:
        return given
    return experiment.generator_retries if experiment is not None else DEFAULT_GENERATOR_RETRIES


@click.command()
@experiment_argument
@set_option
@click.option(
    "--target",
    multiple=True,
    type=click.Choice(target_names()),
    help="An arm of this target with default settings (repeatable); instead of EXPERIMENT.",
)
@click.option(
    "--slo",
    multiple=True,
    help="A service-level objective every step must meet, e.g. 'p99<100ms' or 'errors<0.1%' (repeatable; "
    "default: the experiment's slos).",
)
@click.option(
    "--scenario",
    type=click.Choice(sorted(SCENARIOS)),
    default=None,
    help=f"The Locust scenario [default: the experiment's, or {DEFAULT_SCENARIO}].",
)
@click.option(
    "--mix",
    type=click.Choice(list(MIXES)),
    default=None,
    help=f"The read/write mix [default: the experiment's, or {DEFAULT_MIX}].",
)
@click.option(
    "--start-rate",
    type=click.FloatRange(0, min_open=True),
    default=100.0,
    show_default=True,
    help="The first arrival rate tried (actions/s); doubled until a step fails, then bisected.",
)
@click.option(
    "--max-rate",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Never ask for more than this many actions/s [default: no ceiling].",
)
@click.option(
    "--resolution",
    type=Fraction(),
    default=None,
    help="Stop bisecting once the limit is known this closely [default 5%, --quick 10%].",
)
@click.option(
    "--max-steps",
    type=click.IntRange(1, 100),
    default=None,
    help="Most steps of one rate search [default 12, --quick 6].",
)
@click.option(
    "--step-duration",
    type=Duration(),
    default=None,
    help="Steady-state time measured per step [default 20s, --quick 5s].",
)
@click.option(
    "--warmup",
    type=Duration(allow_zero=True),
    default=None,
    help="Time run before each step's measurement [default 5s, --quick 2s].",
)
@click.option(
    "--in-flight",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Open model: most actions in flight [default: one second of arrivals, at least 10]. Fewer "
    "users load the generator less; too few for the target's latency show as a failed SLO.",
)
@click.option(
    "--workers",
    type=Counts(),
    default=None,
    help="Repeat the rate search with these target worker counts, e.g. 1,2 (the scale-out).",
)
@click.option(
    "--concurrency",
    type=Counts(),
    default=None,
    help="Closed-model levels of users to fit the scalability law to, e.g. 8,16,32,64.",
)
@click.option(
    "--think-time",
    type=ThinkTime(),
    default=None,
    help="Think time of the concurrency levels' users [default 0: back to back].",
)
@click.option(
    "--plan-rate",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Plan the nodes (target workers) needed for this many actions/s at the SLO.",
)
@click.option(
    "--headroom",
    type=Fraction(),
    default=0.3,
    show_default=True,
    help="Plan to run nodes at (1 - headroom) of their limit at the SLO.",
)
@click.option(
    "--floor-delay",
    type=DelayType(),
    default=None,
    help="Synthetic service time (or stall) of a --target floor arm [default: none].",
)
@click.option(
    "--confirm/--no-confirm",
    default=True,
    show_default=True,
    help="Repeat a failing rate step; it fails only if the repeat does not pass (one stall of a shared "
    "machine should not set a limit).",
)
@click.option(
    "--generator-retries",
    type=click.IntRange(0, MAX_GENERATOR_RETRIES),
    default=None,
    help="Run a step again, up to this many times, when the load generator spoiled it (its event loop "
    "lagged or its core saturated) [default: the experiment's generator_retries, else 1].",
)
@click.option("--quick", is_flag=True, help="Short steps, a coarser resolution and at most 6 steps per search.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=REPORTS,
    show_default=True,
    help="Where the report directory (and the 'latest' link) is created.",
)
@server_options
@placement_options
def sweep(experiment: str | None, **options: Any) -> None:
    """Find the highest arrival rate at which each arm meets every SLO, and write the capacity report.

    The arms are those of EXPERIMENT (a TOML file or the name of one in scenarios/experiments, its keys
    changed by --set; default: crud vs cqrs on the mixed scenario) or the --target ones. Each step is a
    short open-model run; a step whose load generator saturated is void.
    Prints the report directory; Ctrl-C stops the sweep after writing the report of what was measured.
    """
    from bench.capacity.sweep import run_sweep  # scipy and matplotlib: only for this command
    from bench.capacity.tables import capacity_table
    from bench.report.markdown import table_markdown

    definition = definition_from(experiment, options)
    outcome = run_sweep(definition, reports=options["out"], console=console)
    console.print(Markdown(table_markdown(replace(capacity_table(outcome.data), notes=[]))))
    console.print(f"Report: {outcome.report / 'capacity.html'}")
    end_as_it_ended(outcome.report, interrupted=outcome.interrupted, exit_code=outcome.exit_code)
