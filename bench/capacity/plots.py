"""The capacity report's plots, from capacity.json's structure, drawn as bench.report draws its own.

One color per rate search (an arm at a worker count). Void steps are drawn apart (grey squares):
their timings are not the target's. A plot with nothing to show carries a note instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from bench.capacity.usl import Parameter, UslFit, modelled_curve
from bench.report.groups import ALL
from bench.report.plots import COLORS, Plot
from bench.report.plots import render_png as render
from bench.report.slo import parse_slo


def _voids(axes: Axes, xs: list[float], ys: list[float]) -> None:
    """Void steps: grey hollow squares, apart from the measured lines."""
    if xs:
        axes.plot(xs, ys, "s", color="tab:gray", fillstyle="none")


def _series(data: dict[str, Any]) -> Iterator[tuple[str, str, list[dict[str, Any]]]]:
    """(label, color, steps) of every rate search that measured something."""
    index = 0
    for arm in data["arms"]:
        for search in arm["searches"]:
            if search["steps"]:
                label = arm["name"] if len(arm["searches"]) == 1 else f"{arm['name']} x{search['workers']}"
                yield label, COLORS[index % len(COLORS)], search["steps"]
                index += 1


def _measured(steps: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    found = [step for step in steps if step["verdict"] != "void" and all(k in step["measures"] for k in keys)]
    return sorted(found, key=lambda step: step["rate"])


def throughput_vs_offered(data: dict[str, Any]) -> Plot:
    title = "Throughput vs offered load (open model)"
    series = list(_series(data))
    if not series:
        return Plot("throughput", title, None, "No rate step was measured.")

    def draw(axes: Axes) -> None:
        highest = max(step["rate"] for _, _, steps in series for step in steps)
        axes.plot([0, highest], [0, highest], ":", color="tab:gray", linewidth=1, label="achieved = offered")
        for label, color, steps in series:
            measured = _measured(steps, "actions_per_s")
            axes.plot(
                [s["rate"] for s in measured],
                [s["measures"]["actions_per_s"] for s in measured],
                "o-",
                color=color,
                label=label,
            )
            voids = [s for s in steps if s["verdict"] == "void" and s["achieved_rate"] is not None]
            _voids(axes, [s["rate"] for s in voids], [s["achieved_rate"] for s in voids])
        axes.set_xlim(left=0)
        axes.set_ylim(bottom=0)

    png = render(draw, title=title, xlabel="offered (asked) actions/s", ylabel="achieved actions/s")
    return Plot("throughput", title, png, "Grey squares: void steps (the load generator was not valid).")


def _latency_slos(data: dict[str, Any]) -> list[tuple[str, float]]:
    found = []
    for text in data["sweep"]["slos"]:
        slo = parse_slo(text)
        if slo.stat != "errors" and slo.group == ALL:
            found.append((slo.text, slo.limit))
    return found


def latency_vs_throughput(data: dict[str, Any]) -> Plot:
    title = "p99 latency vs throughput (the hockey stick)"
    series = [(label, color, _measured(steps, "actions_per_s", "p99_ms")) for label, color, steps in _series(data)]
    if not any(steps for _, _, steps in series):
        return Plot("latency", title, None, "No rate step measured a latency with a valid load generator.")

    def draw(axes: Axes) -> None:
        for label, color, steps in series:
            xs = [s["measures"]["actions_per_s"] for s in steps]
            axes.plot(
                xs,
                [s["measures"]["p99_ms"] for s in steps],
                "o-",
                color=color,
                label=f"{label} p99 from the intended start",
            )
            uncorrected = [s["measures"].get("p99_uncorrected_ms", np.nan) for s in steps]
            axes.plot(xs, uncorrected, ".--", color=color, alpha=0.7, label=f"{label} p99 from the send")
        for text, limit in _latency_slos(data):
            axes.axhline(limit, color="tab:red", linestyle=":", linewidth=1)
            axes.annotate(
                f"SLO {text}",
                (0, limit),
                xycoords=("axes fraction", "data"),
                fontsize="small",
                color="tab:red",
                va="bottom",
            )
        axes.set_yscale("log")
        plain = FuncFormatter(lambda value, _: f"{value:g}")
        axes.yaxis.set_major_formatter(plain)
        axes.yaxis.set_minor_formatter(plain)

    png = render(draw, title=title, xlabel="achieved actions/s", ylabel="ms (log scale)")
    return Plot("latency", title, png, "Void steps left out. Solid: corrected for coordinated omission.")


def usl_curve(data: dict[str, Any]) -> Plot:
    title = "Throughput vs concurrency, with the fitted Universal Scalability Law"
    swept = [(arm["name"], arm["concurrency"]) for arm in data["arms"] if arm["concurrency"] is not None]
    if not any(found["points"] for _, found in swept):
        why = "no --concurrency levels were given" if not swept else "no concurrency level was measured"
        return Plot("usl", title, None, f"Nothing to draw: {why}.")
    refused = [f"{name}: {found['fit']['reason']}" for name, found in swept if found["fit"] and found["fit"]["refused"]]

    def draw(axes: Axes) -> None:
        for index, (name, found) in enumerate(swept):
            color = COLORS[index % len(COLORS)]
            usable = [p for p in found["points"] if p["verdict"] == "pass" and p["achieved_rate"] is not None]
            axes.plot(
                [p["users"] for p in usable],
                [p["achieved_rate"] for p in usable],
                "o",
                color=color,
                label=f"{name} measured",
            )
            voids = [p for p in found["points"] if p["verdict"] != "pass" and p["achieved_rate"] is not None]
            _voids(axes, [p["users"] for p in voids], [p["achieved_rate"] for p in voids])
            fit = found["fit"]
            if fit is not None and not fit["refused"]:
                _draw_fit(axes, fit, color, name)
        axes.set_xlim(left=0)
        axes.set_ylim(bottom=0)

    png = render(draw, title=title, xlabel="concurrent users (closed model)", ylabel="actions/s")
    return Plot("usl", title, png, f"Fit refused: {'; '.join(refused)}." if refused else None)


def _fit(found: dict[str, Any]) -> UslFit:
    """The fit back from its JSON form (UslFit.as_dict)."""
    parameters = {name: Parameter(**found[name]) for name in ("sigma", "kappa", "lambda_")}
    return UslFit(**{**found, **parameters, "concurrency_range": tuple(found["concurrency_range"])})


def _draw_fit(axes: Axes, found: dict[str, Any], color: str, name: str) -> None:
    fit = _fit(found)
    users, modelled = modelled_curve(fit)
    axes.plot(users, modelled, "-", color=color, label=f"{name} USL fit")
    if fit.peak_concurrency is not None and fit.peak_throughput is not None:
        axes.plot([fit.peak_concurrency], [fit.peak_throughput], "*", color=color, markersize=12, label=f"{name} N*")


def scale_out(data: dict[str, Any]) -> Plot | None:
    """The limit at the SLO against the worker count, when some arm was searched at more than one."""
    arms = [arm for arm in data["arms"] if len(arm["scale_out"]["limits"]) > 1]
    if not arms:
        return None
    title = "Max rate at the SLO vs target workers"

    def draw(axes: Axes) -> None:
        for index, arm in enumerate(arms):
            limits = [(int(workers), limit) for workers, limit in arm["scale_out"]["limits"].items() if limit]
            axes.plot(
                [w for w, _ in limits],
                [limit for _, limit in limits],
                "o-",
                color=COLORS[index % len(COLORS)],
                label=arm["name"],
            )
        axes.set_ylim(bottom=0)

    return Plot("scale_out", title, render(draw, title=title, xlabel="target workers", ylabel="actions/s at the SLO"))


def all_plots(data: dict[str, Any]) -> list[Plot]:
    makers: list[Callable[[dict[str, Any]], Plot | None]] = [
        throughput_vs_offered,
        latency_vs_throughput,
        usl_curve,
        scale_out,
    ]
    return [plot for make in makers if (plot := make(data)) is not None]
