"""`bench report`: rebuild a report from stored run directories alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from bench.report.location import CAPACITY, RUNS, capacity_runs, new_report_directory, point_latest
from bench.report.rundata import is_run_directory
from bench.rundir.read import read_manifest

EXPECTED = (
    "a run directory (holding manifest.json), a report directory (holding runs/) or a directory of run directories"
)


def run_directories(paths: tuple[Path, ...]) -> list[Path]:
    """The run directories that `paths` name, in the order given; a usage error names a path that holds none."""
    found: dict[Path, None] = {}
    for path in paths:
        if not path.exists():
            raise click.UsageError(f"{path} does not exist; expected {EXPECTED}")
        if is_run_directory(path):
            found[path.resolve()] = None
            continue
        parent = path / RUNS if (path / RUNS).is_dir() else path
        children = (
            sorted(child for child in parent.iterdir() if child.is_dir() and is_run_directory(child))
            if parent.is_dir()
            else []
        )
        if not children:
            raise click.UsageError(f"{path} holds no run directory; expected {EXPECTED}")
        found.update((child.resolve(), None) for child in children)
        # A report of `bench compare`: its write-capacity search's steps, kept under capacity/<arm>/runs/.
        steps = sorted(step for step in path.glob(f"{CAPACITY}/*/{RUNS}/*") if is_run_directory(step))
        found.update((step.resolve(), None) for step in steps)
    return list(found)


def _home(run: Path, out: Path) -> Path:
    """Where a run belongs in a report directory: runs/, or capacity/<arm>/runs/ for a capacity step."""
    tag = read_manifest(run).capacity
    return capacity_runs(out, tag.arm) if tag is not None else out / RUNS


def _copy_runs(runs: list[Path], out: Path) -> list[Path]:
    """Copy the runs into out/runs/ unless they are there already, so that the report can be rebuilt from it."""
    copied = []
    for run in runs:
        target = _home(run, out)
        destination = target / run.name
        if run.parent.resolve() != target.resolve():
            if destination.exists():
                raise click.UsageError(f"{destination} exists already; expected an --out without that run in it")
            shutil.copytree(run, destination, symlinks=True)
        copied.append(destination)
    return copied


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="RUN_OR_REPORT_DIR...")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the report files go [default: a new reports/<UTC time>-<name>/, and reports/latest points at it].",
)
def report(paths: tuple[Path, ...], out: Path | None) -> None:
    """Rebuild a report (tables, statistics, plots) from stored run directories alone.

    Runs are grouped into arms by the experiment `bench compare` recorded in them, else by
    target and settings. The run directories are copied into OUT/runs/ unless they are there.
    """
    # The statistics and plotting stack is imported here: it makes every other `bench` command slower to start.
    from bench.report.build import load_runs, write_report

    if not paths:
        raise click.UsageError(f"expected at least one RUN_OR_REPORT_DIR: {EXPECTED}")
    runs = run_directories(paths)
    try:
        names = {run.experiment.name for run in load_runs(runs) if run.experiment is not None}
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    latest = out is None
    if out is None:
        out = new_report_directory(names.pop() if len(names) == 1 else "report")
    summary = write_report(_copy_runs(runs, out), out)
    if latest:
        point_latest(out, out.parent)
    click.echo(str(out.resolve()))
    for failure in summary.slo_failures():
        click.echo(f"SLO failed: {failure}", err=True)
