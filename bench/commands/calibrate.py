"""`bench calibrate`: run the floor target with a known delay distribution at low load; compare percentiles."""

from __future__ import annotations

from pathlib import Path

import click
from hdrh.histogram import HdrHistogram
from rich.table import Table

from bench.commands.console import console
from bench.commands.ending import conclude, finish
from bench.commands.options import RUNS_OUT
from bench.commands.params import DelayType, Duration
from bench.run.calibration import ABSOLUTE_TOLERANCE_MS, RELATIVE_TOLERANCE, CalibrationPoint, compare
from bench.run.orchestrate import RunOutcome, execute_run
from bench.run.settings import LoadSettings, RunSettings
from bench.run.summary import print_summary
from bench.rundir.files import ALL
from bench.seed.sizes import DATABASE_SIZES
from scenarios.keys import Skew
from targets.common.dataset import SeedSpec
from targets.common.delay import parse_delay

DEFAULT_DELAY = "uniform:2ms..20ms"


def calibration_table(points: list[CalibrationPoint], delay: str) -> Table:
    table = Table(title=f"Calibration: floor target with delay {delay}", title_justify="left")
    columns = (
        "percentile",
        "configured ms",
        "measured ms",
        "error ms",
        "error %",
        "expected with own time ms",
        "net error ms",
        "tolerance ms",
        "raw",
        "net",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for point in points:
        table.add_row(
            f"p{point.percentile:g}",
            f"{point.configured_ms:.3f}",
            f"{point.measured_ms:.3f}",
            f"{point.error_ms:+.3f}",
            f"{point.error_relative:+.1%}",
            f"{point.expected_ms:.3f}",
            f"{point.net_error_ms:+.3f}",
            f"{point.tolerance_ms:.2f}",
            _verdict(point.within_tolerance),
            _verdict(point.net_within_tolerance),
        )
    return table


def _verdict(ok: bool) -> str:
    return "[green]ok[/]" if ok else "[red]off[/]"


def _settings(delay: str, rate: float, duration: float, warmup: float, spin: float, out: Path) -> RunSettings:
    load = LoadSettings(
        scenario="banking",
        mix="read-heavy",
        users=max(10, int(rate)),
        spawn_rate=max(10.0, rate),
        rate=rate,
        duration=duration,
        warmup=warmup,
        processes=1,
        think_time=(0.0, 0.0),
        skew=Skew(),
        visibility_share=0.0,
        seed=1,
    )
    sizes = DATABASE_SIZES
    return RunSettings(
        load=load,
        target="floor",
        host=None,
        out=out,
        floor_delay=delay,
        floor_spin=spin,
        seed_spec=SeedSpec(sizes["accounts"], 1, sizes["customers"], sizes["orders"], 1),
    )


def _overall(outcome: RunOutcome) -> HdrHistogram | None:
    overall = outcome.steady.latency.get(ALL) if outcome.steady is not None else None
    if overall is None or not overall.count:
        return None
    return HdrHistogram.decode(overall.histogram.encode("ascii"))


@click.command()
@click.option(
    "--delay",
    type=DelayType(),
    default=DEFAULT_DELAY,
    show_default=True,
    help="The floor target's synthetic service time.",
)
@click.option(
    "--rate",
    type=click.FloatRange(0, min_open=True),
    default=50.0,
    show_default=True,
    help="Open-model requests per second: low, so that nothing queues.",
)
@click.option("--duration", type=Duration(), default="60s", show_default=True, help="Measured time of each run.")
@click.option("--warmup", type=Duration(allow_zero=True), default="5s", show_default=True, help="Unmeasured start.")
@click.option(
    "--spin",
    type=Duration(allow_zero=True),
    default="2ms",
    show_default=True,
    help="The last part of each delay the floor awaits by yielding instead of a timer, which fires up to "
    "a millisecond late; 0 measures the timer too.",
)
@click.option(
    "--baseline/--no-baseline",
    default=True,
    show_default=True,
    help="First measure the same load with no delay: the stack's and harness's own time.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=RUNS_OUT,
    show_default=True,
    help="Where the run directories are created.",
)
def calibrate(delay: str, rate: float, duration: float, warmup: float, spin: float, baseline: bool, out: Path) -> None:
    """Measure a known delay distribution through the whole harness and print configured vs measured."""
    baseline_histogram = None
    if baseline:
        console.print("baseline: the same load with no delay")
        baseline_outcome = execute_run(_settings("none", rate, duration, warmup, spin, out), console)
        if baseline_outcome.failure or baseline_outcome.stopped:
            finish(baseline_outcome)
        baseline_histogram = _overall(baseline_outcome)
    outcome = execute_run(_settings(delay, rate, duration, warmup, spin, out), console)
    print_summary(outcome, console)
    measured = _overall(outcome)
    if measured is not None:
        points = compare(parse_delay(delay), measured, baseline_histogram)
        console.print(calibration_table(points, delay))
        console.print(
            f"{measured.get_total_count():,} requests at {rate:g}/s; tolerance: {RELATIVE_TOLERANCE:.0%} or "
            f"{ABSOLUTE_TOLERANCE_MS:g} ms, whichever is larger; expected = the configured delay plus the "
            "baseline's own time, request by request (convolved); net error = measured - expected"
        )
        outcome.run.manifest.calibration = [point.record() for point in points]
        outcome.run.save_manifest()
    conclude(outcome)
