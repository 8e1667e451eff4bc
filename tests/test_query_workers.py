"""The cqrs query side in processes of its own (`--query-workers`): it serves the reads, nothing else, and
what it reads is what the command side wrote; a run sends every read there and measures it apart."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from bench.infra.stack import Infrastructure
from bench.infra.target_process import RunningTarget, start_target
from bench.report.metrics import cpu_id, run_metrics
from bench.report.rundata import RunData
from bench.rundir.columns import Component
from bench.rundir.read import read_manifest
from targets.common import endpoints
from targets.cqrs.settings import READ_STORES
from targets.cqrs.stats import CqrsStats
from targets.registry import get_target
from tests.cli_support import BenchCli
from tests.cqrs_support import forget_database, new_database, store_settings

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module", params=READ_STORES)
def target(
    request: pytest.FixtureRequest, infra: Infrastructure, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningTarget]:
    dsn = new_database(infra)
    settings = store_settings(dsn, infra.redis_url, f"test-{uuid.uuid4().hex[:12]}", request.param)
    running = start_target(
        get_target("cqrs"), settings_env=settings, log_dir=tmp_path_factory.mktemp("cqrs"), query_workers=2
    )
    try:
        yield running
    finally:
        running.stop()
        forget_database(infra, dsn)


def test_the_query_side_reads_what_the_command_side_wrote(target: RunningTarget) -> None:
    assert target.query_workers is not None
    assert target.query_url != target.base_url
    with (
        httpx.Client(base_url=target.base_url, timeout=30) as commands,
        httpx.Client(base_url=target.query_url, timeout=30) as queries,
    ):
        opened = commands.post("/accounts", json={"owner": "reader", "initial_deposit": 500}).json()
        account = opened["id"]
        for amount in (100, 200, 300):
            written = commands.post(f"/accounts/{account}/deposits", json={"amount": amount}).json()
            # read-your-writes across processes: the query side waits for the version the write returned
            seen = queries.get(f"/accounts/{account}", params={"min_version": written["version"]})
            assert seen.status_code == 200, seen.text
            assert (seen.json()["version"], seen.json()["balance"]) == (written["version"], written["balance"])
        statement = queries.get(f"/accounts/{account}/statement", params={"min_version": 4}).json()
        assert [entry["amount"] for entry in statement["transactions"]][:3] == [300, 200, 100]


def test_the_query_side_takes_no_command_and_documents_only_reads(target: RunningTarget) -> None:
    with httpx.Client(base_url=target.query_url, timeout=30) as queries:
        refused = queries.post("/accounts", json={"owner": "writer", "initial_deposit": 1})
        assert refused.status_code in (404, 405), refused.text
        assert set(refused.json()) == {"error", "detail"}
        deposit = queries.post(f"/accounts/{uuid.uuid4()}/deposits", json={"amount": 1})
        assert deposit.status_code == 404, deposit.text
        paths = queries.get("/openapi.json").json()["paths"]
        documented = {(method.upper(), path) for path, operations in paths.items() for method in operations}
        reads = {(e.method, e.path) for e in endpoints.CONTRACT if endpoints.is_query(e)}
        assert documented - {("GET", "/health")} == reads
        stats = msgspec.json.decode(queries.get("/stats").content, type=CqrsStats)
        assert stats.write_side.notifies_sent == 0


SHORT_RUN = ["--rate", "150", "--warmup", "2s", "--duration", "6s", "--accounts", "100", "--entries", "5"]
SHORT_RUN += ["--customers", "20", "--orders", "100", "--mix", "read-heavy", "--scenario", "mixed"]


def test_a_run_sends_every_read_to_the_query_workers_and_samples_them_apart(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "bench", "run", "--target", "cqrs", "--query-workers", "1", *SHORT_RUN]
    done = subprocess.run([*argv, "--out", str(tmp_path)], capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = Path(done.stdout.strip().splitlines()[-1])
    manifest = read_manifest(run_dir)
    assert manifest.settings.query_workers == 1
    assert manifest.query_url is not None
    assert manifest.query_url != manifest.base_url
    data = RunData.load(run_dir)
    assert data.steady is not None
    reads = [name for name in data.steady.latency if name.startswith("GET ")]
    assert reads
    assert all(data.steady.latency[name].failures == 0 for name in reads)
    assert sum(data.steady.latency[name].count for name in reads) > 0
    # The API workers answered no read at all: their view cache was never asked.
    lines = (run_dir / "samples" / "target_stats.jsonl").read_bytes().splitlines()
    last = msgspec.json.decode(lines[-1])["stats"]
    assert last["read_side"]["view_cache_hits"] + last["read_side"]["view_cache_misses"] == 0, last
    found = run_metrics(data)
    query_cpu = found.values[cpu_id(Component.QUERY)]
    assert query_cpu is not None, found.missing.get(cpu_id(Component.QUERY))
    assert query_cpu > 0


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--scenario", "banking", "--target", "crud", "--query-workers", "1"], "expected 0 for crud"),
        (
            ["run", "--scenario", "banking", "--host", "http://127.0.0.1:9", "--query-workers", "2"],
            "expected 0 for an external --host",
        ),
        (["up", "--target", "floor", "--query-workers", "1"], "expected 0 for floor"),
        (
            ["run", "--scenario", "banking", "--target", "cqrs", "--query-workers", "-1"],
            "-1 is not in the range 0<=x<=64",
        ),
    ],
)
def test_query_workers_for_a_target_without_a_query_side_exit_2(
    bench: BenchCli, args: list[str], expected: str
) -> None:
    result = bench(*args)
    assert result.exit_code == 2, result.output
    assert expected in result.output
