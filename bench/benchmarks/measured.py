"""What one load generator measured in one run: the shape shared by the wrk, pgbench and Locust drivers."""

from __future__ import annotations

import msgspec

from bench.benchmarks.cpu import CpuUse
from bench.rundir.steady import Percentiles


class Measured(msgspec.Struct, frozen=True):
    generator: str  # with its version, e.g. "wrk 4.1.0" or "pgbench (PostgreSQL) 18.6"
    requests: int  # completed requests (pgbench: transactions), errors included
    requests_per_second: float
    errors: int  # anything but a success: non-2xx answers, socket errors and timeouts; failed or aborted transactions
    seconds: float  # as the generator measured its run
    latency: Percentiles
    cpu: dict[str, CpuUse]  # the generator's ("generator") and each watched tree's
    saturated: bool = False  # the generator ran out of CPU: the latencies are its own
    detail: str = ""  # what the errors were, for people
