"""Calibration: a known synthetic delay on the floor target must be measured as that delay.

Measured latency = the configured service time + the stack's and the harness's own time
(loopback, HTTP parsing, event loops). The goal is to be within 2% or 1 ms of the configured
percentile, whichever is larger. The same run with no delay measures that own time (the
baseline); the error net of the baseline's median says how well the harness measures a
delay, the raw error how far an absolute latency is off.
"""

from __future__ import annotations

from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

from scenarios.hdr import percentile_key, summary
from targets.common.delay import DelayDistribution

CALIBRATED_PERCENTILES = (50.0, 90.0, 99.0)
RELATIVE_TOLERANCE = 0.02
ABSOLUTE_TOLERANCE_MS = 1.0


@dataclass(frozen=True)
class CalibrationPoint:
    percentile: float
    configured_ms: float
    measured_ms: float
    baseline_ms: float = 0.0  # median latency with no delay configured

    @property
    def error_ms(self) -> float:
        return self.measured_ms - self.configured_ms

    @property
    def net_error_ms(self) -> float:
        return self.error_ms - self.baseline_ms

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

    def as_dict(self) -> dict[str, object]:
        return {
            "percentile": self.percentile,
            "configured_ms": self.configured_ms,
            "measured_ms": self.measured_ms,
            "baseline_p50_ms": self.baseline_ms,
            "error_ms": self.error_ms,
            "net_error_ms": self.net_error_ms,
            "tolerance_ms": self.tolerance_ms,
            "within_tolerance": self.within_tolerance,
            "net_within_tolerance": self.net_within_tolerance,
        }


def compare(delay: DelayDistribution, measured: HdrHistogram, baseline: HdrHistogram | None) -> list[CalibrationPoint]:
    stats = summary(measured)
    baseline_ms = summary(baseline)["p50_ms"] if baseline is not None else 0.0
    return [
        CalibrationPoint(p, delay.quantile(p / 100.0) * 1000.0, stats[f"{percentile_key(p)}_ms"], baseline_ms)
        for p in CALIBRATED_PERCENTILES
    ]
