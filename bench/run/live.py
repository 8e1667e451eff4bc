"""The newest complete second of a running run, for progress displays: requests/s and p95."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from bench.rundir import files
from bench.rundir.files import ALL

TAIL_BYTES = 16_384  # the last seconds of latency.csv: a few rows per endpoint each


@dataclass(frozen=True)
class LiveSecond:
    second: int
    requests: int
    p95_ms: float


def latest_second(run: Path) -> LiveSecond | None:
    """The ALL row of the newest second in latency.csv, or None before the first one is written."""
    path = run / files.LATENCY
    try:
        with path.open("rb") as file:
            header = file.readline().decode()
            size = file.seek(0, 2)
            file.seek(max(len(header), size - TAIL_BYTES))
            tail = file.read().decode(errors="replace")
    except FileNotFoundError:
        return None
    lines = tail.splitlines()[1:] if size > TAIL_BYTES else tail.splitlines()  # the first may be cut
    rows = [row for row in csv.DictReader(io.StringIO(header + "\n".join(lines))) if row.get("endpoint") == ALL]
    if not rows:
        return None
    newest = rows[-1]
    try:
        return LiveSecond(int(newest["second"]), int(newest["requests"]), float(newest["p95_ms"]))
    except (KeyError, ValueError):
        return None
