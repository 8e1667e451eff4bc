"""Bootstrap intervals and significance on synthetic data whose differences are known."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bench.stats.bootstrap import NOT_ENOUGH, Interval, delta, estimate, median_interval

pytestmark = pytest.mark.timeout(60)


def normal(mean: float, spread: float, n: int, seed: int) -> list[float]:
    return [float(v) for v in np.random.default_rng(seed).normal(mean, spread, n)]


def test_the_interval_of_a_mean_holds_the_mean() -> None:
    values = normal(100.0, 5.0, 10, seed=1)
    found = estimate(values)
    assert found.n == 10
    assert found.mean == pytest.approx(np.mean(values))
    assert found.ci is not None
    assert found.mean is not None
    assert found.ci.low < found.mean < found.ci.high
    assert found.ci.high - found.ci.low < 10.0


def test_a_large_difference_is_significant_with_the_right_sign() -> None:
    baseline, other = normal(280.0, 10.0, 5, seed=2), normal(34.0, 3.0, 5, seed=3)
    found = delta(baseline, other)
    assert found.significant
    assert found.ci is not None
    assert found.ci.high < 0
    assert found.absolute is not None
    assert found.absolute == pytest.approx(np.mean(other) - np.mean(baseline))
    assert found.relative_percent == pytest.approx(found.absolute / np.mean(baseline) * 100.0)
    assert found.ci.low < found.absolute < found.ci.high


def test_a_zero_difference_is_not_significant() -> None:
    values = normal(50.0, 4.0, 6, seed=4)
    found = delta(values, list(reversed(values)))
    assert found.absolute == pytest.approx(0.0, abs=1e-9)
    assert found.ci is not None
    assert found.ci.low < 0 < found.ci.high
    assert not found.significant


def test_two_samples_of_the_same_distribution_are_not_significant() -> None:
    found = delta(normal(50.0, 4.0, 6, seed=5), normal(50.0, 4.0, 6, seed=6))
    assert not found.significant


def test_a_small_difference_within_the_noise_is_not_significant() -> None:
    found = delta([80.0, 100.0, 120.0], [121.0, 81.0, 101.0])
    assert found.absolute == pytest.approx(1.0)
    assert not found.significant


def test_fewer_than_two_values_give_no_interval_and_no_significance() -> None:
    single = estimate([3.0])
    assert single.mean == 3.0
    assert single.ci is None
    assert single.note == NOT_ENOUGH
    found = delta([1.0], [100.0, 101.0])
    assert found.absolute == pytest.approx(99.5)
    assert found.ci is None
    assert not found.significant
    assert found.note == NOT_ENOUGH
    assert estimate([]).mean is None
    assert delta([], [1.0, 2.0]).absolute is None


def test_zero_variance_gives_a_point_interval_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = estimate([7.0, 7.0, 7.0])
        assert same.ci is not None
        assert (same.ci.low, same.ci.high) == (7.0, 7.0)
        equal = delta([0.0, 0.0], [0.0, 0.0])
        assert equal.absolute == 0.0
        assert equal.relative_percent is None  # relative to a zero baseline is undefined, not infinite
        assert not equal.significant
        apart = delta([5.0, 5.0], [9.0, 9.0])
        assert apart.significant
        assert apart.relative_percent == pytest.approx(80.0)
        one_constant = delta([0.0, 0.0, 0.0], [0.0, 0.0, 1.0])
        assert one_constant.ci is not None
        assert not one_constant.significant


def test_the_same_values_give_the_same_interval() -> None:
    baseline, other = normal(10.0, 2.0, 4, seed=9), normal(12.0, 2.0, 4, seed=10)
    assert delta(baseline, other) == delta(baseline, other)
    assert estimate(other) == estimate(other)


def test_non_finite_values_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        estimate([1.0, float("nan")])


def test_the_interval_of_a_median_holds_the_median_and_needs_two_values() -> None:
    values = normal(1.0, 0.05, 9, seed=4)
    found = median_interval(values)
    assert found is not None
    assert found.low <= float(np.median(values)) <= found.high
    assert median_interval([0.9]) is None
    assert median_interval([0.9, 0.9, 0.9]) == Interval(0.9, 0.9)
