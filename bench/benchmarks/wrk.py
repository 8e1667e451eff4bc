"""wrk as the load generator: one endpoint over many ids, every response's status checked.

The Lua script (wrk_endpoint.lua) builds the requests, counts every answer that is not 2xx and
prints one machine-readable line at the end, which `parse_result` reads into a `WrkResult`.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import msgspec

from bench.benchmarks.errors import BenchmarkError
from bench.benchmarks.measured import Measured
from bench.benchmarks.watched import run_watched
from bench.infra.logs import log_tail
from bench.rundir.steady import Percentiles

RESULT_PREFIX = "WRK-RESULT "
TIMEOUT = "5s"  # wrk's per-request timeout; a request that takes longer counts as an error


class WrkLatency(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Microseconds, as wrk measures them (from the request's write to its response's end)."""

    mean: float
    p50: float
    p90: float
    p95: float
    p99: float
    p999: float
    max: float


class WrkResult(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    requests: int
    duration_us: int
    non_2xx: int  # counted by the script's response() hook
    connect_errors: int
    read_errors: int
    write_errors: int
    status_errors: int  # wrk's own count of status >= 400 (part of non_2xx)
    timeouts: int
    latency_us: WrkLatency

    @property
    def errors(self) -> int:
        return self.non_2xx + self.connect_errors + self.read_errors + self.write_errors + self.timeouts

    def detail(self) -> str:
        counts = {
            "not 2xx": self.non_2xx,
            "connect": self.connect_errors,
            "read": self.read_errors,
            "write": self.write_errors,
            "timeout": self.timeouts,
        }
        return ", ".join(f"{name} {count}" for name, count in counts.items() if count)

    def percentiles(self) -> Percentiles:
        ms = self.latency_us
        return Percentiles(
            self.requests,
            ms.mean / 1e3,
            ms.p50 / 1e3,
            ms.p90 / 1e3,
            ms.p95 / 1e3,
            ms.p99 / 1e3,
            ms.p999 / 1e3,
            ms.max / 1e3,
        )


@dataclass(frozen=True)
class WrkJob:
    base_url: str
    method: str
    path: str  # may hold {id}
    ids: Path | None  # one id per line; None when `path` has no {id}
    body: bytes = b""
    connections: int = 64
    threads: int = 2
    seconds: float = 10.0


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def wrk_version(binary: str) -> str:
    # `wrk -v` prints "wrk <version> [epoll] Copyright ..." then its usage, and exits 1.
    shown = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10, check=False)
    words = (shown.stdout or shown.stderr).split()
    return " ".join(words[:2]) if words[:1] == ["wrk"] else "wrk"


def script_path() -> Path:
    return Path(str(resources.files("bench.benchmarks").joinpath("wrk_endpoint.lua")))


def wrk_command(binary: str, job: WrkJob) -> list[str]:
    if ("{id}" in job.path) != (job.ids is not None):
        raise BenchmarkError(f"{job.method} {job.path}: ids are needed exactly when the path holds {{id}}")
    return [
        binary,
        *("--connections", str(job.connections)),
        *("--threads", str(job.threads)),
        *("--duration", f"{max(1, round(job.seconds))}s"),
        *("--timeout", TIMEOUT),
        *("--script", str(script_path())),
        job.base_url,
        "--",
        job.method,
        job.path,
        job.body.decode(),
        str(job.ids) if job.ids is not None else "-",
        str(job.threads),
    ]


def parse_result(output: str) -> WrkResult:
    """The script's result line in wrk's output; BenchmarkError if there is none or it does not decode."""
    for line in output.splitlines():
        if line.startswith(RESULT_PREFIX):
            try:
                return msgspec.json.decode(line.removeprefix(RESULT_PREFIX), type=WrkResult)
            except msgspec.ValidationError as exc:
                raise BenchmarkError(f"wrk's result line does not decode ({exc}): {line}") from None
    raise BenchmarkError(f"wrk printed no {RESULT_PREFIX.strip()} line")


def run_wrk(binary: str, job: WrkJob, *, log: Path, watch: Mapping[str, Sequence[int]], version: str) -> Measured:
    finished = run_watched(wrk_command(binary, job), seconds=job.seconds, log=log, watch=watch)
    output = log.read_text(errors="replace")
    if finished.returncode != 0:
        raise BenchmarkError(f"wrk exited with code {finished.returncode}.\n{log_tail(log)}")
    try:
        result = parse_result(output)
    except BenchmarkError as exc:
        raise BenchmarkError(f"{exc}.\n{log_tail(log)}") from None
    return Measured(
        generator=version,
        requests=result.requests,
        requests_per_second=result.requests / (result.duration_us / 1e6) if result.duration_us else 0.0,
        errors=result.errors,
        seconds=result.duration_us / 1e6,
        latency=result.percentiles(),
        cpu=finished.cpu,
        detail=result.detail(),
    )
