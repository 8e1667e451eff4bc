"""Where reports go: reports/<UTC stamp>-<name>/ with its runs/ inside, and reports/latest pointing at the newest."""

from __future__ import annotations

import os
import re
from pathlib import Path

from bench.run.rundir import create_stamped_directory

REPORTS = Path("reports")
RUNS = "runs"
LATEST = "latest"
# The files of a report directory (named here, where importing them costs nothing).
SUMMARY_JSON = "summary.json"
SUMMARY_CSV = "summary.csv"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
PLOTS = "plots"
CAPACITY = "capacity"  # capacity/<arm>/runs/: the step runs of `bench compare`'s write-capacity search


def capacity_runs(report: Path, arm: str) -> Path:
    """Where the capacity search of `arm` keeps its step runs (the arm's name made safe for a directory)."""
    return report / CAPACITY / (re.sub(r"[^A-Za-z0-9._-]", "_", arm).lstrip(".") or "arm") / RUNS


def new_report_directory(name: str, root: Path = REPORTS) -> Path:
    """A new, empty reports/<UTC stamp>-<name>/ (a suffix keeps two reports of one second apart)."""
    return create_stamped_directory(root, name or "report")


def point_latest(report: Path, root: Path = REPORTS) -> None:
    """Make root/latest a relative symlink to `report`, replaced atomically."""
    link = root / LATEST
    temporary = root / f".{LATEST}.{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(os.path.relpath(report.resolve(), root.resolve()), target_is_directory=True)
    temporary.replace(link)
