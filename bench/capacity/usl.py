"""The Universal Scalability Law (Gunther) fitted to throughput measured at several concurrencies.

    X(N) = lambda * N / (1 + sigma * (N - 1) + kappa * N * (N - 1))

lambda is the throughput of one (the slope at N = 1), sigma the contention (the share that queues for
something serial), kappa the coherency cost (the crosstalk that makes throughput fall past a peak at
N* = sqrt((1 - sigma) / kappa)).

A fit is refused, with a sentence saying why, when the data cannot support it: too few concurrency
levels, throughput that is not a positive number, a flat line, a fit that does not converge, parameters
the data does not determine, or confidence intervals so wide that the fitted curve means nothing
(MAX_SWING below).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import OptimizeWarning, curve_fit
from scipy.stats import t as student_t

Floats = npt.NDArray[np.float64]

CONFIDENCE = 0.95
MIN_LEVELS = 4  # three parameters: with three levels any curve fits exactly and nothing is left to judge it
# The rule for "so wide the fit means nothing": moving any one parameter to either end of its confidence
# interval, the others kept, must not change the modelled throughput at any measured concurrency by more than
# this fraction. It judges every parameter on the one scale that matters (throughput within the measured
# range), where a relative width would not do for sigma and kappa, whose true values are often near 0.
MAX_SWING = 0.5
# kappa counts as 0 when its interval includes 0, or when its term is below this share of the law's denominator
# at the largest concurrency measured: a coherency cost the measurements could not have shown, and a peak far
# beyond them (an artefact of near-exact points, whose intervals are near zero).
NEGLIGIBLE_KAPPA = 0.01
MAX_EVALUATIONS = 10_000
SIGMA_BOUNDS = (0.0, 1.0)  # sigma above 1 would mean that two do less than one: not contention any more
KAPPA_BOUNDS = (0.0, math.inf)
LAMBDA_BOUNDS = (1e-12, math.inf)  # fitted on throughput scaled to a maximum of 1, so this is "above 0"
BOUNDS = (SIGMA_BOUNDS, KAPPA_BOUNDS, LAMBDA_BOUNDS)


@dataclass(frozen=True)
class Parameter:
    value: float
    low: float  # the 95% confidence interval, clipped to the parameter's bounds
    high: float

    def __str__(self) -> str:
        return f"{self.value:.4g} [{self.low:.4g}, {self.high:.4g}]"


@dataclass(frozen=True)
class UslFit:
    sigma: Parameter
    kappa: Parameter
    lambda_: Parameter
    peak_concurrency: float | None  # N*; None when no retrograde region was observed
    peak_throughput: float | None  # X(N*)
    peak_note: str  # where the peak is, or why there is none
    r_squared: float
    residual_standard_error: float  # in throughput units, with points - 3 degrees of freedom
    points: int
    levels: int  # distinct concurrencies
    concurrency_range: tuple[float, float]
    refused: Literal[False] = False

    def throughput(self, concurrency: npt.ArrayLike) -> Floats:
        return usl_throughput(concurrency, self.sigma.value, self.kappa.value, self.lambda_.value)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class UslRefused:
    reason: str  # one sentence
    points: int
    levels: int
    refused: Literal[True] = True

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


UslResult = UslFit | UslRefused


def usl_throughput(concurrency: npt.ArrayLike, sigma: float, kappa: float, lambda_: float) -> Floats:
    n = np.asarray(concurrency, dtype=np.float64)
    modelled: Floats = lambda_ * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))
    return modelled


def modelled_curve(fit: UslFit, up_to: float | None = None, samples: int = 200) -> tuple[Floats, Floats]:
    """The fitted curve from N = 1 for plotting; by default a little past the measurements and the peak."""
    if up_to is None:
        measured = fit.concurrency_range[1]
        peak = min(fit.peak_concurrency, 4 * measured) if fit.peak_concurrency is not None else 0.0
        up_to = 1.25 * max(measured, peak)
    concurrency = np.linspace(1.0, max(up_to, 1.0), samples)
    return concurrency, fit.throughput(concurrency)


def fit_usl(concurrency: Iterable[float], throughput: Iterable[float]) -> UslResult:
    """Fit the law to (N, X) points; several points may share one N (repetitions)."""
    n = np.asarray(list(concurrency), dtype=np.float64)
    x = np.asarray(list(throughput), dtype=np.float64)
    levels = len(np.unique(n[np.isfinite(n)]))

    def refuse(reason: str) -> UslRefused:
        return UslRefused(reason=reason, points=len(n), levels=levels)

    if (unsupported := _unsupported(n, x, levels)) is not None:
        return refuse(unsupported)
    # Scaled to a maximum of 1 so that the three parameters are of comparable size for the optimizer.
    scale = float(x.max())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", OptimizeWarning)
            fitted, covariance = curve_fit(
                usl_throughput,
                n,
                x / scale,
                p0=_initial_guess(n, x / scale),
                bounds=([low for low, _ in BOUNDS], [high for _, high in BOUNDS]),
                max_nfev=MAX_EVALUATIONS,
            )
    except OptimizeWarning:
        return refuse("the data does not determine the parameters: their covariance could not be estimated")
    except (RuntimeError, ValueError) as error:
        return refuse(f"the fit did not converge: {error}")
    errors = np.sqrt(np.diag(covariance))
    if not np.all(np.isfinite(errors)):
        return refuse("the data does not determine the parameters: their covariance is infinite")
    sigma, kappa, lambda_ = (float(value) for value in fitted)
    lambda_ *= scale
    errors[2] *= scale
    return _judged(n, x, levels, (sigma, kappa, lambda_), errors)


def _unsupported(n: Floats, x: Floats, levels: int) -> str | None:
    if len(n) != len(x):
        return f"there are {len(n)} concurrencies but {len(x)} throughputs"
    if not np.all(np.isfinite(n)) or np.any(n < 1):
        return f"every concurrency must be a number of at least 1; got {_listed(n)}"
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        return f"every throughput must be a positive number; got {_listed(x)}"
    if levels < MIN_LEVELS:
        return (
            f"{levels} distinct concurrency levels cannot support a fit of 3 parameters; at least {MIN_LEVELS} needed"
        )
    if np.all(x == x[0]):
        return "the throughput is the same at every concurrency: there is no curve to fit"
    return None


def _listed(values: Floats) -> str:
    return ", ".join(f"{value:g}" for value in values[:12]) + (", ..." if len(values) > 12 else "")


def _initial_guess(n: Floats, x: Floats) -> tuple[float, float, float]:
    """lambda from the lowest concurrency; sigma and kappa from the law rearranged into a linear model.

    lambda * N / X - 1 = sigma * (N - 1) + kappa * N * (N - 1), solved by least squares.
    """
    lowest = n == n.min()
    lambda_ = float(np.mean(x[lowest]) / n.min())
    design = np.column_stack([n - 1, n * (n - 1)])
    (sigma, kappa), *_ = np.linalg.lstsq(design, lambda_ * n / x - 1, rcond=None)
    return float(np.clip(sigma, 0.0, 0.99)), max(float(kappa), 0.0), lambda_


def _judged(n: Floats, x: Floats, levels: int, fitted: tuple[float, float, float], errors: Floats) -> UslResult:
    residuals = x - usl_throughput(n, *fitted)
    dof = len(n) - 3
    # The confidence intervals come from the covariance with a t quantile rather than from a bootstrap over
    # residuals: a sweep yields a handful of points (often 5 to 10), too few residuals to resample from, and
    # this way the fit stays deterministic and cheap.
    half = float(student_t.ppf((1 + CONFIDENCE) / 2, dof)) * errors
    raw = [(value - width, value + width) for value, width in zip(fitted, half, strict=True)]
    if (too_wide := _too_wide(np.unique(n), fitted, raw)) is not None:
        return UslRefused(reason=too_wide, points=len(n), levels=levels)
    sigma_ci, kappa_ci, lambda_ci = (
        Parameter(value, max(float(low), bounds[0]), min(float(high), bounds[1]))
        for value, (low, high), bounds in zip(fitted, raw, (SIGMA_BOUNDS, KAPPA_BOUNDS, (0.0, math.inf)), strict=True)
    )
    peak, peak_throughput, note = _peak(fitted, sigma_low=raw[0][0], kappa_low=raw[1][0], measured_max=float(n.max()))
    ss_residual = float(np.sum(residuals**2))
    return UslFit(
        sigma=sigma_ci,
        kappa=kappa_ci,
        lambda_=lambda_ci,
        peak_concurrency=peak,
        peak_throughput=peak_throughput,
        peak_note=note,
        r_squared=1 - ss_residual / float(np.sum((x - x.mean()) ** 2)),
        residual_standard_error=math.sqrt(ss_residual / dof),
        points=len(n),
        levels=levels,
        concurrency_range=(float(n.min()), float(n.max())),
    )


def _too_wide(levels: Floats, fitted: tuple[float, float, float], raw: list[tuple[float, float]]) -> str | None:
    modelled = usl_throughput(levels, *fitted)
    for index, name in enumerate(("sigma", "kappa", "lambda")):
        for end in raw[index]:
            moved = list(fitted)
            moved[index] = min(max(end, BOUNDS[index][0]), BOUNDS[index][1])
            swing = np.abs(usl_throughput(levels, *moved) / modelled - 1)
            if swing.max() > MAX_SWING:
                return (
                    f"the confidence intervals are too wide for the fit to mean anything: within its 95% interval, "
                    f"{name} alone moves the modelled throughput at N={levels[swing.argmax()]:g} by "
                    f"{swing.max():.0%} (more than {MAX_SWING:.0%})"
                )
    return None


def _peak(
    fitted: tuple[float, float, float], sigma_low: float, kappa_low: float, measured_max: float
) -> tuple[float | None, float | None, str]:
    sigma, kappa, lambda_ = fitted
    coherency = kappa * measured_max * (measured_max - 1)
    if kappa_low <= 0 or coherency < NEGLIGIBLE_KAPPA * (1 + sigma * (measured_max - 1) + coherency):
        levels_off = f"; throughput levels off towards lambda/sigma = {lambda_ / sigma:,.4g}" if sigma_low > 0 else ""
        why = "kappa's 95% interval includes 0" if kappa_low <= 0 else f"kappa is negligible up to N={measured_max:g}"
        return None, None, f"no retrograde region observed: {why}{levels_off}"
    # Past 1 - sigma < kappa the curve falls from N = 1 on: the peak is at the first worker.
    peak = max(1.0, math.sqrt((1 - sigma) / kappa))
    throughput = float(usl_throughput(peak, *fitted))
    note = f"throughput peaks at N* = {peak:,.1f} with {throughput:,.4g}"
    if peak > measured_max:
        note += f", beyond the largest concurrency measured ({measured_max:g}): an extrapolation"
    return peak, throughput, note
