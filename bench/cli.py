"""The `bench` command: one entry point, one subcommand per job."""

from __future__ import annotations

import signal
from typing import Any

import click
from rich.console import Console

from bench.commands.benchmark import benchmark
from bench.commands.calibrate import calibrate
from bench.commands.compare import compare
from bench.commands.cqrs import history, rebuild
from bench.commands.report import report
from bench.commands.run import run
from bench.commands.seed import seed
from bench.commands.sweep import sweep
from bench.commands.up import up
from bench.infra.errors import InfraError

EXIT_INFRASTRUCTURE_ERROR = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a program Ctrl-C stopped

console = Console(stderr=True, soft_wrap=True, highlight=False)


class BenchGroup(click.Group):
    """Ends each subcommand with the exit code scripts rely on, in the console script and in CliRunner alike.

    Click itself gives 2 for a usage error; this gives 1 for an infrastructure error and 130 for Ctrl-C,
    where Click would print "Aborted!" and exit 1. SIGTERM's 143 is bench.infra.signals' SystemExit.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (KeyboardInterrupt, click.Abort):
            console.print("stopped.")
            ctx.exit(EXIT_INTERRUPTED)
        except InfraError as exc:
            console.print(f"[red]error:[/] {exc}")
            ctx.exit(EXIT_INFRASTRUCTURE_ERROR)


@click.group(cls=BenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cqrs-bench")
def cli() -> None:
    """cqrs-bench: check CRUD vs CQRS/event-sourcing claims on your own hardware."""


for command in (compare, run, up, seed, calibrate, rebuild, history, report, sweep, benchmark):
    cli.add_command(command)


def main() -> None:
    # A shell starts background jobs with SIGINT ignored; `bench up &` must still stop on SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    cli()
