"""The capacity report's tables and statements, from capacity.json's structure (bench.capacity.outcome).

The tables are bench.report's Table, so that its Markdown and HTML writers render them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bench.report.format import number
from bench.report.tables import Table

CAPACITY_COLUMNS = [
    "Arm",
    "Workers",
    "Max rate at SLO",
    "Bracket",
    "Bounded by",
    "Knee",
    "p99 at the limit (uncorrected)",
    "USL sigma",
    "USL kappa",
    "USL lambda",
    "N* (peak)",
    "Nodes needed",
]
STEP_COLUMNS = [
    "#",
    "Phase",
    "Asked",
    "Achieved",
    "Verdict",
    "p99",
    "p99 uncorrected",
    "p50",
    "Errors",
    "Busy / in-flight users",
    "CPU target / generator",
    "Reason",
    "Run",
]
LEVEL_COLUMNS = ["Users", "Actions/s", "Requests/s", "p99", "p50", "CPU target / generator", "Verdict", "Reason", "Run"]
UNIT = "actions/s"


def rate(value: float | None) -> str:
    return "-" if value is None else f"{number(value)}/s"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{number(value)} ms"


def _pair(first: float | None, second: float | None, unit: str = "") -> str:
    if first is None and second is None:
        return "-"
    return " / ".join("-" if value is None else f"{number(value)}{unit}" for value in (first, second))


def verdict(text: str) -> str:
    return text.upper()


def level_verdict(text: str) -> str:
    """A concurrency level is fitted when valid; FAIL or VOID otherwise."""
    return "valid" if text == "pass" else verdict(text)


def _bounded(search: dict[str, Any]) -> str:
    bounded = str(search["bounded_by"] or "-")
    if bounded == "generator" and search["generator_limit"] is not None:
        bounded += f" (void at {rate(search['generator_limit'])})"
    return bounded + (", interrupted" if search["interrupted"] else "")


def _step_at(search: dict[str, Any], asked: float | None) -> dict[str, Any] | None:
    return next((step for step in search["steps"] if step["rate"] == asked), None)


def _at_limit(search: dict[str, Any]) -> str:
    step = _step_at(search, search["limit"])
    if step is None:
        return "-"
    measures = step["measures"]
    return f"{ms(measures.get('p99_ms'))} ({ms(measures.get('p99_uncorrected_ms'))})"


def _knee(search: dict[str, Any]) -> str:
    found = search["knee"]
    if found is None:
        return "-"
    return rate(found["rate"]) if found["rate"] is not None else str(found["short"])


def _usl_cells(fit: dict[str, Any] | None) -> list[str]:
    if fit is None:
        return ["-", "-", "-", "-"]
    if fit["refused"]:
        return ["refused (see below)", "-", "-", "-"]
    parameters = (fit["sigma"], fit["kappa"], fit["lambda_"])
    cells = [f"{p['value']:.4g} [{p['low']:.4g}, {p['high']:.4g}]" for p in parameters]
    peak = fit["peak_concurrency"]
    cells.append(f"{peak:,.1f} ({rate(fit['peak_throughput'])})" if peak is not None else "none observed")
    return cells


def _nodes(plan: dict[str, Any] | None) -> str:
    if plan is None:
        return "-"
    if plan["refused"]:
        return "refused (see below)"
    return f"{plan['nodes']} ({plan['method']})"


def capacity_table(data: dict[str, Any]) -> Table:
    rows = []
    for arm in data["arms"]:
        concurrency = arm["concurrency"]
        for index, search in enumerate(arm["searches"]):
            fitted_here = concurrency is not None and concurrency["workers"] == search["workers"]
            usl = _usl_cells(concurrency["fit"] if fitted_here and concurrency else None)
            bracket = search["bracket"]
            nodes = _nodes(arm["plan"]) if index == 0 else "-"
            rows.append(
                [
                    arm["name"],
                    str(search["workers"]),
                    rate(search["limit"]) if search["steps"] else "-",
                    f"[{number(bracket[0])}, {number(bracket[1])}]" if bracket else "-",
                    _bounded(search),
                    _knee(search),
                    _at_limit(search),
                    *usl,
                    nodes,
                ]
            )
    notes = [
        f"Rates in {UNIT}. Max rate at SLO: the highest arrival rate at which every SLO held with a valid load "
        "generator; the limit lies within the bracket [highest pass, lowest fail]. Bounded by: slo (resolved "
        "between a pass and a fail), generator (a void step above the limit: at least this much), ceiling (every "
        "rate up to the ceiling passed), floor or max_steps (the search ran out).",
        "p99 is measured from each action's intended start (coordinated omission corrected); the uncorrected "
        "figure, from the actual send, is in brackets.",
        "Knee: the highest rate whose p99 stays within twice its value at the lowest rate measured.",
        "USL: the Universal Scalability Law fitted to the closed-model concurrency levels (at the arm's own "
        "worker count), with 95% confidence intervals; N*: the concurrency of peak throughput. Nodes needed: "
        "from the limits at the SLO per worker count (see the node plan).",
    ]
    return Table("capacity", "Capacity per arm", CAPACITY_COLUMNS, rows, notes)


def _step_row(step: dict[str, Any]) -> list[str]:
    measures = step["measures"]
    return [
        str(step["index"]),
        step["phase"],
        rate(step["rate"]),
        rate(step["achieved_rate"]),
        verdict(step["verdict"]),
        ms(measures.get("p99_ms")),
        ms(measures.get("p99_uncorrected_ms")),
        ms(measures.get("p50_ms")),
        "-" if "errors_percent" not in measures else f"{number(measures['errors_percent'])}%",
        _pair(measures.get("busy_users"), measures.get("in_flight_users")),
        _pair(measures.get("cpu_target_percent"), measures.get("cpu_generator_percent"), "%"),
        step["reason"],
        step["run"],
    ]


def step_tables(data: dict[str, Any]) -> Iterator[Table]:
    for arm in data["arms"]:
        for search in arm["searches"]:
            notes = [search["explanation"]]
            if search["knee"] is not None:
                notes.append(f"Knee: {search['knee']['note']}.")
            yield Table(
                f"steps-{arm['name']}-{search['workers']}",
                f"Rate search: {arm['name']}, {search['workers']} worker(s)",
                STEP_COLUMNS,
                [_step_row(step) for step in search["steps"]],
                notes,
            )


def _fit_note(fit: dict[str, Any] | None) -> str:
    if fit is None:
        return "No fit."
    if fit["refused"]:
        return f"The scalability fit was refused: {fit['reason']}."
    return (
        f"Universal Scalability Law over {fit['points']} points: sigma {fit['sigma']['value']:.4g}, kappa "
        f"{fit['kappa']['value']:.4g}, lambda {fit['lambda_']['value']:.4g}/s per user; {fit['peak_note']}; "
        f"R² {fit['r_squared']:.3f}."
    )


def level_tables(data: dict[str, Any]) -> Iterator[Table]:
    for arm in data["arms"]:
        found = arm["concurrency"]
        if found is None:
            continue
        rows = []
        for point in found["points"]:
            measures = point["measures"]
            rows.append(
                [
                    str(point["users"]),
                    rate(point["achieved_rate"]),
                    rate(measures.get("requests_per_s")),
                    ms(measures.get("p99_ms")),
                    ms(measures.get("p50_ms")),
                    _pair(measures.get("cpu_target_percent"), measures.get("cpu_generator_percent"), "%"),
                    level_verdict(point["verdict"]),
                    point["reason"],
                    point["run"],
                ]
            )
        low, high = found["think_time"]
        think = f"{number(low)} s" if low == high else f"{number(low)}..{number(high)} s"
        title = f"Concurrency levels (closed model, think time {think}): {arm['name']}"
        yield Table(f"levels-{arm['name']}", title, LEVEL_COLUMNS, rows, [_fit_note(found["fit"])])


def plan_table(data: dict[str, Any]) -> Table:
    rows, notes = [], []
    for arm in data["arms"]:
        limits = ", ".join(f"{workers}: {rate(limit)}" for workers, limit in arm["scale_out"]["limits"].items())
        plan = arm["plan"]
        if plan is None:
            rows.append([arm["name"], limits or "-", "-", "-", "no --plan-rate given"])
            continue
        nodes = "refused" if plan["refused"] else str(plan["nodes"])
        rows.append(
            [
                arm["name"],
                limits or "-",
                rate(plan["target_rate"]),
                f"{plan['headroom']:.0%}",
                f"{nodes}: {plan['explanation']}",
            ]
        )
        if arm["scale_out"]["fit"] is not None:
            notes.append(f"{arm['name']}, limit at the SLO against workers: {_fit_note(arm['scale_out']['fit'])}")
    columns = ["Arm", "Limit at the SLO per worker count", "Planned rate", "Headroom", "Nodes needed"]
    return Table("plan", "Nodes needed (a node: a target worker process on this machine)", columns, rows, notes)


def settings_table(data: dict[str, Any]) -> Table:
    sweep = data["sweep"]
    load, policy = sweep["load"], sweep["search"]
    machine = data["machine"] or {}
    rows = [
        ["SLOs", "; ".join(sweep["slos"])],
        [
            "scenario",
            f"{load['scenario']}, mix {load['mix']}, skew {load['skew']}, visibility probes "
            f"{load['visibility_share']:.0%}, {load['processes']} Locust process(es)",
        ],
        ["each step", f"{number(load['warmup'])} s warm-up, then {number(load['duration'])} s measured"],
        [
            "rate search",
            f"from {rate(policy['start_rate'])}, x{number(policy['growth'])} per step, resolved within "
            f"{_resolution(policy)}, at most {policy['max_steps']} steps, ceiling "
            f"{rate(policy['ceiling']) if policy['ceiling'] else 'none'}",
        ],
        ["in-flight users (open model)", str(sweep["in_flight"]) if sweep["in_flight"] else "one second of arrivals"],
        ["data set", ", ".join(f"{key} {value:,}" for key, value in sweep["data"].items())],
        [
            "machine",
            f"{machine.get('hostname')}: {machine.get('cpu_model')}, {machine.get('logical_cpus')} logical "
            f"CPUs, {machine.get('memory_gib')} GiB"
            if machine
            else "not recorded",
        ],
    ]
    for arm in sweep["arms"]:
        settings = ", ".join(f"{key}={value}" for key, value in arm.items() if key != "name" and value is not None)
        rows.append([f"arm {arm['name']}", settings])
    return Table("settings", "What was swept", ["What", "Value"], rows)


def _resolution(policy: dict[str, Any]) -> str:
    parts = []
    if policy["relative_resolution"] is not None:
        parts.append(f"{policy['relative_resolution']:.0%}")
    if policy["absolute_resolution"] is not None:
        parts.append(rate(policy["absolute_resolution"]))
    return " or ".join(parts)


def all_tables(data: dict[str, Any]) -> list[Table]:
    return [capacity_table(data), *step_tables(data), *level_tables(data), plan_table(data), settings_table(data)]


def statements(data: dict[str, Any]) -> list[str]:
    said = [data["latency"]]
    voids = 0
    for arm in data["arms"]:
        for search in arm["searches"]:
            said.append(f"{arm['name']}, {search['workers']} worker(s): {search['explanation']}")
            for step in search["steps"]:
                if step["verdict"] == "void":
                    voids += 1
                    said.append(
                        f"VOID: {arm['name']}, {search['workers']} worker(s), step {step['index']} at "
                        f"{rate(step['rate'])}: {step['reason']}."
                    )
        for point in (arm["concurrency"] or {}).get("points", []):
            if point["verdict"] != "pass":
                voids += 1
                said.append(
                    f"{level_verdict(point['verdict'])}, not fitted: {arm['name']}, concurrency "
                    f"{point['users']}: {point['reason']}."
                )
    if not voids:
        said.append("No step was void: the load generator was valid at every step.")
    if data["interrupted"]:
        where = f" during the run in {data['stopped_in']}, which is not counted" if data["stopped_in"] else ""
        said.append(f"The sweep was interrupted{where}: this report shows what was measured until then.")
    return said
