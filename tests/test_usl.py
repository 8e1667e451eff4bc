"""The Universal Scalability Law fit on synthetic points: known parameters back, degenerate data refused."""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import numpy as np
import pytest
from scipy.optimize import OptimizeWarning

from bench.capacity import usl
from bench.capacity.usl import UslFit, UslResult, fit_usl, modelled_curve, usl_throughput

pytestmark = pytest.mark.timeout(30)

LEVELS = np.array([1, 2, 4, 8, 12, 16, 24, 32, 48, 64], dtype=np.float64)
SIGMA, KAPPA, LAMBDA = 0.05, 0.002, 1000.0
TRUE_PEAK = math.sqrt((1 - SIGMA) / KAPPA)  # 21.8


def noisy(seed: int, noise: float = 0.03, levels: np.ndarray[Any, Any] = LEVELS) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    return usl_throughput(levels, SIGMA, KAPPA, LAMBDA) * (1 + rng.normal(0.0, noise, len(levels)))


def fitted(result: UslResult) -> UslFit:
    assert not result.refused, result.reason
    return result


def test_the_fit_recovers_known_parameters_from_noisy_points() -> None:
    fit = fitted(fit_usl(LEVELS, noisy(seed=1)))
    for estimate, truth in ((fit.sigma, SIGMA), (fit.kappa, KAPPA), (fit.lambda_, LAMBDA)):
        assert estimate.low <= truth <= estimate.high, (estimate, truth)
        assert estimate.low <= estimate.value <= estimate.high
    assert fit.lambda_.high - fit.lambda_.low < 0.3 * LAMBDA  # 3% noise: an interval, not a shrug
    assert fit.peak_concurrency is not None
    assert fit.peak_concurrency == pytest.approx(TRUE_PEAK, rel=0.1)
    assert fit.peak_throughput is not None
    assert fit.peak_throughput == pytest.approx(float(usl_throughput(TRUE_PEAK, SIGMA, KAPPA, LAMBDA)), rel=0.05)
    assert fit.r_squared > 0.99
    assert 0 < fit.residual_standard_error < 0.06 * fit.peak_throughput
    assert (fit.points, fit.levels, fit.concurrency_range) == (10, 10, (1.0, 64.0))
    assert "peaks at N*" in fit.peak_note
    assert "extrapolation" not in fit.peak_note


def test_the_95_percent_intervals_cover_the_truth_about_95_percent_of_the_time() -> None:
    covered = {"sigma": 0, "kappa": 0, "lambda": 0}
    for seed in range(40):
        fit = fitted(fit_usl(LEVELS, noisy(seed)))
        for name, estimate, truth in (
            ("sigma", fit.sigma, SIGMA),
            ("kappa", fit.kappa, KAPPA),
            ("lambda", fit.lambda_, LAMBDA),
        ):
            covered[name] += estimate.low <= truth <= estimate.high
    assert all(34 <= count <= 40 for count in covered.values()), covered


def test_exact_points_give_the_parameters_exactly() -> None:
    fit = fitted(fit_usl(LEVELS, usl_throughput(LEVELS, SIGMA, KAPPA, LAMBDA)))
    assert fit.sigma.value == pytest.approx(SIGMA, rel=1e-5)
    assert fit.kappa.value == pytest.approx(KAPPA, rel=1e-5)
    assert fit.lambda_.value == pytest.approx(LAMBDA, rel=1e-6)
    assert fit.r_squared == pytest.approx(1.0)


def test_repetitions_at_each_level_are_fitted_together() -> None:
    levels = np.repeat(np.array([1, 4, 8, 16, 32, 64], dtype=np.float64), 3)
    fit = fitted(fit_usl(levels, noisy(seed=5, levels=levels)))
    assert (fit.points, fit.levels) == (18, 6)
    assert fit.kappa.low <= KAPPA <= fit.kappa.high


def test_the_throughput_scale_does_not_change_sigma_and_kappa() -> None:
    points = noisy(seed=2)
    small, large = fitted(fit_usl(LEVELS, points / 1000)), fitted(fit_usl(LEVELS, points * 1000))
    assert small.sigma.value == pytest.approx(large.sigma.value, rel=1e-4)
    assert small.kappa.value == pytest.approx(large.kappa.value, rel=1e-4)
    assert large.lambda_.value == pytest.approx(small.lambda_.value * 1e6, rel=1e-4)


def test_linear_scaling_has_no_retrograde_region() -> None:
    rng = np.random.default_rng(3)
    fit = fitted(fit_usl(LEVELS, 900.0 * LEVELS * (1 + rng.normal(0.0, 0.01, len(LEVELS)))))
    assert fit.kappa.low == 0.0
    assert fit.kappa.value < 1e-5
    assert fit.sigma.value < 0.01
    assert fit.lambda_.value == pytest.approx(900.0, rel=0.05)
    assert fit.peak_concurrency is None
    assert fit.peak_throughput is None
    assert "no retrograde region observed" in fit.peak_note


def test_contention_without_coherency_levels_off_towards_lambda_over_sigma() -> None:
    fit = fitted(fit_usl(LEVELS, usl_throughput(LEVELS, 0.2, 0.0, 500.0)))
    assert fit.peak_concurrency is None
    assert "no retrograde region observed" in fit.peak_note
    assert "levels off towards lambda/sigma = 2,500" in fit.peak_note


def test_a_peak_beyond_the_measured_concurrencies_is_called_an_extrapolation() -> None:
    levels = np.array([1, 2, 4, 6, 8, 12, 16], dtype=np.float64)
    fit = fitted(fit_usl(levels, noisy(seed=4, noise=0.002, levels=levels)))
    assert fit.peak_concurrency is not None
    assert fit.peak_concurrency > 16
    assert "an extrapolation" in fit.peak_note


@pytest.mark.parametrize(
    ("concurrency", "throughput", "reason"),
    [
        ([1, 2, 4], [100, 190, 350], "3 distinct concurrency levels"),
        ([1, 1, 2, 2, 4, 4], [100, 101, 190, 191, 350, 352], "3 distinct concurrency levels"),
        ([1, 2, 4, 8], [100, 0, 350, 600], "positive"),
        ([1, 2, 4, 8], [100, -190, 350, 600], "positive"),
        ([1, 2, 4, 8], [100, float("nan"), 350, 600], "positive"),
        ([1, 2, 4, 8], [100, 190, float("inf"), 600], "positive"),
        ([1, 2, float("nan"), 8], [100, 190, 350, 600], "at least 1"),
        ([0, 2, 4, 8], [100, 190, 350, 600], "at least 1"),
        ([1, 2, 4, 8, 16], [500, 500, 500, 500, 500], "same at every concurrency"),
        ([1, 2, 4, 8], [100, 190, 350], "4 concurrencies but 3 throughputs"),
        ([], [], "0 distinct concurrency levels"),
        ([1, 2, 3, 4, 5, 6], [500, 900, 100, 800, 200, 700], "too wide"),
    ],
)
def test_degenerate_data_is_refused_with_a_reason(
    concurrency: list[float], throughput: list[float], reason: str
) -> None:
    result = fit_usl(concurrency, throughput)
    assert result.refused
    assert reason in result.reason
    assert result.points == len(concurrency)


def test_few_points_with_heavy_noise_are_refused_as_too_uncertain() -> None:
    levels = np.array([1, 2, 4, 8], dtype=np.float64)
    result = fit_usl(levels, noisy(seed=0, noise=0.1, levels=levels))
    assert result.refused
    assert "confidence intervals are too wide" in result.reason
    assert "(more than 50%)" in result.reason


def test_a_fit_that_does_not_converge_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def diverging(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Optimal parameters not found: The maximum number of function evaluations is exceeded.")

    monkeypatch.setattr(usl, "curve_fit", diverging)
    result = fit_usl(LEVELS, noisy(seed=1))
    assert result.refused
    assert "did not converge: Optimal parameters not found" in result.reason


def test_undetermined_parameters_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def infinite(*args: object, **kwargs: object) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        return np.array([SIGMA, KAPPA, 1.0]), np.full((3, 3), np.inf)

    monkeypatch.setattr(usl, "curve_fit", infinite)
    result = fit_usl(LEVELS, noisy(seed=1))
    assert result.refused
    assert "does not determine the parameters" in result.reason


def test_a_covariance_scipy_cannot_estimate_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def warning(*args: object, **kwargs: object) -> None:
        warnings.warn("Covariance of the parameters could not be estimated", OptimizeWarning, stacklevel=1)

    monkeypatch.setattr(usl, "curve_fit", warning)
    result = fit_usl(LEVELS, noisy(seed=1))
    assert result.refused
    assert "does not determine the parameters" in result.reason


def test_the_modelled_curve_runs_from_one_past_the_measurements_and_the_peak() -> None:
    fit = fitted(fit_usl(LEVELS, usl_throughput(LEVELS, SIGMA, KAPPA, LAMBDA)))
    concurrency, throughput = modelled_curve(fit)
    assert concurrency[0] == 1.0
    assert concurrency[-1] == pytest.approx(1.25 * 64)
    assert len(concurrency) == len(throughput) == 200
    assert np.allclose(throughput, usl_throughput(concurrency, SIGMA, KAPPA, LAMBDA), rtol=1e-5)
    assert concurrency[int(np.argmax(throughput))] == pytest.approx(TRUE_PEAK, abs=0.5)
    wider, _ = modelled_curve(fit, up_to=200.0, samples=11)
    assert list(wider) == pytest.approx(list(np.linspace(1.0, 200.0, 11)))


def test_fits_and_refusals_serialize() -> None:
    fit = json.loads(json.dumps(fitted(fit_usl(LEVELS, noisy(seed=1))).as_dict()))
    assert fit["refused"] is False
    assert set(fit["kappa"]) == {"value", "low", "high"}
    refused = json.loads(json.dumps(fit_usl([1, 2], [1.0, 2.0]).as_dict()))
    assert refused == {"reason": refused["reason"], "points": 2, "levels": 2, "refused": True}
