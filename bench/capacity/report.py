"""The capacity report: capacity.json, capacity.csv, capacity.md, capacity.html and plots/*.png.

capacity.json holds everything the other files show (sorted keys, nothing about when it was
written), and `write_capacity_files` renders them from it alone, with bench.report's Markdown and
HTML writers. capacity.csv has one row per step: rate steps and concurrency levels alike.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import msgspec

from bench.capacity.outcome import SweepOutcome, capacity_data
from bench.capacity.plots import all_plots
from bench.capacity.tables import all_tables, statements
from bench.report.build import Document, write_documents
from bench.report.environment import machine_of
from bench.report.location import RUNS
from bench.rundir import files
from bench.rundir.read import read_manifest

CAPACITY_JSON = "capacity.json"
CAPACITY_CSV = "capacity.csv"
CAPACITY_MD = "capacity.md"
CAPACITY_HTML = "capacity.html"
MEASURES = [
    "actions_per_s",
    "requests_per_s",
    "mean_ms",
    "p50_ms",
    "p99_ms",
    "p50_uncorrected_ms",
    "p99_uncorrected_ms",
    "errors_percent",
    "busy_users",
    "in_flight_users",
    "cpu_target_percent",
    "cpu_generator_percent",
]
CSV_COLUMNS = ["arm", "workers", "kind", "step", "phase", "asked_rate", "users", "verdict", *MEASURES, "reason", "run"]


def write_capacity_report(outcome: SweepOutcome) -> dict[str, Any]:
    """Write every file of the sweep's report into its directory; return capacity.json's structure.

    The files are rendered from the structure as capacity.json holds it (keys sorted), so that rendering
    capacity.json again gives the same files.
    """
    data: dict[str, Any] = json.loads(_json(capacity_data(outcome, _machine(outcome.report))))
    write_capacity_files(data, outcome.report)
    return data


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def _machine(report: Path) -> dict[str, Any] | None:
    """The machine of the first step (every step of a sweep runs where the sweep does)."""
    for manifest in sorted((report / RUNS).glob(f"*/{files.MANIFEST}")):
        found: dict[str, Any] = msgspec.to_builtins(machine_of(read_manifest(manifest.parent).host))
        return found
    return None


def _title(data: dict[str, Any]) -> tuple[str, str]:
    sweep = data["sweep"]
    machine = data["machine"] or {}
    where = (
        f"{machine.get('hostname')} ({machine.get('cpu_model')}, {machine.get('logical_cpus')} CPUs)"
        if machine
        else "an unrecorded machine"
    )
    subtitle = (
        f"{len(data['arms'])} arm(s) on {sweep['load']['scenario']} ({sweep['load']['mix']}), SLOs: "
        f"{'; '.join(sweep['slos'])}; measured on {where}. Each step is a short run on fresh infrastructure, "
        "steady state only."
    )
    return f"cqrs-bench capacity: {sweep['name']}", subtitle


def write_capacity_files(data: dict[str, Any], out: Path) -> None:
    tables, said, plots = all_tables(data), statements(data), all_plots(data)
    title, subtitle = _title(data)
    out.mkdir(parents=True, exist_ok=True)
    (out / CAPACITY_JSON).write_text(_json(data))
    (out / CAPACITY_CSV).write_text(capacity_csv(data))
    write_documents(out, CAPACITY_MD, CAPACITY_HTML, Document(title, subtitle, tables, said, plots))


def _row(arm: str, workers: int, kind: str, step: dict[str, Any]) -> list[Any]:
    measures = step["measures"]
    return [
        arm,
        workers,
        kind,
        step.get("index", ""),
        step.get("phase", ""),
        step.get("rate", ""),
        step.get("users", measures.get("in_flight_users", "")),
        step["verdict"],
        *(measures.get(name, "") for name in MEASURES),
        step["reason"],
        step["run"],
    ]


def capacity_csv(data: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for arm in data["arms"]:
        for search in arm["searches"]:
            writer.writerows(_row(arm["name"], search["workers"], "rate", step) for step in search["steps"])
        found = arm["concurrency"]
        if found is not None:
            writer.writerows(_row(arm["name"], found["workers"], "concurrency", point) for point in found["points"])
    return buffer.getvalue()
