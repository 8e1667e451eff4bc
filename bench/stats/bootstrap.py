"""Bootstrap 95% confidence intervals of a mean, a median and a difference of means (independent samples).

Degenerate inputs are answered before scipy sees them: with fewer than two values there is no
interval at all, and with no spread the bootstrap distribution is a single point (scipy would
warn and return NaN there). A fixed seed makes every interval reproducible from the same values.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 9_999
SEED = 20_240_601
NOT_ENOUGH = "not enough repetitions for a confidence interval (fewer than 2 values)"
NO_INTERVAL = "the bootstrap gave no interval for these values"

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class Estimate:
    """The mean of one arm's values; `ci` is None when there are fewer than two values."""

    n: int
    mean: float | None
    ci: Interval | None
    note: str | None = None


@dataclass(frozen=True)
class Delta:
    """`other` minus `baseline`: absolute, relative to the baseline's mean (%), and the interval of the absolute."""

    absolute: float | None
    relative_percent: float | None
    ci: Interval | None
    significant: bool
    note: str | None = None


def _array(values: Sequence[float]) -> Floats:
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"expected finite numbers, got {list(values)!r}")
    return array


def _constant(array: Floats) -> bool:
    return bool(np.ptp(array) == 0.0)


def _difference_of_means(other: Floats, baseline: Floats, axis: int = -1) -> Floats:
    difference: Floats = np.mean(other, axis=axis) - np.mean(baseline, axis=axis)
    return difference


def _mean(sample: Floats, axis: int = -1) -> Floats:
    mean: Floats = np.mean(sample, axis=axis)
    return mean


def _median(sample: Floats, axis: int = -1) -> Floats:
    median: Floats = np.median(sample, axis=axis)
    return median


def _bootstrap(samples: tuple[Floats, ...], statistic: Callable[..., Floats]) -> Interval | None:
    """BCa (scipy's default); the plain percentile interval where BCa's jackknife degenerates; None if neither."""
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = stats.bootstrap(
                samples,
                statistic,
                n_resamples=RESAMPLES,
                vectorized=True,
                confidence_level=CONFIDENCE,
                method=method,
                rng=np.random.default_rng(SEED),
            )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        if not math.isnan(low) and not math.isnan(high) and (not caught or method == "percentile"):
            return Interval(low, high)
    return None


def estimate(values: Sequence[float]) -> Estimate:
    array = _array(values)
    if array.size == 0:
        return Estimate(0, None, None, "no values")
    mean = float(array.mean())
    if array.size < 2:
        return Estimate(1, mean, None, NOT_ENOUGH)
    if _constant(array):
        return Estimate(int(array.size), mean, Interval(mean, mean))
    interval = _bootstrap((array,), _mean)
    return Estimate(int(array.size), mean, interval, None if interval else NO_INTERVAL)


def median_interval(values: Sequence[float]) -> Interval | None:
    """The bootstrap 95% interval of the median of `values`; None with fewer than two values or none found."""
    array = _array(values)
    if array.size < 2:
        return None
    if _constant(array):
        return Interval(float(array[0]), float(array[0]))
    return _bootstrap((array,), _median)


def delta(baseline: Sequence[float], other: Sequence[float]) -> Delta:
    base, arm = _array(baseline), _array(other)
    if base.size == 0 or arm.size == 0:
        return Delta(None, None, None, False, "no values")
    absolute = float(arm.mean() - base.mean())
    base_mean = float(base.mean())
    relative = absolute / abs(base_mean) * 100.0 if base_mean != 0 else None
    if base.size < 2 or arm.size < 2:
        return Delta(absolute, relative, None, False, NOT_ENOUGH)
    if _constant(base) and _constant(arm):
        interval: Interval | None = Interval(absolute, absolute)
    else:
        interval = _bootstrap((arm, base), _difference_of_means)
    if interval is None:
        return Delta(absolute, relative, None, False, NO_INTERVAL)
    return Delta(absolute, relative, interval, interval.excludes_zero())
