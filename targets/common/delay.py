"""Synthetic service-time distributions for the floor target (calibration), and stalls of the whole process.

A stall ('stall:200ms/1s') is not a service time: every request is answered at once, except that the
floor process blocks for 200 ms once every second of wall-clock time (on whole multiples of the period,
so that every worker process stalls at the same moments) and answers nothing meanwhile. Requests that
meet a stall wait for its end; `sample` and `quantile` describe the time a request adds of its own
(none), the stall itself is the floor service's to apply.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from statistics import NormalDist

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?(?:e-?\d+)?)\s*(us|ms|s)\s*$")
_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}
_Z99 = NormalDist().inv_cdf(0.99)

DELAY_SYNTAX = (
    "'none', 'fixed:5ms', 'uniform:1ms..10ms', 'exponential:5ms' (mean), 'lognormal:5ms..50ms' (median..p99) "
    "or 'stall:200ms/1s' (the whole process blocks 200 ms once every 1 s)"
)


def parse_duration(text: str) -> float:
    """'250us', '5ms', '1.5s' (or '2.5e-05s', as `DelayDistribution.spec` writes them) -> seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 250us, 5ms or 1.5s")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass(frozen=True)
class DelayDistribution:
    kind: str
    a: float = 0.0  # stall: how long the process blocks
    b: float = 0.0  # stall: once every how many seconds

    @property
    def stall(self) -> tuple[float, float] | None:
        """(blocked seconds, period seconds) of a stall; None for the service-time kinds."""
        return (self.a, self.b) if self.kind == "stall" else None

    @property
    def spec(self) -> str:
        """The text `parse_delay` reads back into this distribution (seconds written exactly)."""
        if self.kind == "none":
            return "none"
        if self.kind in ("fixed", "exponential"):
            return f"{self.kind}:{self.a!r}s"
        separator = "/" if self.kind == "stall" else ".."
        return f"{self.kind}:{self.a!r}s{separator}{self.b!r}s"

    def sample(self, rng: random.Random) -> float:
        """One delay in seconds."""
        if self.kind in ("none", "stall"):
            return 0.0
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        if self.kind == "exponential":
            return rng.expovariate(1.0 / self.a)
        # lognormal given by median (a) and p99 (b)
        sigma = math.log(self.b / self.a) / _Z99
        return rng.lognormvariate(math.log(self.a), sigma)

    def quantile(self, q: float) -> float:
        """The configured q-quantile in seconds, so calibration can compare against it."""
        if self.kind in ("none", "stall"):
            return 0.0
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return self.a + q * (self.b - self.a)
        if self.kind == "exponential":
            return -self.a * math.log(1.0 - q)
        sigma = math.log(self.b / self.a) / _Z99
        return math.exp(math.log(self.a) + sigma * NormalDist().inv_cdf(q))


def parse_delay(spec: str) -> DelayDistribution:
    kind, _, args = spec.strip().partition(":")
    kind = kind.lower()
    if kind == "none" and not args:
        return DelayDistribution("none")
    if kind in ("fixed", "exponential") and args:
        value = parse_duration(args)
        if kind == "exponential" and value <= 0:
            raise ValueError("the mean of an exponential delay must be > 0")
        return DelayDistribution(kind, value)
    if kind in ("uniform", "lognormal") and ".." in args:
        low_text, _, high_text = args.partition("..")
        low, high = parse_duration(low_text), parse_duration(high_text)
        if kind == "uniform" and not low <= high:
            raise ValueError(f"uniform delay needs low <= high, got {args!r}")
        if kind == "lognormal" and not 0 < low < high:
            raise ValueError(f"lognormal delay needs 0 < median < p99, got {args!r}")
        return DelayDistribution(kind, low, high)
    if kind == "stall" and "/" in args:
        stall_text, _, period_text = args.partition("/")
        stall, period = parse_duration(stall_text), parse_duration(period_text)
        if not 0 < stall < period:
            raise ValueError(f"a stall needs 0 < blocked time < period, got {args!r}")
        return DelayDistribution(kind, stall, period)
    raise ValueError(f"{spec!r} is not a delay; expected {DELAY_SYNTAX}")
