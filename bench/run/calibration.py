"""Calibration: a known synthetic delay on the floor target must be measured as that delay.

Measured latency = the configured service time + the stack's and the harness's own time
(loopback, HTTP parsing, event loops, waking an idle CPU). The same load with no delay
measures that own time (the baseline). Since the two add up request by request, what the
harness should measure is the configured distribution convolved with the baseline's: its
percentiles are the expectation. The goal is to be within 2% or 1 ms of it, whichever is
larger; the raw error against the configured delay alone is shown beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hdrh.histogram import HdrHistogram

from bench.rundir.manifest import CalibrationPointRecord
from scenarios.hdr import histogram_values, percentile_key, summary
from targets.common.delay import DelayDistribution

CALIBRATED_PERCENTILES = (50.0, 90.0, 99.0)
RELATIVE_TOLERANCE = 0.02
ABSOLUTE_TOLERANCE_MS = 1.0
DELAY_GRID = 2000  # quantiles of the configured delay used for the convolution


@dataclass(frozen=True)
class CalibrationPoint:
    percentile: float
    configured_ms: float
    measured_ms: float
    expected_ms: float  # configured delay + own time (the baseline), convolved; = configured without a baseline

    @property
    def error_ms(self) -> float:
        return self.measured_ms - self.configured_ms

    @property
    def net_error_ms(self) -> float:
        return self.measured_ms - self.expected_ms

    @property
    def error_relative(self) -> float:
        return self.error_ms / self.configured_ms if self.configured_ms else float("inf")

    @property
    def tolerance_ms(self) -> float:
        return max(RELATIVE_TOLERANCE * self.configured_ms, ABSOLUTE_TOLERANCE_MS)

    @property
    def within_tolerance(self) -> bool:
        return abs(self.error_ms) <= self.tolerance_ms

    @property
    def net_within_tolerance(self) -> bool:
        return abs(self.net_error_ms) <= self.tolerance_ms

    def record(self) -> CalibrationPointRecord:
        return CalibrationPointRecord(
            percentile=self.percentile,
            configured_ms=self.configured_ms,
            expected_with_own_time_ms=self.expected_ms,
            measured_ms=self.measured_ms,
            error_ms=self.error_ms,
            net_error_ms=self.net_error_ms,
            tolerance_ms=self.tolerance_ms,
            within_tolerance=self.within_tolerance,
            net_within_tolerance=self.net_within_tolerance,
        )


def expected_percentiles(
    delay: DelayDistribution, own_time: HdrHistogram, percentiles: tuple[float, ...]
) -> list[float]:
    """Percentiles (ms) of configured delay + own time, the two independent: every grid quantile of the
    delay plus every recorded own time, weighted by how often that own time was seen."""
    delays_ms = np.array([delay.quantile((i + 0.5) / DELAY_GRID) * 1000.0 for i in range(DELAY_GRID)])
    own_ms, counts = histogram_values(own_time)
    sums = (delays_ms[:, None] + own_ms[None, :]).ravel()
    weights = np.broadcast_to(counts[None, :], (DELAY_GRID, len(counts))).ravel().astype(np.float64)
    order = np.argsort(sums, kind="stable")
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return [float(sums[order][np.searchsorted(cumulative, p / 100.0)]) for p in percentiles]


def compare(delay: DelayDistribution, measured: HdrHistogram, baseline: HdrHistogram | None) -> list[CalibrationPoint]:
    stats = summary(measured)
    configured = [delay.quantile(p / 100.0) * 1000.0 for p in CALIBRATED_PERCENTILES]
    expected = (
        expected_percentiles(delay, baseline, CALIBRATED_PERCENTILES)
        if baseline is not None and baseline.get_total_count()
        else configured
    )
    return [
        CalibrationPoint(p, conf, stats.stat_ms(percentile_key(p)), exp)
        for p, conf, exp in zip(CALIBRATED_PERCENTILES, configured, expected, strict=True)
    ]
