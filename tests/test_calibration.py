"""Calibration arithmetic: the expected latency is the configured delay plus the measured own time."""

from __future__ import annotations

import pytest

from bench.run.calibration import compare, expected_percentiles
from scenarios.hdr import histogram_of
from targets.common.delay import parse_delay


def test_a_constant_own_time_shifts_every_percentile_by_itself() -> None:
    own_time = histogram_of([1.0] * 1000)
    expected = expected_percentiles(parse_delay("uniform:2ms..20ms"), own_time, (50.0, 90.0, 99.0))
    assert expected == pytest.approx([12.0, 19.2, 20.82], abs=0.02)


def test_a_spread_own_time_widens_the_tail_more_than_its_median_shifts_it() -> None:
    """Half the requests take 1 ms of own time, half 3 ms: p99 of a fixed delay gets the 3 ms, p50 not all of it."""
    own_time = histogram_of([1.0] * 500 + [3.0] * 500)
    p10, p99 = expected_percentiles(parse_delay("fixed:10ms"), own_time, (10.0, 99.0))
    assert p10 == pytest.approx(11.0, abs=0.01)
    assert p99 == pytest.approx(13.0, abs=0.01)


def test_measured_equal_to_expected_has_no_net_error_but_a_raw_one() -> None:
    delay = parse_delay("fixed:10ms")
    own_time = histogram_of([1.5] * 100)
    measured = histogram_of([11.5] * 100)
    points = compare(delay, measured, own_time)
    assert all(point.net_error_ms == pytest.approx(0.0, abs=0.02) for point in points)
    assert all(point.net_within_tolerance for point in points)
    assert all(point.error_ms == pytest.approx(1.5, abs=0.02) and not point.within_tolerance for point in points)


def test_without_a_baseline_the_configured_delay_is_the_expectation() -> None:
    points = compare(parse_delay("fixed:10ms"), histogram_of([10.2] * 100), None)
    assert all(point.expected_ms == pytest.approx(10.0) and point.net_within_tolerance for point in points)
