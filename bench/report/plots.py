"""The report's plots as PNG bytes (matplotlib's Agg canvas, no pyplot state): one color per arm.

A plot with nothing to show is not drawn; it carries a note that says why instead.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd
from hdrh.histogram import HdrHistogram
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogFormatter, NullLocator

from bench.report.arms import Arm
from bench.report.groups import ALL, members
from bench.report.rundata import RunData
from bench.rundir import columns
from bench.rundir.columns import NODE_COMPONENTS, Component, Resource
from bench.rundir.phases import SecondPhase
from scenarios.hdr import merged

COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray")
SIZE = (9.0, 4.2)
DPI = 100
NODE_PSS = "node_pss_mib"
SPECTRUM_TICKS = (0.0, 90.0, 99.0, 99.9, 99.99, 99.999, 99.9999)


@dataclass(frozen=True)
class Plot:
    id: str
    title: str
    png: bytes | None
    note: str | None = None  # why there is no picture, or what to keep in mind reading it


def _color(index: int) -> str:
    return COLORS[index % len(COLORS)]


def render_png(draw: Callable[[Axes], None], *, title: str, xlabel: str, ylabel: str) -> bytes:
    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    axes = figure.subplots()
    draw(axes)
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, which="major", alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="best", fontsize="small")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _column(table: pd.DataFrame, column: str) -> pd.Series | None:
    """A column of the time series; NODE_PSS is the target's and its projectors' PSS added up."""
    if column != NODE_PSS:
        return table.get(column)
    parts = [pss for component in NODE_COMPONENTS if (pss := columns.resource_column(component, Resource.PSS)) in table]
    has_target = columns.resource_column(Component.TARGET, Resource.PSS) in parts
    return table[parts].sum(axis=1, min_count=1) if has_target else None


def _loaded(run: RunData, column: str) -> tuple[pd.Series, pd.Series]:
    """Elapsed seconds and values of `column` while load ran (ramp-up, warm-up, steady state)."""
    table = run.timeseries
    values = _column(table, column)
    if values is None or columns.ELAPSED not in table or columns.PHASE not in table:
        return pd.Series(dtype=float), pd.Series(dtype=float)
    shown = [SecondPhase.RAMP.value, SecondPhase.WARMUP.value, SecondPhase.STEADY.value]
    keep = table[columns.PHASE].isin(shown) & values.notna()
    return table[columns.ELAPSED][keep], values[keep]


def _over_time(arms: list[Arm], series: dict[str, tuple[str, str]]) -> Callable[[Axes], None]:
    """Each run of each arm as lines over its elapsed seconds; `series` maps column -> (label, line style)."""

    def draw(axes: Axes) -> None:
        for index, arm in enumerate(arms):
            for column, (label, style) in series.items():
                legend: str | None = f"{arm.name} {label}"  # on the arm's first line only
                for run in arm.runs:
                    xs, ys = _loaded(run, column)
                    if not xs.empty:
                        axes.plot(xs, ys, style, color=_color(index), linewidth=1.2, alpha=0.85, label=legend)
                        legend = None
            for run in arm.runs:
                _mark_faults(axes, run, _color(index))

    return draw


def _mark_faults(axes: Axes, run: RunData, color: str) -> None:
    """Each applied fault of `run` as a dotted line where it began (a band while a lasting one lasted), named."""
    table = run.timeseries
    if run.faults is None or table.empty or columns.ELAPSED not in table:
        return
    origin = float(table[columns.SECOND].iloc[0] - table[columns.ELAPSED].iloc[0])  # Unix time of elapsed 0
    for fault in run.faults.faults:
        if fault.started_at is None:
            continue
        began = fault.started_at - origin
        axes.axvline(began, color=color, linestyle=":", linewidth=1.0, alpha=0.8)
        if fault.ended_at is not None and fault.ended_at - fault.started_at >= 1.0:
            axes.axvspan(began, fault.ended_at - origin, color=color, alpha=0.08)
        axes.text(
            began,
            0.98,
            f" {fault.kind}",
            transform=axes.get_xaxis_transform(),
            rotation=90,
            va="top",
            ha="left",
            fontsize=7,
            color=color,
        )


def _has_column(arms: list[Arm], column: str) -> bool:
    return any(not _loaded(run, column)[0].empty for arm in arms for run in arm.runs)


def latency_over_time(arms: list[Arm]) -> Plot:
    title = "Latency percentiles over time (every request, per second)"
    if not _has_column(arms, "p50_ms"):
        return Plot("latency_over_time", title, None, "No run recorded per-second latencies.")
    draw = _over_time(arms, {"p50_ms": ("p50", "-"), "p99_ms": ("p99", "--")})
    png = render_png(draw, title=title, xlabel="seconds since the load started", ylabel="ms")
    return Plot("latency_over_time", title, png, "One line per repetition; ramp-up and warm-up included.")


def throughput_over_time(arms: list[Arm]) -> Plot:
    title = "Throughput over time"
    if not _has_column(arms, "requests"):
        return Plot("throughput_over_time", title, None, "No run recorded per-second request counts.")
    png = render_png(
        _over_time(arms, {"requests": ("requests/s", "-")}),
        title=title,
        xlabel="seconds since the load started",
        ylabel="requests/s",
    )
    return Plot("throughput_over_time", title, png, "One line per repetition; ramp-up and warm-up included.")


def memory_over_time(arms: list[Arm]) -> Plot:
    title = "Memory of the service's own processes over time (target + projectors, PSS)"
    if not _has_column(arms, NODE_PSS):
        return Plot(
            "memory_over_time",
            title,
            None,
            "The target's processes were not sampled in any run (an external --host is not observable).",
        )
    png = render_png(
        _over_time(arms, {NODE_PSS: ("PSS", "-")}), title=title, xlabel="seconds since the load started", ylabel="MiB"
    )
    return Plot("memory_over_time", title, png)


def _arm_histogram(arm: Arm, pick: Callable[[RunData], Iterable[str]]) -> HdrHistogram:
    """The valid runs' histograms merged (all runs when none is valid)."""
    runs = arm.included or arm.runs
    return merged(encoded for run in runs for encoded in pick(run))


def _workload(run: RunData) -> list[str]:
    endpoints = run.steady.latency if run.steady is not None else {}
    return [endpoints[name].histogram for name in members(ALL, endpoints)]


def _visibility(run: RunData) -> list[str]:
    return [entry.histogram for entry in (run.steady.visibility if run.steady is not None else {}).values()]


def _spectrum_points(histogram: HdrHistogram) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for step in histogram.get_percentile_iterator(5):
        percentile = step.percentile_level_iterated_to
        if percentile < 100.0:
            xs.append(1.0 / (1.0 - percentile / 100.0))
            ys.append(step.value_iterated_to / 1000.0)
    return xs, ys


def latency_spectrum(arms: list[Arm]) -> Plot:
    title = "Latency by percentile, steady state (HdrHistogram-style)"
    histograms = [(index, arm, _arm_histogram(arm, _workload)) for index, arm in enumerate(arms)]
    if not any(histogram.get_total_count() for _, _, histogram in histograms):
        return Plot("latency_spectrum", title, None, "No request was recorded in any steady state.")

    def draw(axes: Axes) -> None:
        for index, arm, histogram in histograms:
            if histogram.get_total_count():
                xs, ys = _spectrum_points(histogram)
                axes.plot(xs, ys, "-", color=_color(index), linewidth=1.5, label=arm.name)
        axes.set_xscale("log")
        axes.xaxis.set_major_locator(FixedLocator([1.0 / (1.0 - p / 100.0) for p in SPECTRUM_TICKS]))
        axes.xaxis.set_minor_locator(NullLocator())
        axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{(1.0 - 1.0 / x) * 100:.6g}%"))

    png = render_png(draw, title=title, xlabel="percentile", ylabel="ms")
    return Plot("latency_spectrum", title, png, "The valid repetitions' histograms of each arm merged; probes apart.")


def visibility_distribution(arms: list[Arm]) -> Plot:
    title = "Visibility window: time until a write is visible to a read"
    histograms = [(index, arm, _arm_histogram(arm, _visibility)) for index, arm in enumerate(arms)]
    if not any(histogram.get_total_count() for _, _, histogram in histograms):
        return Plot(
            "visibility",
            title,
            None,
            "No visibility probe completed in these runs (the scenario ran "
            "without probes, --visibility-share 0, or no probe saw its write in time): nothing to plot.",
        )

    def draw(axes: Axes) -> None:
        for index, arm, histogram in histograms:
            total = histogram.get_total_count()
            if not total:
                continue
            xs, ys, seen = [], [], 0
            for step in histogram.get_recorded_iterator():
                seen += step.count_at_value_iterated_to
                xs.append(step.value_iterated_to / 1000.0)
                ys.append(seen / total * 100.0)
            axes.step(xs, ys, where="post", color=_color(index), linewidth=1.5, label=f"{arm.name} ({total:,} probes)")
        axes.set_xscale("log")
        axes.xaxis.set_major_formatter(LogFormatter())
        axes.xaxis.set_minor_formatter(LogFormatter(minor_thresholds=(2, 0.5)))
        axes.set_ylim(0, 100.5)

    png = render_png(draw, title=title, xlabel="ms until visible (log scale)", ylabel="% of probes visible")
    return Plot("visibility", title, png)


def all_plots(arms: list[Arm]) -> list[Plot]:
    return [
        latency_over_time(arms),
        throughput_over_time(arms),
        memory_over_time(arms),
        latency_spectrum(arms),
        visibility_distribution(arms),
    ]
