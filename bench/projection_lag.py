"""The cqrs target's visibility window under write load: how long after a write is acknowledged it can be read.

    python -m bench.projection_lag --seconds 20 --writers 64 --projectors 1

Starts the infrastructure and the cqrs target, then for `--seconds` keeps `--writers`
concurrent clients depositing into `--accounts` accounts as fast as the target accepts,
while a probe deposits into an account of its own every `--probe-interval-ms` and reads
it back with ?min_version= (which answers as soon as the projector announces the version).
The visibility window of one probe is the time from the deposit's response to that read's
response. This is an ad-hoc measurement with the load generator on the same machine: it
competes with the target for the CPU, so it says what this machine does, not a ceiling.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import httpx

from bench.infra.stack import Infrastructure
from bench.infra.target_process import start_target
from targets.registry import get_target


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class _Connection:
    """One keep-alive HTTP/1.1 connection. httpx's pool costs milliseconds of client CPU per request at
    64 concurrent connections, which would measure the client; this costs microseconds."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self._reader, self._writer, self._host = reader, writer, host

    @classmethod
    async def open(cls, base_url: str) -> _Connection:
        parts = urlsplit(base_url)
        assert parts.hostname is not None
        assert parts.port is not None
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer, parts.netloc)

    async def request(self, method: str, path: str, body: object = None) -> tuple[int, dict[str, str], Any]:
        payload = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self._host}\r\nContent-Length: {len(payload)}\r\n"
        self._writer.write(f"{head}Content-Type: application/json\r\n\r\n".encode() + payload)
        status_line, *header_lines = (await self._reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        content = await self._reader.readexactly(int(headers["content-length"]))
        status = int(status_line.split()[1])
        if status >= 400:
            raise click.ClickException(f"{method} {path}: {status} {content.decode()}")
        return status, headers, json.loads(content)

    def close(self) -> None:
        self._writer.close()


async def _measure(
    base_url: str, *, seconds: float, writers: int, accounts: int, probe_interval: float
) -> tuple[int, float, list[float], int]:
    """Writes done, seconds taken, visibility windows (s) of the probes, probes that read stale."""
    connections = [await _Connection.open(base_url) for _ in range(writers + 1)]
    try:
        ids = []
        for n in range(accounts + 1):
            _, _, opened = await connections[0].request(
                "POST", "/accounts", {"owner": f"lag-{n}", "initial_deposit": 1}
            )
            ids.append(opened["id"])
        probe_account, targets = ids[0], ids[1:]
        deadline = time.monotonic() + seconds
        writes = 0

        async def write(connection: _Connection) -> None:
            nonlocal writes
            rng = random.Random()
            while time.monotonic() < deadline:
                await connection.request("POST", f"/accounts/{rng.choice(targets)}/deposits", {"amount": 1})
                writes += 1

        windows: list[float] = []
        stale = 0

        async def probe(connection: _Connection) -> None:
            nonlocal stale
            while time.monotonic() < deadline:
                _, _, written = await connection.request("POST", f"/accounts/{probe_account}/deposits", {"amount": 1})
                acknowledged = time.perf_counter()
                path = f"/accounts/{probe_account}?min_version={written['version']}"
                _, headers, _ = await connection.request("GET", path)
                windows.append(time.perf_counter() - acknowledged)
                stale += headers.get("x-stale") == "true"
                await asyncio.sleep(probe_interval)  # pacing of the probe, not a wait for anything

        started = time.perf_counter()
        await asyncio.gather(probe(connections[0]), *(write(c) for c in connections[1:]))
        return writes, time.perf_counter() - started, windows, stale
    finally:
        for connection in connections:
            connection.close()


@click.command()
@click.option("--seconds", type=click.FloatRange(1, 3600), default=20.0, show_default=True)
@click.option("--writers", type=click.IntRange(1, 1024), default=64, show_default=True)
@click.option("--accounts", type=click.IntRange(1, 100_000), default=1_000, show_default=True)
@click.option("--projectors", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--probe-interval-ms", type=click.IntRange(1, 10_000), default=20, show_default=True)
def main(seconds: float, writers: int, accounts: int, projectors: int, workers: int, probe_interval_ms: int) -> None:
    log_dir = Path(tempfile.mkdtemp(prefix="cqrsb-lag-"))
    with Infrastructure.from_env(need_postgres=True, need_redis=True) as infra:
        assert infra.database_dsn is not None
        assert infra.redis_url is not None
        settings = {"BENCH_PG_DSN": infra.database_dsn, "BENCH_REDIS_URL": infra.redis_url}
        target = start_target(
            get_target("cqrs"), settings_env=settings, log_dir=log_dir, workers=workers, projectors=projectors
        )
        try:
            writes, elapsed, windows, stale = asyncio.run(
                _measure(
                    target.base_url,
                    seconds=seconds,
                    writers=writers,
                    accounts=accounts,
                    probe_interval=probe_interval_ms / 1000,
                )
            )
            stats = httpx.get(f"{target.base_url}/stats", timeout=10).json()
        finally:
            target.stop()
    print(f"cqrs, {workers} API worker(s), {projectors} projector(s), {writers} writers, {elapsed:.1f} s")
    print(f"writes acknowledged: {writes:,} ({writes / elapsed:,.0f}/s)")
    if windows:
        print(
            f"visibility window over {len(windows):,} probes: p50 {statistics.median(windows) * 1000:.1f} ms, "
            f"p95 {_percentile(windows, 0.95) * 1000:.1f} ms, p99 {_percentile(windows, 0.99) * 1000:.1f} ms, "
            f"max {max(windows) * 1000:.1f} ms; {stale} read stale"
        )
    print(f"write side: {stats['write_side']}; logs in {log_dir}")


if __name__ == "__main__":
    main()
