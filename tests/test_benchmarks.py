"""`bench benchmark NAME`, each benchmark run briefly for real: their results hold what they promise."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import msgspec
import pytest
from click.testing import Result

from bench.benchmarks.endpoints import EndpointResults
from bench.benchmarks.harness_overhead import Overhead
from bench.benchmarks.projection_lag import ProjectionLag
from bench.benchmarks.seed_events import ACCOUNT_EVENTS, ORDER_EVENTS, Seeded
from bench.infra.ports import free_tcp_port
from bench.infra.stack import Infrastructure
from scenarios.catalog import ENDPOINTS
from targets.cqrs import events
from tests.cli_support import BenchCli
from tests.cqrs_support import forget_database, new_database


def benchmark(bench: BenchCli, *args: str) -> Result:
    result = bench("benchmark", *args)
    assert result.exit_code == 0, result.stderr[-3000:]
    return result


def servers(infra: Infrastructure) -> list[str]:
    """The session's servers; the Redis URL without its db index, so that the benchmark claims an empty db
    (the session's own db holds other tests' keys)."""
    assert infra.postgres is not None
    assert infra.redis_url is not None
    server = urlsplit(infra.redis_url)._replace(path="", query="").geturl()
    return ["--pg-dsn", infra.postgres.admin_dsn, "--redis-url", server]


@pytest.mark.timeout(90)
def test_endpoints_gives_a_rate_and_latency_per_endpoint(
    bench: BenchCli, infra: Infrastructure, tmp_path: Path
) -> None:
    out = tmp_path / "results.json"
    small = ["--users", "4", "--seconds", "2", "--accounts", "20", "--deposits", "2"]
    result = benchmark(bench, "endpoints", "--target", "crud", *small, *servers(infra), "--json", str(out))
    found = msgspec.json.decode(out.read_bytes(), type=EndpointResults)
    assert [r.endpoint for r in found.endpoints] == list(ENDPOINTS)
    for r in found.endpoints:
        assert r.requests > 0
        assert r.failures == 0, f"{r.endpoint}: every seeded account exists"
        assert r.requests_per_second > 0
        assert r.latency.count == r.requests, "every request recorded in the histogram, none twice"
        assert 0 < r.latency.p50_ms <= r.latency.p99_ms <= r.latency.max_ms
        assert r.target_cpu.samples > 0
        assert r.generator_cpu.samples > 0
        assert r.endpoint in result.stdout


@pytest.mark.timeout(120)
def test_harness_overhead_gives_a_ratio_with_an_interval(bench: BenchCli, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    small = ["--users", "4", "--duration", "2", "--warmup", "1", "--rounds", "2"]
    result = benchmark(bench, "harness_overhead", *small, "--json", str(out))
    found = msgspec.json.decode(out.read_bytes(), type=Overhead)
    assert [round_.order for round_ in found.rounds] == [["plain", "bench"], ["bench", "plain"]]
    for round_ in found.rounds:
        assert round_.plain_rps > 0
        assert round_.bench_rps > 0
        assert round_.ratio == pytest.approx(round_.bench_rps / round_.plain_rps)
    assert found.ratio_low is not None
    assert found.ratio_high is not None
    assert found.ratio_low <= found.median_ratio <= found.ratio_high
    assert "median bench / plain" in result.stdout
    assert "95% CI" in result.stdout


@pytest.mark.timeout(90)
def test_projection_lag_gives_the_visibility_window_under_writes(
    bench: BenchCli, infra: Infrastructure, tmp_path: Path
) -> None:
    out = tmp_path / "results.json"
    small = ["--seconds", "2", "--writers", "4", "--accounts", "10", "--probe-interval-ms", "10"]
    result = benchmark(bench, "projection_lag", *small, *servers(infra), "--json", str(out))
    found = msgspec.json.decode(out.read_bytes(), type=ProjectionLag)
    assert found.writes > 0
    assert found.writes_per_second == pytest.approx(found.writes / found.seconds)
    window = found.window
    assert window.count > 0
    assert 0 < window.p50_ms <= window.p95_ms <= window.p99_ms <= window.max_ms
    assert 0 <= found.stale <= window.count
    assert found.client_cpu.samples > 0
    assert found.write_side is not None, "the target's /stats reported its write side"
    assert f"visibility window over {window.count:,} probes" in result.stdout


@pytest.fixture
def database(infra: Infrastructure) -> Iterator[str]:
    dsn = new_database(infra)
    yield dsn
    forget_database(infra, dsn)


async def stored(dsn: str) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT stream_id, version, type, data::text FROM events ORDER BY stream_id, version"
        )
        streams = await connection.fetch("SELECT stream_id, type, version, balance FROM streams")
    finally:
        await connection.close()
    return rows, streams


@pytest.mark.timeout(60)
def test_seed_events_fills_valid_streams_and_times_their_rebuild(
    bench: BenchCli, infra: Infrastructure, database: str, tmp_path: Path
) -> None:
    assert infra.redis_url is not None
    out = tmp_path / "results.json"
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    args = ["--pg-dsn", database, "--redis-url", infra.redis_url, "--namespace", namespace, "--events", "130"]
    result = benchmark(bench, "seed_events", *args, "--rebuild", "--batch-size", "7", "--json", str(out))
    found = msgspec.json.decode(out.read_bytes(), type=Seeded)
    assert found.events == found.accounts * ACCOUNT_EVENTS + found.orders * ORDER_EVENTS
    assert found.accounts > 0
    assert found.orders > 0
    rows, streams = asyncio.run(stored(database))
    assert len(rows) == found.events
    last: dict[object, events.Event] = {}
    for row in rows:
        last[row["stream_id"]] = events.decode_data(row["type"], row["data"].encode())  # every event is a valid one
    assert len(streams) == found.accounts + found.orders
    for stream in streams:
        final = last[stream["stream_id"]]
        if stream["type"] == "account":
            assert stream["version"] == ACCOUNT_EVENTS
            assert isinstance(final, events.DepositMade | events.WithdrawalMade)
            assert stream["balance"] == final.balance_after
        else:
            assert stream["version"] == ORDER_EVENTS
            assert isinstance(final, events.OrderShipped | events.OrderCancelled)
    assert found.rebuild is not None
    assert found.rebuild.events == found.events
    assert found.rebuild.events_per_second > 0
    assert f"seeded {found.events:,} events" in result.stdout
    assert "events/s (batch size 7)" in result.stdout


NO_SERVERS: dict[str, str | None] = {"BENCH_PG_DSN": None, "BENCH_REDIS_URL": None}


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["seed_events", "--pg-dsn", "postgresql://nowhere/db", "--rebuild"], "expected --redis-url URL"),
        (["seed_events"], "Missing option '--pg-dsn'"),
        (["endpoints"], "Missing option '--target'"),
        (["endpoints", "--target", "crud", "--endpoint", "delete"], "'delete' is not one of"),
        (["harness_overhead", "--rounds", "0"], "0 is not in the range 1<=x<=100"),
        (["endpoint"], "No such command 'endpoint'"),
    ],
)
def test_bad_arguments_exit_2_with_a_sentence(bench: BenchCli, args: list[str], expected: str) -> None:
    result = bench("benchmark", *args, env=NO_SERVERS)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr


@pytest.mark.timeout(30)
def test_a_benchmark_that_cannot_measure_exits_1_with_its_message(bench: BenchCli) -> None:
    nowhere = f"postgresql://bench@127.0.0.1:{free_tcp_port()}/none"  # nothing listens there
    result = bench("benchmark", "seed_events", "--pg-dsn", nowhere, "--events", "13", env=NO_SERVERS)
    assert result.exit_code == 1, result.output
    assert "seeding failed: " in result.stderr
