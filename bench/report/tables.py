"""The report's tables, built once from the Summary and rendered by both the Markdown and the HTML writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.report.format import delta_cell, estimate_cell
from bench.report.metrics import SECTIONS
from bench.report.summary import Summary


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def _delta_columns(summary: Summary) -> list[str]:
    others = summary.arms[1:]
    return ["Delta"] if len(others) == 1 else [f"Delta {arm} vs {summary.baseline}" for arm in others]


def _metric_row(metric: dict[str, Any], summary: Summary) -> list[str]:
    unit = metric["unit"]
    cells = [estimate_cell(metric["arms"][arm], unit) for arm in summary.arms]
    deltas = [delta_cell(metric["deltas"][arm], unit, metric["better"]) for arm in summary.arms[1:]]
    return [metric["label"], *cells, *deltas]


def metric_table(summary: Summary, section: str) -> Table:
    """The headline keeps its three rows whatever they hold; other sections drop the rows no arm measured."""
    metrics = [metric for metric in summary.data["metrics"] if metric["section"] == section]
    shown: list[dict[str, Any]] = []
    unmeasured: list[dict[str, Any]] = []
    for metric in metrics:
        measured = any(metric["arms"][arm]["mean"] is not None for arm in summary.arms)
        (shown if measured or section == "headline" else unmeasured).append(metric)
    notes = []
    reasons: dict[str, list[str]] = {}
    for metric in unmeasured:
        why = "; ".join(sorted({metric["arms"][arm]["missing"] for arm in summary.arms}))
        reasons.setdefault(why, []).append(metric["label"])
    for why, labels in reasons.items():
        notes.append(f"Not measured in any arm: {', '.join(labels)} ({why}).")
    return Table(
        id=section,
        title=SECTIONS[section],
        columns=["Metric", *summary.arms, *(_delta_columns(summary) if len(summary.arms) > 1 else [])],
        rows=[_metric_row(metric, summary) for metric in shown],
        notes=notes,
    )


def slo_table(summary: Summary) -> Table:
    rows = []
    for slo in summary.data["slos"]:
        if slo["error"]:
            rows.append([slo["text"], *(f"unreadable: {slo['error']}" for _ in summary.arms)])
            continue
        rows.append(
            [
                slo["text"],
                *(
                    ("pass" if slo["arms"][arm]["passed"] else "FAIL") + f": {slo['arms'][arm]['detail']}"
                    for arm in summary.arms
                ),
            ]
        )
    notes = [] if rows else ["The experiment declared no SLOs."]
    return Table("slos", "Service-level objectives (mean over valid repetitions)", ["SLO", *summary.arms], rows, notes)


def invariants_table(summary: Summary) -> Table:
    rows = []
    for run in summary.data["runs"]:
        checks = (run["invariants"] or {}).get("checks") or []
        details = "; ".join(
            f"{check['name']}: {'ok' if check['passed'] else 'FAILED'} ({check['detail']})" for check in checks
        )
        rows.append([run["arm"], str(run["repetition"]), run["invariant_verdict"], details])
    return Table("invariants", "Invariant checks after each run", ["Arm", "Repetition", "Result", "Checks"], rows)


def runs_table(summary: Summary) -> Table:
    rows = [
        [
            run["arm"],
            str(run["repetition"]),
            run["name"],
            "yes" if run["complete"] else "no",
            "valid" if run["valid"] else "INVALID, excluded",
            "; ".join(run["reasons"]),
        ]
        for run in summary.data["runs"]
    ]
    columns = ["Arm", "Repetition", "Run directory", "Complete", "Validity", "Reasons"]
    return Table("validity", "Runs and their validity", columns, rows)


def _settings_cell(settings: dict[str, Any] | None) -> str:
    if not settings:
        return "-"
    load = settings.get("load") or {}
    parts = [f"{key}={value}" for key, value in settings.items() if key not in ("load", "seed_spec", "keys_dir")]
    parts += [f"load.{key}={value}" for key, value in load.items()]
    return ", ".join(parts)


def environment_table(summary: Summary) -> Table:
    env = summary.data["environment"]
    rows = []
    for machine in env["machines"]:
        rows.append(
            [
                "machine",
                f"{machine['hostname']}: {machine['cpu_model']}, {machine['logical_cpus']} logical CPUs "
                f"({machine['usable_cpus']} usable), {machine['memory_gib']} GiB, {machine['system']}",
            ]
        )
    for software in env["software"]:
        packages = ", ".join(f"{name} {version}" for name, version in sorted((software.get("packages") or {}).items()))
        rows.append(["software", f"Python {software.get('python')} ({software.get('implementation')}); {packages}"])
    for git in env["git"]:
        rows.append(["git revision", f"{git.get('revision')}{' (uncommitted changes)' if git.get('dirty') else ''}"])
    for arm, settings in env["settings"].items():
        rows.append([f"settings of {arm}", _settings_cell(settings)])
    for arm, infrastructure in env["infrastructure"].items():
        for kind, info in sorted((infrastructure or {}).items()):
            version = info.get("version") if isinstance(info, dict) else info
            rows.append(
                [
                    f"{kind} of {arm}",
                    f"{info.get('mode', '')} {version}".strip() if isinstance(info, dict) else str(version),
                ]
            )
    return Table("environment", "Environment", ["What", "Value"], rows)


def all_tables(summary: Summary) -> list[Table]:
    return [
        *(metric_table(summary, section) for section in SECTIONS),
        slo_table(summary),
        invariants_table(summary),
        runs_table(summary),
        environment_table(summary),
    ]
