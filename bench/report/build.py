"""write_report: from run directories alone to summary.json, summary.csv, report.md, report.html and plots/*.png."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.report.arms import group_arms
from bench.report.csvfile import summary_csv
from bench.report.html import report_html
from bench.report.location import PLOTS, REPORT_HTML, REPORT_MD, SUMMARY_CSV, SUMMARY_JSON
from bench.report.markdown import report_markdown
from bench.report.plots import Plot, all_plots
from bench.report.rundata import RunData
from bench.report.summary import Summary, build_summary, split_steps
from bench.report.tables import Table, all_tables

__all__ = ["PLOTS", "REPORT_HTML", "REPORT_MD", "SUMMARY_CSV", "SUMMARY_JSON", "load_runs", "write_report"]


def load_runs(run_dirs: list[Path]) -> list[RunData]:
    runs: dict[str, RunData] = {}
    for path in run_dirs:
        run = RunData.load(path)
        earlier = runs.get(run.name)
        if earlier is not None and earlier.path.resolve() != path.resolve():
            raise ValueError(f"two run directories are named {run.name}: {earlier.path} and {path}")
        runs[run.name] = run
    return list(runs.values())


def _titles(summary: Summary) -> tuple[str, str]:
    name = summary.experiment.name or " vs ".join(summary.arm_names)
    where = "; ".join(
        f"{m.hostname} ({m.cpu_model}, {m.logical_cpus} CPUs, {m.memory_gib} GiB)" for m in summary.environment.machines
    )
    runs = len(summary.runs)
    sets = ", ".join(f"--set {text}" for text in summary.experiment.overrides)
    changed = f" The experiment file's keys changed by {sets}." if sets else ""
    nodes = summary.environment.nodes
    placements = {entry.said for entry in nodes.values()}
    if len(placements) == 1:
        only = placements.pop()
        node = f" {only[:1].upper()}{only[1:]}."
    else:
        node = "".join(f" {arm}: {entry.said}." for arm, entry in nodes.items())
    subtitle = (
        f"{len(summary.arm_names)} arm(s), baseline {summary.baseline}; "
        f"{runs} run(s) on {where or 'an unrecorded machine'}.{node}{changed} "
        "Steady state only. Each cell: mean over valid repetitions [bootstrap 95% CI]; each delta: arm minus "
        "baseline [bootstrap 95% CI of the difference of means], significant when that interval excludes zero."
    )
    return f"cqrs-bench report: {name}", subtitle


def write_report(run_dirs: list[Path], out: Path) -> Summary:
    """Write every report file into `out` (created if needed) and return the Summary they show."""
    runs = load_runs(run_dirs)
    summary = build_summary(runs)
    plots = all_plots(group_arms(split_steps(runs)[0]))
    tables = all_tables(summary)
    title, subtitle = _titles(summary)
    statements = list(summary.validity.statements)
    out.mkdir(parents=True, exist_ok=True)
    (out / SUMMARY_JSON).write_text(summary.to_json())
    (out / SUMMARY_CSV).write_text(summary_csv(summary))
    write_documents(out, REPORT_MD, REPORT_HTML, Document(title, subtitle, tables, statements, plots))
    return summary


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    tables: list[Table]
    statements: list[str]
    plots: list[Plot]


def write_documents(out: Path, markdown_name: str, html_name: str, document: Document) -> None:
    """The Markdown and the self-contained HTML of `document`, and its plots as PNG files under plots/."""
    parts = (document.title, document.subtitle, document.tables, document.statements, document.plots)
    (out / markdown_name).write_text(report_markdown(*parts))
    (out / html_name).write_text(report_html(*parts))
    (out / PLOTS).mkdir(exist_ok=True)
    for plot in document.plots:
        if plot.png is not None:
            (out / PLOTS / f"{plot.id}.png").write_bytes(plot.png)
