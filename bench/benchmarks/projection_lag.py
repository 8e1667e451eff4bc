"""The cqrs target's visibility window under write load: how long after a write is acknowledged it can be read.

    bench benchmark projection_lag --seconds 20 --writers 64 --projectors 1

Starts the infrastructure and the cqrs target, then for `--seconds` keeps `--writers`
concurrent clients depositing into `--accounts` accounts as fast as the target accepts,
while a probe deposits into an account of its own every `--probe-interval-ms` and reads
it back with ?min_version= (which answers as soon as the projector announces the version).
The visibility window of one probe is the time from the deposit's response to that read's
response. The load generator is this process, on the same machine as the target: its CPU is
sampled, and a client that used more than 90% of a core is flagged, since the windows it
measured then include its own queueing.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

from bench.benchmarks.cpu import GENERATOR_CPU_LIMIT, CpuUse, CpuWatch
from bench.benchmarks.errors import BenchmarkError
from bench.benchmarks.serve import served
from bench.rundir.steady import Percentiles
from scenarios.hdr import histogram_of, summary

CPU_PERIOD = 1.0
TIMEOUT = httpx.Timeout(30.0)
CLIENT = "client"


class ProjectionLag(msgspec.Struct, frozen=True):
    workers: int
    projectors: int
    writers: int
    seconds: float  # measured
    writes: int  # acknowledged by the writers (probes not counted)
    writes_per_second: float
    window: Percentiles  # scenarios.hdr.summary of the probes' visibility windows: count, mean_ms, p50_ms ...
    stale: int  # probes whose read answered X-Stale: true (the read model missed the wait)
    client_cpu: CpuUse
    client_saturated: bool
    write_side: Any  # the target's /stats "write_side", as it reports it


class _Load:
    """Writers and one probe, each with a connection of its own, until the deadline."""

    def __init__(self, base_url: str, *, seconds: float, probe_interval: float) -> None:
        self.base_url = base_url
        self.seconds = seconds
        self.probe_interval = probe_interval
        self.writes = 0
        self.windows_ms: list[float] = []
        self.stale = 0
        self.cpu = CpuWatch({CLIENT: [os.getpid()]}, descendants=False)

    def client(self) -> httpx.AsyncClient:
        # One connection per client: a pool shared by every writer spends the client's CPU on pool bookkeeping.
        return httpx.AsyncClient(base_url=self.base_url, timeout=TIMEOUT, limits=httpx.Limits(max_connections=1))

    async def open_accounts(self, count: int) -> list[str]:
        async with self.client() as client:
            return [
                _ok(await client.post("/accounts", json={"owner": f"lag-{n}", "initial_deposit": 1}))["id"]
                for n in range(count)
            ]

    async def write(self, deadline: float, accounts: list[str]) -> None:
        rng = random.Random()
        async with self.client() as client:
            while time.monotonic() < deadline:
                _ok(await client.post(f"/accounts/{rng.choice(accounts)}/deposits", json={"amount": 1}))
                self.writes += 1

    async def probe(self, deadline: float, account: str) -> None:
        async with self.client() as client:
            while time.monotonic() < deadline:
                written = _ok(await client.post(f"/accounts/{account}/deposits", json={"amount": 1}))
                acknowledged = time.perf_counter()
                read = await client.get(f"/accounts/{account}", params={"min_version": written["version"]})
                _ok(read)
                self.windows_ms.append((time.perf_counter() - acknowledged) * 1000.0)
                self.stale += read.headers.get("x-stale") == "true"
                await asyncio.sleep(self.probe_interval)  # pacing of the probe, not a wait for anything

    async def sample_cpu(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            self.cpu.sample()
            await asyncio.sleep(CPU_PERIOD)  # the sampling period

    async def run(self, writers: int, accounts: int) -> float:
        """Seconds the load ran."""
        probe_account, *targets = await self.open_accounts(accounts + 1)
        started = time.perf_counter()
        deadline = time.monotonic() + self.seconds
        await asyncio.gather(
            self.sample_cpu(deadline),
            self.probe(deadline, probe_account),
            *(self.write(deadline, targets) for _ in range(writers)),
        )
        return time.perf_counter() - started


def _ok(response: httpx.Response) -> Any:
    if response.is_error:
        raise BenchmarkError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    return response.json()


def measure_lag(
    *,
    seconds: float,
    writers: int,
    accounts: int,
    projectors: int,
    workers: int,
    probe_interval_ms: int,
    pg_dsn: str | None,
    redis_url: str | None,
    log_dir: Path,
) -> ProjectionLag:
    """`writers` writing and one probe reading back for `seconds`, on a cqrs target whose logs go into `log_dir`."""
    with served(
        "cqrs", log_dir=log_dir, pg_dsn=pg_dsn, redis_url=redis_url, workers=workers, projectors=projectors
    ) as cqrs:
        target = cqrs.target
        load = _Load(target.base_url, seconds=seconds, probe_interval=probe_interval_ms / 1000)
        elapsed = asyncio.run(load.run(writers, accounts))
        stats = _ok(httpx.get(f"{target.base_url}/stats", timeout=TIMEOUT))
    client_cpu = load.cpu.use()[CLIENT]
    return ProjectionLag(
        workers=workers,
        projectors=projectors,
        writers=writers,
        seconds=elapsed,
        writes=load.writes,
        writes_per_second=load.writes / elapsed,
        window=summary(histogram_of(load.windows_ms)),
        stale=load.stale,
        client_cpu=client_cpu,
        client_saturated=client_cpu.max_percent > GENERATOR_CPU_LIMIT,
        write_side=stats.get("write_side"),
    )


def lines(result: ProjectionLag) -> list[str]:
    """The result as a person reads it."""
    shown = [
        f"cqrs, {result.workers} API worker(s), {result.projectors} projector(s), {result.writers} writers, "
        f"{result.seconds:.1f} s",
        f"writes acknowledged: {result.writes:,} ({result.writes_per_second:,.0f}/s)",
    ]
    window = result.window
    if window.count:
        shown.append(
            f"visibility window over {window.count:,} probes: p50 {window.p50_ms:.1f} ms, "
            f"p95 {window.p95_ms:.1f} ms, p99 {window.p99_ms:.1f} ms, max {window.max_ms:.1f} ms; "
            f"{result.stale} read stale"
        )
    cpu = result.client_cpu
    verdict = "SATURATED: the windows include the client's own queueing" if result.client_saturated else "ok"
    shown.append(f"client CPU {cpu.mean_percent:.0f}% mean, {cpu.max_percent:.0f}% max of a core: {verdict}")
    shown.append(f"write side: {result.write_side}")
    return shown
