"""`bench compare`: run an experiment's arms interleaved and write the comparison report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markdown import Markdown

from bench.commands.console import console
from bench.commands.ending import EXIT_WRITES_LOST, end_as_it_ended
from bench.commands.experiments import experiment_argument, given_experiment, set_option
from bench.commands.options import checked, cpu_request, placement_options, server_options
from bench.compare.experiment import Experiment, ExperimentError, Servers
from bench.compare.overrides import Override
from bench.report.location import REPORTS

if TYPE_CHECKING:
    from bench.compare.runner import ExperimentOutcome

EXIT_SLO_FAILED = 3  # the comparison ran; an SLO failed (for CI gates)


def _experiment(given: str | None, overrides: tuple[Override, ...], quick: bool, aa: bool) -> Experiment:
    experiment = given_experiment(given, overrides)
    if quick:
        try:
            experiment = experiment.quick()
        except ExperimentError as error:
            raise click.BadParameter(str(error), param_hint="--quick") from None
    if aa:
        experiment = experiment.noise_floor()
    return experiment


@click.command()
@experiment_argument
@set_option
@click.option(
    "--quick",
    is_flag=True,
    help="Two short repetitions on a small data set, and a short capacity search (about 2.5 minutes).",
)
@click.option(
    "--aa", is_flag=True, help="A/A: run the baseline arm against itself, to see the noise floor of this machine."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=REPORTS,
    show_default=True,
    help="Where the report directory (and the 'latest' link) is created.",
)
@server_options
@placement_options
def compare(
    experiment: str | None,
    overrides: tuple[Override, ...],
    quick: bool,
    aa: bool,
    out: Path,
    pg_dsn: str | None,
    redis_url: str | None,
    node_cpus: frozenset[int] | None,
    generator_cpus: frozenset[int] | None,
    co_located: bool,
) -> None:
    """Compare configurations: run the arms of EXPERIMENT (a TOML file, or the name of one in
    scenarios/experiments; default: crud vs cqrs on the mixed scenario) interleaved, repeated on fresh
    infrastructure, and write the report. --set changes the file's keys (applied before --quick).

    Prints the report directory. Exits 4 when an acknowledged write was lost or doubled (or readers saw
    otherwise), else 3 when an SLO of the experiment failed.
    """
    from bench.compare.runner import run_experiment  # scipy and matplotlib: only for this command

    options = cpu_request(node_cpus, generator_cpus, co_located)
    chosen = _experiment(experiment, overrides, quick, aa)
    servers = Servers(pg_dsn or None, redis_url or None, checked(chosen.cpus.overridden_by(options)))
    outcome = run_experiment(chosen, reports=out, servers=servers, console=console, aa=aa)
    _conclude(outcome)


def _conclude(outcome: ExperimentOutcome) -> None:
    from bench.report.markdown import table_markdown
    from bench.report.tables import metric_table

    summary = outcome.summary
    if summary is not None:
        console.print(Markdown(table_markdown(metric_table(summary, "headline"))))
    failures = summary.slo_failures() if summary is not None else []
    for failure in failures:
        console.print(f"[red]SLO failed:[/] {failure}")
    lost = summary.write_failures() if summary is not None else []
    for failure in lost:
        console.print(f"[red]acknowledged writes:[/] {failure}")
    console.print(f"Report: {outcome.report / 'report.html'}")
    end_as_it_ended(outcome.report, interrupted=outcome.interrupted, exit_code=outcome.exit_code)
    if lost:
        sys.exit(EXIT_WRITES_LOST)  # before the SLOs: a service that loses writes has no latency worth judging
    if failures:
        sys.exit(EXIT_SLO_FAILED)
