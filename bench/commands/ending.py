"""How a command that ran load ends: the path of what it wrote on standard output, then the exit it earned."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.commands.console import console
from bench.infra.errors import InfraError
from bench.run.orchestrate import RunOutcome
from bench.run.summary import print_summary
from bench.rundir import files

EXIT_WRITES_LOST = 4  # the load ran; an acknowledged write was lost or doubled, or readers saw otherwise


def finish(outcome: RunOutcome) -> None:
    """Print the run's summary and its directory; end the way the run ended."""
    print_summary(outcome, console)
    conclude(outcome)


def conclude(outcome: RunOutcome) -> None:
    """Print the run directory; end the way the run ended."""
    end_as_it_ended(outcome.run.path, interrupted=outcome.interrupted, exit_code=outcome.exit_code)
    if outcome.failure is not None:
        raise InfraError(f"{outcome.failure}\nWhat was measured so far is in {outcome.run.path}")
    if outcome.write_check is not None and outcome.write_check.passed is False:
        console.print(f"[red]acknowledged writes were lost or doubled[/]; see {outcome.run.path / files.ACKNOWLEDGED}")
        sys.exit(EXIT_WRITES_LOST)


def end_as_it_ended(result: Path, *, interrupted: bool, exit_code: int | None) -> None:
    """Print where the results are (standard output: for scripts); end with Ctrl-C's or the signal's code."""
    print(result, flush=True)
    if interrupted:
        raise KeyboardInterrupt
    if exit_code is not None:
        sys.exit(exit_code)
