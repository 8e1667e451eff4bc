"""Nodes needed for a target rate at the SLO, with headroom: from measurements, a USL fit, or linearly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.capacity.planning import MAX_NODES, plan_from_usl, plan_linear, plan_nodes
from bench.capacity.usl import UslFit, fit_usl, usl_throughput

pytestmark = pytest.mark.timeout(30)

MEASURED = {1: 1000.0, 2: 1800.0, 3: 2400.0}
LEVELS = np.arange(1.0, 11.0)


def usl_fit(sigma: float, kappa: float, lambda_: float) -> UslFit:
    result = fit_usl(LEVELS, usl_throughput(LEVELS, sigma, kappa, lambda_))
    assert not result.refused, result.reason
    return result


def test_a_measured_count_that_suffices_is_the_answer() -> None:
    plan = plan_nodes(1200.0, 0.3, measured=MEASURED)
    # 70% of 1000 = 700 is short, 70% of 1800 = 1260 covers 1200.
    assert (plan.nodes, plan.method, plan.capacity) == (2, "measured", 1800.0)
    assert plan.usable_rate == pytest.approx(1260.0)
    assert not plan.refused
    assert "2 nodes" in plan.explanation


def test_headroom_exactly_used_up_does_not_add_a_node() -> None:
    # (1 - 0.3) * 107 is 74.89999999999999 in floating point.
    exact = plan_nodes(74.9, 0.3, measured={1: 107.0})
    assert (exact.nodes, exact.method) == (1, "measured")
    assert plan_linear(149.8, 0.3, {1: 107.0}).nodes == 2


def test_no_headroom_plans_at_the_limit() -> None:
    assert plan_nodes(1000.0, 0.0, measured=MEASURED).nodes == 1
    assert plan_nodes(1000.1, 0.0, measured=MEASURED).nodes == 2


def test_beyond_the_measurements_the_linear_plan_uses_the_largest_count_per_node() -> None:
    plan = plan_nodes(5000.0, 0.3, measured=MEASURED)
    # 2400 / 3 = 800 per node, 70% of that is 560: 5000 / 560 = 8.93, so 9.
    assert (plan.nodes, plan.method) == (9, "linear")
    assert plan.capacity == pytest.approx(9 * 800.0)
    assert "800/s per node" in plan.explanation
    assert "if each node past 3 adds as much" in plan.explanation


def test_a_capacity_that_fell_with_more_nodes_refuses_the_linear_plan() -> None:
    plan = plan_nodes(5000.0, 0.3, measured={1: 1000.0, 2: 1500.0, 3: 1400.0})
    assert plan.refused
    assert plan.nodes is None
    assert plan.method is None
    assert "peaked at 1,500/s with 2 nodes" in plan.explanation


@pytest.mark.parametrize("measured", [{}, {1: None}, {1: 0.0, 2: None}, {1: float("nan")}])
def test_an_unknown_or_zero_limit_is_refused(measured: dict[int, float | None]) -> None:
    plan = plan_nodes(100.0, 0.3, measured=measured)
    assert plan.refused
    assert "unknown or zero" in plan.explanation
    assert plan.usable_rate is None


def test_unknown_counts_are_skipped_when_others_are_known() -> None:
    assert plan_nodes(1200.0, 0.3, measured={1: None, 2: 1800.0}).nodes == 2


def test_the_usl_plan_is_the_smallest_count_whose_modelled_capacity_covers_the_rate() -> None:
    fit = usl_fit(0.1, 0.0, 1000.0)
    plan = plan_from_usl(3000.0, 0.2, fit)
    capacities = usl_throughput(np.arange(1, 20), 0.1, 0.0, 1000.0) * 0.8
    expected = int(np.argmax(capacities >= 3000.0)) + 1
    assert (plan.nodes, plan.method) == (expected, "usl")
    assert plan.capacity is not None
    assert plan.capacity == pytest.approx(float(usl_throughput(expected, 0.1, 0.0, 1000.0)), rel=1e-4)
    assert 0.8 * plan.capacity >= 3000.0
    assert 0.8 * float(usl_throughput(expected - 1, 0.1, 0.0, 1000.0)) < 3000.0


def test_a_usl_plan_beyond_the_measured_counts_is_called_an_extrapolation() -> None:
    plan = plan_from_usl(6000.0, 0.2, usl_fit(0.05, 0.0, 1000.0))
    assert plan.nodes is not None
    assert plan.nodes > 10
    assert "an extrapolation" in plan.explanation


def test_a_rate_past_the_modelled_peak_is_out_of_reach() -> None:
    fit = usl_fit(0.05, 0.02, 1000.0)
    assert fit.peak_throughput is not None
    plan = plan_from_usl(fit.peak_throughput, 0.3, fit)
    assert plan.refused
    assert "out of reach at 30% headroom: the model peaks at" in plan.explanation


def test_a_rate_past_the_asymptote_is_out_of_reach_within_max_nodes() -> None:
    plan = plan_from_usl(10_000.0, 0.0, usl_fit(0.2, 0.0, 1000.0))  # levels off at 5,000/s
    assert plan.refused
    assert f"within {MAX_NODES:,} nodes" in plan.explanation


def test_plan_nodes_prefers_a_measurement_then_the_fit_then_linear() -> None:
    fit = usl_fit(0.1, 0.0, 1000.0)
    assert plan_nodes(600.0, 0.3, measured=MEASURED, fit=fit).method == "measured"
    assert plan_nodes(3000.0, 0.3, measured=MEASURED, fit=fit).method == "usl"
    refused_fit = fit_usl([1, 2, 3], [1.0, 2.0, 3.0])
    assert plan_nodes(3000.0, 0.3, measured=MEASURED, fit=refused_fit).method == "linear"
    alone = plan_nodes(3000.0, 0.3, fit=refused_fit)
    assert alone.refused
    assert "the scalability fit was refused: 3 distinct concurrency levels" in alone.explanation


@pytest.mark.parametrize(
    ("rate", "headroom", "message"),
    [
        (0.0, 0.3, "target rate"),
        (float("inf"), 0.3, "target rate"),
        (100.0, 1.0, "headroom"),
        (100.0, -0.1, "headroom"),
        (100.0, float("nan"), "headroom"),
    ],
)
def test_impossible_arguments_raise(rate: float, headroom: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_nodes(rate, headroom, measured=MEASURED)


def test_a_node_count_below_one_raises() -> None:
    with pytest.raises(ValueError, match="node counts start at 1"):
        plan_nodes(100.0, 0.3, measured={0: 500.0})


def test_plans_serialize() -> None:
    loaded = json.loads(json.dumps(plan_nodes(1200.0, 0.3, measured=MEASURED).as_dict()))
    assert loaded["nodes"] == 2
    assert loaded["refused"] is False
    assert loaded["usable_rate"] == pytest.approx(1260.0)
